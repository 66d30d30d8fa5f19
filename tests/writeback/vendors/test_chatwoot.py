"""Chatwoot write-back against the sandbox: the exact requests of the Application API."""

from __future__ import annotations

import pytest

from bot.sandbox.helpdesks import Call, HelpdeskSandbox
from bot.sandbox.helpdesks.chatwoot import ACCOUNT_ID, AGENT_TOKEN, EMAIL, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.chatwoot import markdown_text
from tests.writeback.conftest import client_for, job

BASE = f"/api/v1/accounts/{ACCOUNT_ID}/conversations"


def _header(call: Call, name: str) -> str | None:
    """A header as sent (HTTP header names are case-insensitive; urllib capitalises them)."""
    return {k.lower(): v for k, v in call.headers.items()}.get(name.lower())


def test_an_outcome_is_a_private_note_and_the_conversation_stays_resolved(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4711")
    done = client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4711"))
    [call] = helpdesk.calls("chatwoot")
    assert (call.method, call.path) == ("POST", f"{BASE}/4711/messages")
    assert _header(call, "api_access_token") == TOKEN
    assert _header(call, "Content-Type") == "application/json"
    assert call.body == {
        "content": 'Followed up by Ada Lovelace by email: resolved.\nThe customer said: "all good"'
        "\nFollowup ref fu-0a1b2c3d4e5f",
        "message_type": "outgoing",
        "private": True,
        "content_type": "text",
    }
    [note] = ticket.notes
    assert note.private and note.body.endswith("Followup ref fu-0a1b2c3d4e5f")
    assert ticket.history == ["resolved"]
    assert done.result == f"private note {note.id}"


def test_markdown_and_html_in_the_note_are_shown_as_typed(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4712")
    body = "<b>2 * 3</b> & [link](x)\n# not a heading\n- not a list\n1. not a list either"
    client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4712", body=body))
    assert ticket.notes[0].body == (
        "\\<b\\>2 \\* 3\\</b\\> \\& \\[link\\](x)\n\\# not a heading\n\\- not a list\n"
        "1\\. not a list either\nFollowup ref fu-0a1b2c3d4e5f"
    )
    assert markdown_text("line one\n\nline two") == "line one\n\nline two"


def test_a_fix_that_did_not_hold_reopens_with_toggle_status(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4713")
    done = client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4713", reopen=True))
    note, reopen = helpdesk.calls("chatwoot")
    assert note.body["private"] is True
    assert (reopen.method, reopen.path) == ("POST", f"{BASE}/4713/toggle_status")
    assert _header(reopen, "api_access_token") == TOKEN
    assert reopen.body == {"status": "open"}
    assert ticket.history == ["resolved", "open"]
    assert done.result.endswith("; status open")


def test_a_retry_finds_its_note_and_does_not_add_it_twice(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4714")
    client = client_for(helpdesk, "chatwoot")
    client.deliver(job("chatwoot", "4714", reopen=True))
    done = client.deliver(job("chatwoot", "4714", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    calls = [(c.method, c.path) for c in helpdesk.calls("chatwoot")]
    assert calls[2:] == [("GET", f"{BASE}/4714/messages"), ("POST", f"{BASE}/4714/toggle_status")]
    assert ticket.history == ["resolved", "open"]  # the second reopen changed nothing
    assert done.result == "note already on the conversation; status open"


def test_a_retry_without_its_note_adds_it(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4715")
    client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4715", retried=True))
    assert [c.method for c in helpdesk.calls("chatwoot")] == ["GET", "POST"]
    assert len(ticket.notes) == 1


def test_an_open_conversation_stays_open(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4716", status="open")
    client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4716", reopen=True))
    assert ticket.history == ["open"]


def test_wrong_credentials_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("chatwoot", "4717")
    with pytest.raises(Permanent, match="HTTP 401 Invalid Access Token"):
        client_for(helpdesk, "chatwoot", TOKEN="wrong").deliver(job("chatwoot", "4717"))
    with pytest.raises(Permanent, match="HTTP 401 You are not authorized"):
        client_for(helpdesk, "chatwoot", ACCOUNT_ID="8").deliver(job("chatwoot", "4717"))
    helpdesk.fail("chatwoot", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4717"))
    assert limited.value.retry_after == "37"
    assert helpdesk.ticket("chatwoot", "4717").notes == []


def test_a_missing_or_foreign_conversation_fails_for_good(helpdesk: HelpdeskSandbox) -> None:
    with pytest.raises(Permanent, match="HTTP 404 Resource could not be found"):
        client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4718", reopen=True))
    with pytest.raises(Permanent, match="not a Chatwoot conversation number"):
        client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "conv-12"))
    with pytest.raises(Permanent, match="ACCOUNT_ID"):
        client_for(helpdesk, "chatwoot", ACCOUNT_ID="acme").deliver(job("chatwoot", "4718"))
    assert [c.status for c in helpdesk.calls("chatwoot")] == [404]


def test_the_sandbox_refuses_what_chatwoot_refuses(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("chatwoot", "4719")
    http = client_for(helpdesk, "chatwoot").http
    url = helpdesk.url("chatwoot") + f"{BASE}/4719"
    assert http.request("POST", f"{url}/messages", json_body={"content": "x"}).status == 401
    headers = {"api_access_token": TOKEN}
    blank = http.request("POST", f"{url}/messages", headers=headers, json_body={"private": True})
    assert blank.status == 422
    bad = http.request(
        "POST", f"{url}/toggle_status", headers=headers, json_body={"status": "closed"}
    )
    assert bad.status == 422
    # No status toggles, as Chatwoot does: resolved becomes open.
    http.request("POST", f"{url}/toggle_status", headers=headers, json_body={})
    assert helpdesk.ticket("chatwoot", "4719").status == "open"


def test_an_agents_reopen_takes_the_conversation_so_check_wants_an_administrator(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("chatwoot", "4720")
    agent = client_for(helpdesk, "chatwoot", TOKEN=AGENT_TOKEN)
    agent.deliver(job("chatwoot", "4720", reopen=True))
    assert ticket.extra["assignee_id"] == 43  # Chatwoot assigns it to the agent who reopened
    with pytest.raises(Permanent, match="not administrator"):
        agent.check()
    other = helpdesk.add_ticket("chatwoot", "4721")
    client_for(helpdesk, "chatwoot").deliver(job("chatwoot", "4721", reopen=True))
    assert other.status == "open" and "assignee_id" not in other.extra


def test_check_names_the_administrator_and_never_the_token(helpdesk: HelpdeskSandbox) -> None:
    found = client_for(helpdesk, "chatwoot").check()
    assert found == f"administrator {EMAIL}"
    assert TOKEN not in found
    with pytest.raises(Permanent, match="not in Chatwoot account 8"):
        client_for(helpdesk, "chatwoot", ACCOUNT_ID="8").check()
    with pytest.raises(Permanent, match="HTTP 401"):
        client_for(helpdesk, "chatwoot", TOKEN="wrong").check()
