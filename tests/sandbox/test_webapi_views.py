"""Modals, App Home and trigger ids through a real WebClient."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox


def modal(title: str = "Log outcome", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "log_outcome",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            }
        ],
        **extra,
    }


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as failure:
        call()
    return dict(failure.value.response.data)


def test_open_records_the_modal_for_the_trigger_user(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    trigger = sandbox.new_trigger_id("U0AGENT1")
    view = client.views_open(trigger_id=trigger, view=modal(private_metadata="42"))["view"]
    assert view["id"].startswith("V")
    assert view["private_metadata"] == "42"
    assert view["callback_id"] == "log_outcome"
    assert view["state"] == {"values": {}}
    assert sandbox.view_user(view["id"]) == "U0AGENT1"
    assert [v["id"] for v in sandbox.views("U0AGENT1", open_only=True)] == [view["id"]]


def test_trigger_ids_are_single_use_and_checked(client: WebClient, sandbox: SlackSandbox) -> None:
    trigger = sandbox.new_trigger_id("U0AGENT1")
    client.views_open(trigger_id=trigger, view=modal())
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == (
        "exchanged_trigger_id"
    )
    assert error_of(lambda: client.views_open(trigger_id="1.2.nope", view=modal()))["error"] == (
        "invalid_trigger_id"
    )


def test_trigger_ids_expire_after_three_seconds() -> None:
    now = [100.0]
    with SlackSandbox(monotonic=lambda: now[0]) as sandbox:
        client = WebClient(base_url=sandbox.api_url, token=sandbox.bot_token)
        sandbox.add_user("U1")
        fresh, stale = sandbox.new_trigger_id("U1"), sandbox.new_trigger_id("U1")
        now[0] += 2.9
        assert client.views_open(trigger_id=fresh, view=modal())["ok"]
        now[0] += 0.2
        assert error_of(lambda: client.views_open(trigger_id=stale, view=modal()))["error"] == (
            "expired_trigger_id"
        )


def test_view_limits_answer_invalid_arguments(client: WebClient, sandbox: SlackSandbox) -> None:
    answer = error_of(
        lambda: client.views_open(
            trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal(title="t" * 25)
        )
    )
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    too_many = modal(blocks=[{"type": "divider"}] * 101)
    answer = error_of(
        lambda: client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=too_many)
    )
    assert (
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
        in (answer["response_metadata"]["messages"])
    )


def test_update_by_id_and_external_id_with_hash(client: WebClient, sandbox: SlackSandbox) -> None:
    opened = client.views_open(
        trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal(external_id="case-42")
    )["view"]
    loaded = modal("Loaded", external_id="case-42")
    updated = client.views_update(view_id=opened["id"], view=loaded, hash=opened["hash"])["view"]
    assert updated["id"] == opened["id"]
    assert updated["title"]["text"] == "Loaded"
    assert sandbox.view(opened["id"])["title"]["text"] == "Loaded"
    stale = error_of(
        lambda: client.views_update(view_id=opened["id"], view=modal(), hash=opened["hash"])
    )
    assert stale["error"] == "hash_conflict"
    by_external = client.views_update(external_id="case-42", view=modal("Again"))["view"]
    assert by_external["id"] == opened["id"]
    assert error_of(lambda: client.views_update(view_id="V0NOPE", view=modal()))["error"] == (
        "not_found"
    )


def test_push_stacks_at_most_three(client: WebClient, sandbox: SlackSandbox) -> None:
    root = client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal())["view"]
    second = client.views_push(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal("2"))[
        "view"
    ]
    assert second["root_view_id"] == root["id"]
    assert second["previous_view_id"] == root["id"]
    client.views_push(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal("3"))
    answer = error_of(
        lambda: client.views_push(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal("4"))
    )
    assert answer["error"] == "push_limit_reached"


def test_publish_keeps_one_home_view_per_user(client: WebClient, sandbox: SlackSandbox) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "1"}}],
    }
    first = client.views_publish(user_id="U0AGENT1", view=home)["view"]
    home["blocks"][0]["text"]["text"] = "2"
    second = client.views_publish(user_id="U0AGENT1", view=home)["view"]
    assert second["id"] == first["id"]
    shown = sandbox.home_view("U0AGENT1")
    assert shown is not None and shown["blocks"][0]["text"]["text"] == "2"
    assert sandbox.home_view("U0AGENT2") is None
    assert error_of(lambda: client.views_publish(user_id="U0AGENT1", view=modal()))["error"] == (
        "invalid_arguments"
    )
