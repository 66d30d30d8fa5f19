"""Freshdesk write-back against the sandbox: the exact requests of the API v2."""

from __future__ import annotations

import base64

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox, Note
from bot.sandbox.helpdesks.freshdesk import AGENT_EMAIL, API_KEY, CALLS_PER_MINUTE
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.freshdesk import note_html
from tests.writeback.conftest import client_for, job

AUTH = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()


def test_an_outcome_is_a_private_note_and_the_ticket_stays_resolved(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("freshdesk", "4711")
    sent = job("freshdesk", "4711")
    done = client_for(helpdesk, "freshdesk").deliver(sent)
    [call] = helpdesk.calls("freshdesk")
    assert (call.method, call.path) == ("POST", "/api/v2/tickets/4711/notes")
    assert call.headers["Authorization"] == AUTH
    assert call.headers["Content-Type"] == "application/json"
    assert call.body == {"body": note_html(sent.body), "private": True}
    [note] = ticket.notes
    assert note.private and note.body == note_html(sent.body)
    assert ticket.status == "resolved" and ticket.history == ["resolved"]
    assert done.result == f"private note {note.id}"


def test_the_note_is_escaped_html_with_its_line_breaks_and_marker_intact() -> None:
    html = note_html('Fix <b>held</b> & "good"\nline two\r\nFollowup ref fu-0a1b2c3d4e5f')
    assert html == (
        "<div>Fix &lt;b&gt;held&lt;/b&gt; &amp; &quot;good&quot;<br>line two<br>"
        "Followup ref fu-0a1b2c3d4e5f</div>"
    )


def test_a_fix_that_did_not_hold_adds_the_note_then_reopens(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("freshdesk", "4712", status="closed")
    done = client_for(helpdesk, "freshdesk").deliver(job("freshdesk", "4712", reopen=True))
    note, update = helpdesk.calls("freshdesk")
    assert (note.method, note.path) == ("POST", "/api/v2/tickets/4712/notes")
    assert (update.method, update.path, update.body) == (
        "PUT",
        "/api/v2/tickets/4712",
        {"status": 2},
    )
    assert update.headers["Authorization"] == AUTH
    assert ticket.history == ["closed", "open"]
    assert done.result.endswith("; status Open")


def test_a_retry_finds_its_note_and_only_reopens(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("freshdesk", "4713")
    client = client_for(helpdesk, "freshdesk")
    client.deliver(job("freshdesk", "4713"))  # the note landed; the reopen never went out
    done = client.deliver(job("freshdesk", "4713", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    calls = helpdesk.calls("freshdesk")
    assert [(c.method, c.path) for c in calls[1:]] == [
        ("GET", "/api/v2/tickets/4713/conversations"),
        ("PUT", "/api/v2/tickets/4713"),
    ]
    assert calls[1].query == {"page": "1", "per_page": "100"}
    assert ticket.history == ["resolved", "open"]
    assert done.result == "note already on the ticket; status Open"
    client.deliver(job("freshdesk", "4713", reopen=True, retried=True))  # idempotent
    assert ticket.history == ["resolved", "open"] and len(ticket.notes) == 1


def test_a_retry_reads_every_page_of_conversations(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("freshdesk", "4714")
    ticket.notes += [Note(str(n), f"<div>reply {n}</div>", private=False) for n in range(100)]
    client = client_for(helpdesk, "freshdesk")
    client.deliver(job("freshdesk", "4714", marker="fu-last00000000"))
    helpdesk.clear_calls()
    client.deliver(job("freshdesk", "4714", marker="fu-last00000000", retried=True))
    assert len(ticket.notes) == 101
    assert [c.query["page"] for c in helpdesk.calls("freshdesk")] == ["1", "2"]


def test_a_retry_without_its_note_adds_it(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("freshdesk", "4715")
    client_for(helpdesk, "freshdesk").deliver(job("freshdesk", "4715", retried=True))
    assert [c.method for c in helpdesk.calls("freshdesk")] == ["GET", "POST"]
    assert len(ticket.notes) == 1


def test_wrong_credentials_a_missing_ticket_and_a_foreign_id_are_permanent(
    helpdesk: HelpdeskSandbox,
) -> None:
    helpdesk.add_ticket("freshdesk", "4716")
    with pytest.raises(Permanent, match="HTTP 401 invalid_credentials") as wrong:
        client_for(helpdesk, "freshdesk", API_KEY="wrong").deliver(job("freshdesk", "4716"))
    assert "wrong" not in str(wrong.value) and "Followed up" not in str(wrong.value)
    with pytest.raises(Permanent, match="HTTP 404"):
        client_for(helpdesk, "freshdesk").deliver(job("freshdesk", "999"))
    with pytest.raises(Permanent, match="not a Freshdesk ticket number"):
        client_for(helpdesk, "freshdesk").deliver(job("freshdesk", "conv-12"))
    assert len(helpdesk.calls("freshdesk")) == 2  # the foreign id never went out


def test_429_carries_retry_after(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("freshdesk", "4717")
    helpdesk.fail("freshdesk", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "freshdesk").deliver(job("freshdesk", "4717"))
    assert limited.value.retry_after == "37"


def test_the_sandbox_limits_calls_per_minute_like_freshdesk(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("freshdesk", "4718")
    client = client_for(helpdesk, "freshdesk")
    for _ in range(CALLS_PER_MINUTE):
        client.check()
    with pytest.raises(RateLimited) as limited:
        client.deliver(job("freshdesk", "4718"))
    assert limited.value.retry_after is not None and int(limited.value.retry_after) > 0


def test_the_sandbox_refuses_a_note_freshdesk_would_refuse(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("freshdesk", "4719")
    http = client_for(helpdesk, "freshdesk").http
    url = f"{helpdesk.url('freshdesk')}/api/v2/tickets/4719"
    headers = {"Authorization": AUTH}
    answer = http.request("POST", f"{url}/notes", headers=headers, json_body={"private": "yes"})
    assert answer.status == 400
    assert {(e["field"], e["code"]) for e in answer.json()["errors"]} == {
        ("body", "missing_field"),
        ("private", "datatype_mismatch"),
    }
    answer = http.request("PUT", url, headers=headers, json_body={"status": "open"})
    assert answer.status == 400 and answer.json()["errors"][0]["code"] == "invalid_value"


def test_check_names_the_agent(helpdesk: HelpdeskSandbox) -> None:
    assert (
        client_for(helpdesk, "freshdesk").check() == f"agent {AGENT_EMAIL} (global ticket access)"
    )
    [call] = helpdesk.calls("freshdesk")
    assert (call.method, call.path, call.headers["Authorization"]) == (
        "GET",
        "/api/v2/agents/me",
        AUTH,
    )
    with pytest.raises(Permanent, match="HTTP 401"):
        client_for(helpdesk, "freshdesk", API_KEY="wrong").check()
