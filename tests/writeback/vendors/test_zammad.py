"""Zammad write-back against the sandbox: the exact requests of the REST API."""

from __future__ import annotations

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.helpdesks.zammad import AGENT_EMAIL, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from tests.writeback.conftest import client_for, job

AUTH = f"Token token={TOKEN}"


def _article(body: str) -> dict[str, object]:
    return {
        "body": body,
        "content_type": "text/plain",
        "type": "note",
        "internal": True,
        "sender": "Agent",
    }


def test_an_outcome_is_an_internal_note_and_the_ticket_stays_closed(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zammad", "4711")
    sent = job("zammad", "4711")
    done = client_for(helpdesk, "zammad").deliver(sent)
    show, update = helpdesk.calls("zammad")
    assert (show.method, show.path, show.query) == (
        "GET",
        "/api/v1/tickets/4711",
        {"expand": "true"},
    )
    assert (update.method, update.path) == ("PUT", "/api/v1/tickets/4711")
    assert update.headers["Authorization"] == AUTH == show.headers["Authorization"]
    assert update.headers["Content-Type"] == "application/json"
    assert update.body == {"article": _article(sent.body)}
    [note] = ticket.notes
    assert note.private and note.kind == "note" and note.body == sent.body
    assert note.body.endswith("fu-0a1b2c3d4e5f")
    assert ticket.history == ["closed"]
    assert done.result == "internal note"


def test_a_fix_that_did_not_hold_reopens_with_the_note_in_one_update(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zammad", "4712")
    sent = job("zammad", "4712", reopen=True)
    done = client_for(helpdesk, "zammad").deliver(sent)
    update = helpdesk.calls("zammad", "PUT")[0]
    assert update.body == {"state": "open", "article": _article(sent.body)}
    assert ticket.history == ["closed", "open"]
    assert done.result == "internal note; state open"


def test_a_retry_finds_its_note_and_only_reopens(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("zammad", "4713")
    client = client_for(helpdesk, "zammad")
    client.deliver(job("zammad", "4713"))  # the note landed; the reopen is still owed
    helpdesk.clear_calls()
    done = client.deliver(job("zammad", "4713", reopen=True, retried=True))
    assert [(c.method, c.path) for c in helpdesk.calls("zammad")] == [
        ("GET", "/api/v1/tickets/4713"),
        ("GET", "/api/v1/ticket_articles/by_ticket/4713"),
        ("PUT", "/api/v1/tickets/4713"),
    ]
    assert helpdesk.calls("zammad", "PUT")[0].body == {"state": "open"}
    assert len(ticket.notes) == 1 and ticket.history == ["closed", "open"]
    assert done.result == "note already on the ticket; state open"
    helpdesk.clear_calls()
    again = client.deliver(job("zammad", "4713", reopen=True, retried=True))
    assert [c.method for c in helpdesk.calls("zammad")] == ["GET", "GET"]  # nothing to write
    assert again.result == "note already on the ticket; already open"
    assert len(ticket.notes) == 1 and ticket.history == ["closed", "open"]


def test_a_closed_ticket_an_agent_may_not_change_is_refused_for_good(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zammad", "4714")
    ticket.extra["access"] = "read"
    with pytest.raises(Permanent, match="HTTP 422 the ticket is closed") as refused:
        client_for(helpdesk, "zammad").deliver(job("zammad", "4714", reopen=True))
    assert "Followed up" not in str(refused.value)
    assert ticket.notes == [] and ticket.history == ["closed"]


def test_a_merged_ticket_is_refused_before_anything_is_written(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zammad", "4715", status="merged")
    with pytest.raises(Permanent, match="merged"):
        client_for(helpdesk, "zammad").deliver(job("zammad", "4715", reopen=True))
    assert [c.method for c in helpdesk.calls("zammad")] == ["GET"]
    assert ticket.notes == []


def test_wrong_credentials_a_missing_ticket_and_a_foreign_id_are_permanent(
    helpdesk: HelpdeskSandbox,
) -> None:
    helpdesk.add_ticket("zammad", "4716")
    with pytest.raises(Permanent, match="HTTP 401 Can't find User for Token") as wrong:
        client_for(helpdesk, "zammad", TOKEN="wrong-token").deliver(job("zammad", "4716"))
    assert "wrong-token" not in str(wrong.value)
    with pytest.raises(Permanent, match="HTTP 404 Couldn't find Ticket"):
        client_for(helpdesk, "zammad").deliver(job("zammad", "999"))
    with pytest.raises(Permanent, match="not a Zammad ticket id"):
        client_for(helpdesk, "zammad").deliver(job("zammad", "#31004716"))


def test_429_carries_retry_after(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("zammad", "4717")
    helpdesk.fail("zammad", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "zammad").deliver(job("zammad", "4717"))
    assert limited.value.retry_after == "37"


def test_the_sandbox_refuses_what_zammad_refuses(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("zammad", "4718")
    http = client_for(helpdesk, "zammad").http
    url = f"{helpdesk.url('zammad')}/api/v1/tickets/4718"
    answer = http.request("PUT", url, json_body={"state": "open"})
    assert (answer.status, answer.json()["error"]) == (403, "Authentication required")
    headers = {"Authorization": AUTH}
    answer = http.request("PUT", url, headers=headers, json_body={"state": "reopened"})
    assert answer.status == 422
    assert answer.json()["error"] == "No lookup value found for 'state': \"reopened\""
    answer = http.request("PUT", url, headers=headers, json_body={"article": {"internal": True}})
    assert answer.status == 422 and "Need at least article" in answer.json()["error"]


def test_check_names_the_agent(helpdesk: HelpdeskSandbox) -> None:
    assert client_for(helpdesk, "zammad").check() == f"agent {AGENT_EMAIL}"
    [call] = helpdesk.calls("zammad")
    assert (call.method, call.path, call.query) == ("GET", "/api/v1/users/me", {"expand": "true"})
    assert call.headers["Authorization"] == AUTH
    with pytest.raises(Permanent, match="HTTP 401"):
        client_for(helpdesk, "zammad", TOKEN="wrong").check()
