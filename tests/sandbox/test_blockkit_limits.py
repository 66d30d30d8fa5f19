"""Every Block Kit and view limit Slack documents: a payload at the limit passes, one past it is
refused with Slack's message and pointer, pure and through the running sandbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox import SlackSandbox
from bot.sandbox.blockkit import (
    MESSAGE_TEXT_TRUNCATE_AT,
    check_message_blocks,
    check_view,
    truncation_warning,
)
from bot.sandbox.response_urls import receive_response
from bot.sandbox.workspace import ApiError, Workspace

# --- payload builders --------------------------------------------------------------------------


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Go"), "action_id": action_id, "value": "v", **extra}


def option(text: str = "One", value: str = "1", **extra: Any) -> dict[str, Any]:
    return {"text": plain(text), "value": value, **extra}


def options(count: int) -> list[dict[str, Any]]:
    return [option(f"Option {i}", str(i)) for i in range(count)]


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def select(**extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": options(2), **extra}


def confirm(**extra: str) -> dict[str, Any]:
    parts = {"title": "Sure?", "text": "Really.", "confirm": "Yes", "deny": "No", **extra}
    return {key: plain(value) for key, value in parts.items()}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", **extra}


def input_block(element: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "note",
        "label": plain("Note"),
        "element": element or text_input(),
        **extra,
    }


def modal(**extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "log_outcome",
        "title": plain("Log outcome"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [input_block()],
        **extra,
    }


def url(length: int) -> str:
    return "https://help.example/" + "x" * (length - len("https://help.example/"))


# --- one case per limit --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """A limit: the payload built at `n`, its largest allowed `n`, and Slack's answer past it."""

    name: str
    build: Callable[[int], dict[str, Any]]
    """A view, or `{"blocks": [...]}` for a message."""
    at: int
    problem: str
    step: int = 1
    """+1 for a maximum; -1 for a minimum (the refused payload is one under it)."""


def message(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"blocks": list(blocks)}


LIMITS = [
    # Messages.
    Limit(
        "message blocks",
        lambda n: message(*[{"type": "divider"}] * n),
        50,
        "no more than 50 items allowed [json-pointer:/blocks]",
    ),
    Limit(
        "block_id",
        lambda n: message(section(block_id="b" * n)),
        255,
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
    ),
    Limit(
        "section text",
        lambda n: message(section("x" * n)),
        3000,
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ),
    Limit(
        "section text minimum",
        lambda n: message(section("x" * n)),
        1,
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        step=-1,
    ),
    Limit(
        "section fields",
        lambda n: message({"type": "section", "fields": [mrkdwn("f")] * n}),
        10,
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
    ),
    Limit(
        "section field text",
        lambda n: message({"type": "section", "fields": [mrkdwn("f" * n)]}),
        2000,
        "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
    ),
    Limit(
        "header text",
        lambda n: message({"type": "header", "text": plain("h" * n)}),
        150,
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
    ),
    Limit(
        "context elements",
        lambda n: message({"type": "context", "elements": [mrkdwn("c")] * n}),
        10,
        "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
    ),
    Limit(
        "context element text",
        lambda n: message({"type": "context", "elements": [mrkdwn("c" * n)]}),
        3000,
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]",
    ),
    Limit(
        "actions elements",
        lambda n: message(actions(*[button(f"go{i}") for i in range(n)])),
        25,
        "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
    ),
    Limit(
        "action_id",
        lambda n: message(actions(button("a" * n))),
        255,
        "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
    ),
    Limit(
        "button text",
        lambda n: message(actions({**button(), "text": plain("b" * n)})),
        75,
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
    ),
    Limit(
        "button value",
        lambda n: message(section(accessory=button(value="v" * n))),
        2000,
        "must be less than 2001 characters [json-pointer:/blocks/0/accessory/value]",
    ),
    Limit(
        "button url",
        lambda n: message(actions(button(url=url(n)))),
        3000,
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
    ),
    Limit(
        "button accessibility_label",
        lambda n: message(actions(button(accessibility_label="a" * n))),
        75,
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/accessibility_label]",
    ),
    Limit(
        "confirm title",
        lambda n: message(actions(button(confirm=confirm(title="t" * n)))),
        100,
        "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]",
    ),
    Limit(
        "confirm text",
        lambda n: message(actions(button(confirm=confirm(text="t" * n)))),
        300,
        "must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]",
    ),
    Limit(
        "confirm button",
        lambda n: message(actions(button(confirm=confirm(confirm="y" * n)))),
        30,
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/confirm/text]",
    ),
    Limit(
        "deny button",
        lambda n: message(actions(button(confirm=confirm(deny="n" * n)))),
        30,
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/deny/text]",
    ),
    Limit(
        "static_select options",
        lambda n: message(actions(select(options=options(n)))),
        100,
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]",
    ),
    Limit(
        "static_select option_groups",
        lambda n: message(
            actions(
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "option_groups": [{"label": plain("G"), "options": options(1)}] * n,
                }
            )
        ),
        100,
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/option_groups]",
    ),
    Limit(
        "option group options",
        lambda n: message(
            actions(
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "option_groups": [{"label": plain("G"), "options": options(n)}],
                }
            )
        ),
        100,
        "no more than 100 items allowed"
        " [json-pointer:/blocks/0/elements/0/option_groups/0/options]",
    ),
    Limit(
        "option group label",
        lambda n: message(
            actions(
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "option_groups": [{"label": plain("g" * n), "options": options(1)}],
                }
            )
        ),
        75,
        "must be less than 76 characters"
        " [json-pointer:/blocks/0/elements/0/option_groups/0/label/text]",
    ),
    Limit(
        "option text",
        lambda n: message(actions(select(options=[option("o" * n)]))),
        75,
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
    ),
    Limit(
        "option value",
        lambda n: message(actions(select(options=[option(value="v" * n)]))),
        150,
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
    ),
    Limit(
        "option description",
        lambda n: message(actions(select(options=[option(description=plain("d" * n))]))),
        75,
        "must be less than 76 characters"
        " [json-pointer:/blocks/0/elements/0/options/0/description/text]",
    ),
    Limit(
        "select placeholder",
        lambda n: message(actions(select(placeholder=plain("p" * n)))),
        150,
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/placeholder/text]",
    ),
    Limit(
        "checkboxes options",
        lambda n: message(
            actions({"type": "checkboxes", "action_id": "asks", "options": options(n)})
        ),
        10,
        "no more than 10 items allowed [json-pointer:/blocks/0/elements/0/options]",
    ),
    Limit(
        "radio_buttons options",
        lambda n: message(
            actions({"type": "radio_buttons", "action_id": "result", "options": options(n)})
        ),
        10,
        "no more than 10 items allowed [json-pointer:/blocks/0/elements/0/options]",
    ),
    # Views.
    Limit(
        "modal blocks",
        lambda n: modal(blocks=[{"type": "divider"}] * n),
        100,
        "no more than 100 items allowed [json-pointer:/view/blocks]",
    ),
    Limit(
        "home blocks",
        lambda n: {"type": "home", "blocks": [{"type": "divider"}] * n},
        100,
        "no more than 100 items allowed [json-pointer:/view/blocks]",
    ),
    Limit(
        "modal title",
        lambda n: modal(title=plain("t" * n)),
        24,
        "must be less than 25 characters [json-pointer:/view/title/text]",
    ),
    Limit(
        "modal submit",
        lambda n: modal(submit=plain("s" * n)),
        24,
        "must be less than 25 characters [json-pointer:/view/submit/text]",
    ),
    Limit(
        "modal close",
        lambda n: modal(close=plain("c" * n)),
        24,
        "must be less than 25 characters [json-pointer:/view/close/text]",
    ),
    Limit(
        "private_metadata",
        lambda n: modal(private_metadata="m" * n),
        3000,
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ),
    Limit(
        "home private_metadata",
        lambda n: {"type": "home", "blocks": [section()], "private_metadata": "m" * n},
        3000,
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ),
    Limit(
        "callback_id",
        lambda n: modal(callback_id="c" * n),
        255,
        "must be less than 256 characters [json-pointer:/view/callback_id]",
    ),
    Limit(
        "external_id",
        lambda n: modal(external_id="e" * n),
        255,
        "must be less than 256 characters [json-pointer:/view/external_id]",
    ),
    Limit(
        "input label",
        lambda n: modal(blocks=[input_block(label=plain("l" * n))]),
        2000,
        "must be less than 2001 characters [json-pointer:/view/blocks/0/label/text]",
    ),
    Limit(
        "input hint",
        lambda n: modal(blocks=[input_block(hint=plain("h" * n))]),
        2000,
        "must be less than 2001 characters [json-pointer:/view/blocks/0/hint/text]",
    ),
    Limit(
        "input placeholder",
        lambda n: modal(blocks=[input_block(text_input(placeholder=plain("p" * n)))]),
        150,
        "must be less than 151 characters [json-pointer:/view/blocks/0/element/placeholder/text]",
    ),
    Limit(
        "plain_text_input max_length",
        lambda n: modal(blocks=[input_block(text_input(max_length=n))]),
        3000,
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
    ),
    Limit(
        "plain_text_input max_length minimum",
        lambda n: modal(blocks=[input_block(text_input(max_length=n))]),
        1,
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
        step=-1,
    ),
    Limit(
        "plain_text_input min_length",
        lambda n: modal(blocks=[input_block(text_input(min_length=n))]),
        3000,
        "must be between 0 and 3000 [json-pointer:/view/blocks/0/element/min_length]",
    ),
    Limit(
        "plain_text_input min_length minimum",
        lambda n: modal(blocks=[input_block(text_input(min_length=n))]),
        0,
        "must be between 0 and 3000 [json-pointer:/view/blocks/0/element/min_length]",
        step=-1,
    ),
]


def problems_of(payload: dict[str, Any]) -> list[str]:
    if "type" in payload:
        return check_view(payload)
    return check_message_blocks(payload["blocks"])


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.name for limit in LIMITS])
def test_at_the_limit_passes_and_past_it_is_refused(limit: Limit) -> None:
    assert problems_of(limit.build(limit.at)) == []
    assert problems_of(limit.build(limit.at + limit.step)) == [limit.problem]


# --- uniqueness and other documented rules ------------------------------------------------------


def test_block_ids_are_unique_within_a_message_and_a_view() -> None:
    assert check_message_blocks([section(block_id="a"), section(block_id="b")]) == []
    assert check_message_blocks([section(block_id="a"), section(block_id="a")]) == [
        "duplicate block_id: a [json-pointer:/blocks/1/block_id]"
    ]
    twice = modal(blocks=[input_block(), input_block()])
    assert check_view(twice) == ["duplicate block_id: note [json-pointer:/view/blocks/1/block_id]"]


def test_action_ids_are_unique_within_their_block_only() -> None:
    # Slack's element reference: "unique among all other action_ids in the containing block";
    # inputs in different blocks commonly share one (a view's state is keyed by block first).
    assert check_message_blocks([actions(button("a"), button("b"))]) == []
    assert check_message_blocks([actions(button("a"), button("a"))]) == [
        "duplicate action_id: a [json-pointer:/blocks/0/elements/1/action_id]"
    ]
    shared = modal(blocks=[input_block(), {**input_block(), "block_id": "other"}])
    assert check_view(shared) == []


def test_a_modal_with_an_input_needs_a_submit_button() -> None:
    view = modal()
    del view["submit"]
    assert check_view(view) == [
        "submit is required when an input block is within the blocks array"
        " [json-pointer:/view/submit]"
    ]
    assert check_view(modal(blocks=[section()], submit=None)) == []


def test_a_section_needs_text_or_fields_and_an_input_its_element_and_label() -> None:
    assert check_message_blocks([{"type": "section"}]) == [
        "must define either `text` or `fields` [json-pointer:/blocks/0]"
    ]
    assert check_view(modal(blocks=[{"type": "input", "label": plain("L")}])) == [
        "missing required field: element [json-pointer:/view/blocks/0]"
    ]
    assert check_view(modal(blocks=[{"type": "input", "element": text_input()}])) == [
        "missing required field: label [json-pointer:/view/blocks/0]"
    ]


def test_initial_choices_must_be_among_the_options() -> None:
    chosen = select(initial_option=option("Option 1", "1"))
    assert check_message_blocks([actions(chosen)]) == []
    stray = select(initial_option=option("Elsewhere", "9"))
    assert check_message_blocks([actions(stray)]) == [
        "initial_option must match one of the options"
        " [json-pointer:/blocks/0/elements/0/initial_option]"
    ]
    boxes = {
        "type": "checkboxes",
        "action_id": "asks",
        "options": options(3),
        "initial_options": [option("Option 2", "2"), option("Nope", "x")],
    }
    assert check_message_blocks([actions(boxes)]) == [
        "initial_options must match the options"
        " [json-pointer:/blocks/0/elements/0/initial_options/1]"
    ]


BAD_DATE = (
    "must be a date in the format YYYY-MM-DD [json-pointer:/blocks/0/elements/0/initial_date]"
)


@pytest.mark.parametrize(
    ("element", "problem"),
    [
        (
            {"type": "datepicker", "action_id": "d", "initial_date": "20/11/2026"},
            BAD_DATE,
        ),
        (
            {"type": "datepicker", "action_id": "d", "initial_date": "2026-02-30"},
            BAD_DATE,
        ),
        (
            {"type": "timepicker", "action_id": "t", "initial_time": "9:30"},
            "must be a time in the format HH:mm [json-pointer:/blocks/0/elements/0/initial_time]",
        ),
    ],
)
def test_pickers_take_their_documented_formats(element: dict[str, Any], problem: str) -> None:
    assert check_message_blocks([actions(element)]) == [problem]
    good = {**element, "initial_date": "2026-11-20"} if "initial_date" in element else None
    good = good or {**element, "initial_time": "09:30"}
    assert check_message_blocks([actions(good)]) == []


def test_message_text_over_forty_thousand_is_truncated_with_slacks_warning() -> None:
    assert truncation_warning("x" * MESSAGE_TEXT_TRUNCATE_AT) == {}
    assert truncation_warning(None) == {}
    warned = truncation_warning("x" * (MESSAGE_TEXT_TRUNCATE_AT + 1))
    assert warned["warning"] == "message_truncated"
    assert warned["response_metadata"]["warnings"] == ["message_truncated"]
    assert warned["response_metadata"]["messages"][0].startswith(
        "[WARN] Your message was truncated"
    )


# --- through the running sandbox ----------------------------------------------------------------

TOO_LONG = [section("x" * 3001)]
TOO_LONG_MESSAGES = ["[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]


def slack_error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as failure:
        call()
    return dict(failure.value.response.data)


def test_post_update_and_ephemeral_refuse_blocks_over_a_limit(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    post = slack_error(lambda: client.chat_postMessage(channel="C0TEAM", text="x", blocks=TOO_LONG))
    assert post["error"] == "invalid_blocks"
    assert post["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert post["response_metadata"]["messages"] == TOO_LONG_MESSAGES
    assert sandbox.messages("C0TEAM") == []

    posted = client.chat_postMessage(channel="C0TEAM", text="x", blocks=[section("x" * 3000)])
    update = slack_error(
        lambda: client.chat_update(channel="C0TEAM", ts=posted["ts"], text="y", blocks=TOO_LONG)
    )
    assert update["error"] == "invalid_blocks"
    assert sandbox.message("C0TEAM", posted["ts"])["text"] == "x"

    duplicate = [section(block_id="a"), section(block_id="a")]
    ephemeral = slack_error(
        lambda: client.chat_postEphemeral(
            channel="C0TEAM", user="U0AGENT1", text="x", blocks=duplicate
        )
    )
    assert ephemeral["error"] == "invalid_blocks"
    assert ephemeral["response_metadata"]["messages"] == [
        "[ERROR] duplicate block_id: a [json-pointer:/blocks/1/block_id]"
    ]
    assert sandbox.ephemeral("U0AGENT1") == []


def test_post_message_truncates_long_text_and_says_so(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    answer = client.chat_postMessage(channel="C0TEAM", text="x" * (MESSAGE_TEXT_TRUNCATE_AT + 5))
    assert answer["ok"] is True
    assert answer["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(sandbox.messages("C0TEAM")[0]["text"]) == MESSAGE_TEXT_TRUNCATE_AT
    exact = client.chat_postMessage(channel="C0TEAM", text="x" * MESSAGE_TEXT_TRUNCATE_AT)
    assert "warning" not in exact.data


def test_every_views_method_refuses_a_view_over_a_limit(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    too_long = modal(private_metadata="m" * 3001)
    expected = ["[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"]
    opened = slack_error(
        lambda: client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=too_long)
    )
    assert opened["error"] == "invalid_arguments"
    assert opened["response_metadata"]["messages"] == expected
    assert sandbox.views("U0AGENT1") == []

    view = client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal())["view"]
    updated = slack_error(lambda: client.views_update(view_id=view["id"], view=too_long))
    pushed = slack_error(
        lambda: client.views_push(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=too_long)
    )
    home = {"type": "home", "blocks": [section()] * 101}
    published = slack_error(lambda: client.views_publish(user_id="U0AGENT1", view=home))
    for answer in (updated, pushed, published):
        assert answer["error"] == "invalid_arguments"
    assert published["response_metadata"]["messages"][0] == (
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    )
    assert sandbox.view(view["id"])["private_metadata"] == ""
    assert sandbox.home_view("U0AGENT1") is None


def test_a_modal_asking_for_more_than_3000_characters_does_not_open(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    asks_4000 = modal(blocks=[input_block(text_input(multiline=True, max_length=4000))])
    answer = slack_error(
        lambda: client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=asks_4000)
    )
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]"
    ]


def test_an_update_answer_with_a_view_over_a_limit_leaves_the_modal_as_it_was(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    view = client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT1"), view=modal())["view"]
    bad = modal(title=plain("t" * 25))
    sandbox.apply_view_answer(view["id"], {"response_action": "update", "view": bad})
    sandbox.apply_view_answer(view["id"], {"response_action": "push", "view": bad})
    [still] = sandbox.views("U0AGENT1", open_only=True)
    assert still["title"]["text"] == "Log outcome"


def test_a_response_url_post_over_a_limit_is_refused_and_shows_nothing(
    sandbox: SlackSandbox,
) -> None:
    hook = WebhookClient(sandbox.new_response_url("U0AGENT1", "C0TEAM"))
    assert hook.send(text="fine", blocks=[section("x" * 3000)]).status_code == 200
    refused = hook.send(text="x", blocks=TOO_LONG, response_type="in_channel")
    assert refused.status_code != 200
    assert [e["text"] for e in sandbox.ephemeral("U0AGENT1")] == ["fine"]
    assert sandbox.messages("C0TEAM") == []


def test_receive_response_raises_slacks_invalid_blocks_before_changing_anything() -> None:
    ws = Workspace(team_id="T1", bot_user_id="U0BOT", base_url="http://sandbox.invalid")
    ws.add_user("U1")
    ws.add_channel("C1", "team", members=["U1"])
    url_id = ws.new_response_url("U1", "C1").rsplit("/", 1)[1]
    with pytest.raises(ApiError) as refused:
        receive_response(ws, url_id, {"blocks": TOO_LONG}, 0.0)
    assert refused.value.error == "invalid_blocks"
    with pytest.raises(ApiError) as malformed:
        receive_response(ws, url_id, {"blocks": "not a list"}, 0.0)
    assert malformed.value.error == "invalid_blocks_format"
    assert ws.responses == [] and ws.ephemerals == []
    long_text = "x" * (MESSAGE_TEXT_TRUNCATE_AT + 1)
    assert receive_response(ws, url_id, {"text": long_text}, 0.0)
    assert len(ws.ephemerals[0]["text"]) == MESSAGE_TEXT_TRUNCATE_AT


def test_a_response_url_post_over_a_limit_gets_slacks_400_invalid_blocks(
    sandbox: SlackSandbox,
) -> None:
    hook = WebhookClient(sandbox.new_response_url("U0AGENT1", "C0TEAM"))
    refused = hook.send(text="x", blocks=TOO_LONG)
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
