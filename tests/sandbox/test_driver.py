"""SlackDriver against a local receiver that checks signatures and parses bodies like Bolt."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk import WebClient

from bot.sandbox import SlackDriver, SlackSandbox
from tests.sandbox.receiver import SIGNING_SECRET, Receiver

OUTCOME_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "case", "text": {"type": "mrkdwn", "text": "Case 42"}},
    {
        "type": "actions",
        "block_id": "outcome",
        "elements": [
            {
                "type": "button",
                "action_id": "outcome_held",
                "text": {"type": "plain_text", "text": "It held"},
                "value": "fu-7",
                "style": "primary",
            },
            {
                "type": "static_select",
                "action_id": "snooze",
                "placeholder": {"type": "plain_text", "text": "Snooze"},
                "options": [
                    {"text": {"type": "plain_text", "text": "1 day"}, "value": "1d"},
                    {"text": {"type": "plain_text", "text": "1 week"}, "value": "1w"},
                ],
            },
        ],
    },
]

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "log_outcome",
    "private_metadata": "fu-7",
    "title": {"type": "plain_text", "text": "Log outcome"},
    "submit": {"type": "plain_text", "text": "Save"},
    "notify_on_close": True,
    "blocks": [
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note_input"},
        },
        {
            "type": "input",
            "block_id": "cause",
            "label": {"type": "plain_text", "text": "Root cause"},
            "element": {
                "type": "static_select",
                "action_id": "cause_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "Bug"}, "value": "bug"},
                    {"text": {"type": "plain_text", "text": "Training"}, "value": "training"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "due",
            "optional": True,
            "label": {"type": "plain_text", "text": "Check again"},
            "element": {"type": "datepicker", "action_id": "due_date"},
        },
    ],
}


@pytest.fixture
def driver(receiver: Receiver, sandbox: SlackSandbox) -> SlackDriver:
    return SlackDriver(receiver.url, SIGNING_SECRET, sandbox)


def open_modal(client: WebClient, sandbox: SlackSandbox, user_id: str) -> dict[str, Any]:
    return client.views_open(trigger_id=sandbox.new_trigger_id(user_id), view=MODAL)["view"]


def test_command_is_a_signed_slack_form(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    response = driver.command("U0AGENT1", "due")
    assert response.status == 200
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert [key for key, _ in parse_qsl(request.raw)] == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    body = request.body
    assert body["command"] == "/followup"
    assert body["text"] == "due"
    assert body["user_name"] == "ann"
    assert body["channel_id"] == sandbox.im_channel("U0AGENT1")
    assert body["channel_name"] == "directmessage"
    assert body["response_url"].startswith(sandbox.base_url + "/response/")
    # The trigger is a live sandbox trigger: the bot can open a modal with it.
    assert client.views_open(trigger_id=body["trigger_id"], view=MODAL)["ok"]


def test_command_in_a_channel_with_overrides(driver: SlackDriver, receiver: Receiver) -> None:
    driver.command("U0LEAD", "stats", channel_id="C0TEAM", command="/fu", text_extra="1")
    body = receiver.requests[0].body
    assert (body["channel_id"], body["channel_name"], body["command"]) == (
        "C0TEAM",
        "support-team",
        "/fu",
    )
    assert body["text_extra"] == "1"


def test_bad_signatures_are_refused_without_raising(
    driver: SlackDriver, receiver: Receiver
) -> None:
    stale = int(time.time()) - 10 * 60
    assert driver.command("U0AGENT1", timestamp=stale).status == 401
    assert driver.command("U0AGENT1", signature="v0=" + "0" * 64).status == 401
    assert driver.command("U0AGENT1", unsigned=True).status == 401
    assert receiver.rejected == 3
    assert receiver.requests == []


def test_retries_carry_slack_retry_headers(driver: SlackDriver, receiver: Receiver) -> None:
    driver.event({"type": "app_mention", "text": "hi"}, event_id="Ev1", retry_num=2)
    headers = receiver.requests[0].headers
    assert headers["x-slack-retry-num"] == "2"
    assert headers["x-slack-retry-reason"] == "http_timeout"
    assert receiver.requests[0].body["event_id"] == "Ev1"


def test_clicking_a_button_in_a_posted_message(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    metadata = {"event_type": "followup_sent", "event_payload": {"followup_id": 7}}
    posted = client.chat_postMessage(
        channel="U0AGENT1", text="Case 42", blocks=OUTCOME_BLOCKS, metadata=metadata
    )
    driver.block_action_from_message("U0AGENT1", posted["channel"], posted["ts"], "outcome_held")
    body = receiver.requests[0].body
    assert body["type"] == "block_actions"
    assert body["user"] == {
        "id": "U0AGENT1",
        "username": "ann",
        "name": "ann",
        "team_id": "T0SANDBOX",
    }
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert body["channel"]["id"] == posted["channel"]
    assert body["message"]["ts"] == posted["ts"]
    assert body["message"]["blocks"] == OUTCOME_BLOCKS
    assert "metadata" not in body["message"]
    assert body["state"]["values"]["outcome"]["snooze"] == {
        "type": "static_select",
        "selected_option": None,
    }
    [action] = body["actions"]
    assert action["action_id"] == "outcome_held"
    assert action["block_id"] == "outcome"
    assert action["value"] == "fu-7"
    assert action["type"] == "button"
    assert action["text"]["text"] == "It held"
    assert action["style"] == "primary"
    assert float(action["action_ts"]) > 0
    assert body["response_url"].startswith(sandbox.base_url + "/response/")
    assert body["trigger_id"]


def test_choosing_from_a_select_and_missing_elements(
    driver: SlackDriver, receiver: Receiver, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C0TEAM", text="Case 42", blocks=OUTCOME_BLOCKS)
    driver.block_action_from_message("U0AGENT1", "C0TEAM", posted["ts"], "snooze", "1w")
    [action] = receiver.requests[0].body["actions"]
    assert action["type"] == "static_select"
    assert action["selected_option"]["value"] == "1w"
    assert action["selected_option"]["text"]["text"] == "1 week"
    with pytest.raises(LookupError):
        driver.block_action_from_message("U0AGENT1", "C0TEAM", posted["ts"], "no_such_button")


def test_block_action_in_a_view(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    home = {"type": "home", "blocks": OUTCOME_BLOCKS}
    view = client.views_publish(user_id="U0AGENT1", view=home)["view"]
    driver.block_action("U0AGENT1", "outcome_held", container="view", view=view["id"])
    body = receiver.requests[0].body
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["view"]["type"] == "home"
    assert "response_url" not in body and "message" not in body
    assert body["actions"][0]["value"] == "fu-7"


def test_submitting_a_recorded_modal(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    view = open_modal(client, sandbox, "U0AGENT1")
    values = {"note_input": "Refund sent", "cause_select": "bug", "due_date": "2024-05-01"}
    assert driver.submit_view("U0AGENT1", view["id"], values).status == 200
    body = receiver.requests[0].body
    assert body["type"] == "view_submission"
    assert body["response_urls"] == []
    submitted = body["view"]
    assert submitted["id"] == view["id"]
    assert submitted["callback_id"] == "log_outcome"
    assert submitted["private_metadata"] == "fu-7"
    assert submitted["hash"] == view["hash"]
    assert submitted["state"]["values"] == {
        "note": {"note_input": {"type": "plain_text_input", "value": "Refund sent"}},
        "cause": {
            "cause_select": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Bug"}, "value": "bug"},
            }
        },
        "due": {"due_date": {"type": "datepicker", "selected_date": "2024-05-01"}},
    }
    assert sandbox.views("U0AGENT1", open_only=True) == []  # a plain ack closes the modal


def test_unfilled_inputs_are_null_and_errors_keep_the_modal_open(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    view = open_modal(client, sandbox, "U0AGENT1")
    receiver.answer_body = {"response_action": "errors", "errors": {"note": "Say what happened"}}
    response = driver.submit_view("U0AGENT1", view["id"], {"cause_select": "training"})
    assert response.json()["response_action"] == "errors"
    values = receiver.requests[0].body["view"]["state"]["values"]
    assert values["note"]["note_input"] == {"type": "plain_text_input", "value": None}
    assert values["due"]["due_date"] == {"type": "datepicker", "selected_date": None}
    assert [v["id"] for v in sandbox.views("U0AGENT1", open_only=True)] == [view["id"]]
    with pytest.raises(LookupError):
        driver.submit_view("U0AGENT1", view["id"], {"no_such_input": "x"})


def test_update_answer_replaces_the_modal(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    view = open_modal(client, sandbox, "U0AGENT1")
    thanks = {"type": "modal", "title": {"type": "plain_text", "text": "Thanks"}, "blocks": []}
    receiver.answer_body = {"response_action": "update", "view": thanks}
    driver.submit_view("U0AGENT1", view["id"], {"note_input": "x", "cause_select": "bug"})
    assert sandbox.view(view["id"])["title"]["text"] == "Thanks"


def test_view_closed(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox, client: WebClient
) -> None:
    view = open_modal(client, sandbox, "U0AGENT1")
    driver.view_closed("U0AGENT1", view["id"])
    body = receiver.requests[0].body
    assert (body["type"], body["is_cleared"], body["view"]["id"]) == (
        "view_closed",
        False,
        view["id"],
    )
    assert sandbox.views("U0AGENT1", open_only=True) == []


def test_event_envelope_shape(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox
) -> None:
    driver.app_home_opened("U0AGENT2")
    request = receiver.requests[0]
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert body["type"] == "event_callback"
    assert body["team_id"] == sandbox.team_id
    assert body["api_app_id"] == sandbox.app_id
    assert body["event_id"].startswith("Ev")
    assert isinstance(body["event_time"], int)
    assert body["authorizations"][0]["user_id"] == sandbox.bot_user_id
    assert body["authorizations"][0]["is_bot"] is True
    assert body["is_ext_shared_channel"] is False
    assert body["event"]["type"] == "app_home_opened"
    assert body["event"]["user"] == "U0AGENT2"
    assert body["event"]["tab"] == "home"
    assert "view" not in body["event"]  # nothing published yet


def test_app_home_opened_carries_the_published_view(
    driver: SlackDriver, receiver: Receiver, client: WebClient
) -> None:
    client.views_publish(user_id="U0AGENT1", view={"type": "home", "blocks": []})
    driver.app_home_opened("U0AGENT1")
    assert receiver.requests[0].body["event"]["view"]["type"] == "home"


def test_channel_messages_are_stored_and_delivered(
    driver: SlackDriver, receiver: Receiver, sandbox: SlackSandbox
) -> None:
    driver.channel_message("C0TEAM", "Ticket #42 closed", bot_id="B0HELPDESK")
    driver.channel_message("C0TEAM", "thanks!", user_id="U0AGENT1")
    from_bot, from_user = (request.body["event"] for request in receiver.requests)
    assert from_bot["subtype"] == "bot_message"
    assert from_bot["bot_id"] == "B0HELPDESK"
    assert "user" not in from_bot
    assert from_bot["channel"] == "C0TEAM"
    assert from_bot["channel_type"] == "channel"
    assert from_user["user"] == "U0AGENT1"
    assert "subtype" not in from_user
    assert from_user["event_ts"] == from_user["ts"]
    assert [m["text"] for m in sandbox.messages("C0TEAM")] == ["Ticket #42 closed", "thanks!"]


def test_url_verification_echoes_the_challenge(driver: SlackDriver) -> None:
    response = driver.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
