"""Block Kit limit checks: pure, no sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.blockkit import (
    MESSAGE_TEXT_TRUNCATE_AT,
    check_message_blocks,
    check_view,
    slack_error_messages,
    truncate_message_text,
)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Log outcome"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [section("hi")],
    }
    view.update(overrides)
    return view


def test_valid_message_blocks_have_no_problems() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Case 42"}},
        section("x" * 3000),
        {"type": "actions", "elements": [button(action_id=f"go{i}") for i in range(25)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
    ]
    assert check_message_blocks(blocks) == []


def test_fifty_blocks_pass_and_fifty_one_fail() -> None:
    assert check_message_blocks([section("a")] * 50) == []
    assert check_message_blocks([section("a")] * 51) == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            section("x" * 3001),
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ),
        (
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            {"type": "actions", "elements": [button(action_id=f"go{i}") for i in range(26)]},
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            {"type": "actions", "elements": [button(text="b" * 76)]},
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            {"type": "actions", "elements": [button(action_id="a" * 256)]},
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            {**section("x"), "block_id": "b" * 256},
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            {**section("x"), "accessory": button(value="v" * 2001)},
            "must be less than 2001 characters [json-pointer:/blocks/0/accessory/value]",
        ),
    ],
)
def test_each_block_limit_is_reported_with_its_pointer(
    block: dict[str, Any], expected: str
) -> None:
    assert check_message_blocks([block]) == [expected]


def test_a_block_without_type_is_reported() -> None:
    assert check_message_blocks([{"text": "no type"}]) == [
        "missing required field: type [json-pointer:/blocks/0]"
    ]


def test_valid_modal_has_no_problems() -> None:
    assert check_view(modal(private_metadata="m" * 3000, callback_id="c" * 255)) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"title": {"type": "plain_text", "text": "t" * 25}},
            "must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        (
            {"submit": {"type": "plain_text", "text": "s" * 25}},
            "must be less than 25 characters [json-pointer:/view/submit/text]",
        ),
        (
            {"close": {"type": "plain_text", "text": "c" * 25}},
            "must be less than 25 characters [json-pointer:/view/close/text]",
        ),
        (
            {"private_metadata": "m" * 3001},
            "must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (
            {"callback_id": "c" * 256},
            "must be less than 256 characters [json-pointer:/view/callback_id]",
        ),
        (
            {"blocks": [section("a")] * 101},
            "no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
    ],
)
def test_each_view_limit_is_reported(overrides: dict[str, Any], expected: str) -> None:
    assert check_view(modal(**overrides)) == [expected]


def test_a_modal_needs_a_title_and_a_known_type() -> None:
    view = modal()
    del view["title"]
    assert check_view(view) == ["missing required field: title"]
    assert check_view({"type": "dialog", "blocks": []}) == [
        "must be one of modal, home [json-pointer:/view/type]"
    ]


def test_a_home_view_takes_a_hundred_blocks() -> None:
    assert check_view({"type": "home", "blocks": [section("a")] * 100}) == []


def test_long_text_is_truncated_not_rejected() -> None:
    text = "x" * (MESSAGE_TEXT_TRUNCATE_AT + 10)
    assert truncate_message_text(text) == "x" * MESSAGE_TEXT_TRUNCATE_AT
    assert truncate_message_text("short") == "short"


def test_slack_prefixes_error_messages() -> None:
    assert slack_error_messages(["a [json-pointer:/blocks]"]) == [
        "[ERROR] a [json-pointer:/blocks]"
    ]
