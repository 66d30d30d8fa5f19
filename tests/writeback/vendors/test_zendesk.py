"""Zendesk write-back against the sandbox: the exact requests of the Ticketing API."""

from __future__ import annotations

import base64

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.helpdesks.zendesk import EMAIL, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from tests.writeback.conftest import client_for, job

AUTH = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()


def test_an_outcome_is_an_internal_comment_and_the_ticket_stays_solved(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zendesk", "4711")
    done = client_for(helpdesk, "zendesk").deliver(job("zendesk", "4711"))
    [call] = helpdesk.calls("zendesk")
    assert (call.method, call.path) == ("PUT", "/api/v2/tickets/4711")
    assert call.headers["Authorization"] == AUTH
    assert call.body == {
        "ticket": {
            "comment": {
                "html_body": "<div>Followed up by Ada Lovelace by email: resolved.<br>"
                "The customer said: &quot;all good&quot;<br>Followup ref fu-0a1b2c3d4e5f</div>",
                "public": False,
            }
        }
    }
    assert ticket.notes[0].private and ticket.notes[0].body.endswith("fu-0a1b2c3d4e5f")
    assert ticket.status == "solved"
    assert done.result == "internal note"


def test_a_fix_that_did_not_hold_reopens_with_the_note_in_one_update(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("zendesk", "4712")
    client_for(helpdesk, "zendesk").deliver(job("zendesk", "4712", reopen=True))
    [call] = helpdesk.calls("zendesk")
    assert call.body["ticket"]["status"] == "open"
    assert call.body["ticket"]["comment"]["public"] is False
    assert ticket.history == ["solved", "open"]


def test_a_retry_finds_its_note_and_sends_nothing_more(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("zendesk", "4713")
    client = client_for(helpdesk, "zendesk")
    client.deliver(job("zendesk", "4713", reopen=True))
    client.deliver(job("zendesk", "4713", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    # The note and its status went in one update: found, both landed; nothing is sent again
    # (a status now could reopen a ticket someone solved since).
    assert [c.method for c in helpdesk.calls("zendesk")] == ["PUT", "GET"]


def test_a_closed_ticket_gets_a_follow_up_ticket_carrying_the_note(
    helpdesk: HelpdeskSandbox,
) -> None:
    helpdesk.add_ticket("zendesk", "4714", status="closed")
    done = client_for(helpdesk, "zendesk").deliver(job("zendesk", "4714", reopen=True))
    create = helpdesk.calls("zendesk", "POST")[0]
    assert create.path == "/api/v2/tickets"
    assert create.body["ticket"]["via_followup_source_id"] == 4714
    [follow_up] = [t for t in helpdesk.tickets("zendesk") if t.followup_of == "4714"]
    assert follow_up.status == "open" and follow_up.notes[0].private
    assert f"follow-up ticket {follow_up.id}" in done.result


def test_a_note_alone_on_a_closed_ticket_is_refused_for_good(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("zendesk", "4715", status="closed")
    with pytest.raises(Permanent, match="closed"):
        client_for(helpdesk, "zendesk").deliver(job("zendesk", "4715"))


def test_wrong_credentials_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("zendesk", "4716")
    with pytest.raises(Permanent, match="HTTP 401"):
        client_for(helpdesk, "zendesk", TOKEN="wrong").deliver(job("zendesk", "4716"))
    helpdesk.fail("zendesk", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "zendesk").deliver(job("zendesk", "4716"))
    assert limited.value.retry_after == "37"
    assert client_for(helpdesk, "zendesk").check() == f"agent {EMAIL}"


def test_a_customers_markdown_or_html_is_shown_as_typed_never_as_a_link(
    helpdesk: HelpdeskSandbox,
) -> None:
    """Zendesk renders `body` as Markdown: the note goes as escaped `html_body` instead."""
    ticket = helpdesk.add_ticket("zendesk", "4717")
    words = 'Click [the refund form](https://evil.example) <img src=x onerror="alert(1)">'
    client_for(helpdesk, "zendesk").deliver(job("zendesk", "4717", body=words))
    sent = helpdesk.calls("zendesk")[0].body["ticket"]["comment"]
    assert "body" not in sent
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in sent["html_body"]
    assert "<img" not in sent["html_body"] and "<a " not in sent["html_body"]
    assert ticket.notes[0].body.startswith(words), "Zendesk's plain body shows it as typed"


def test_a_retried_follow_up_ticket_is_created_once(helpdesk: HelpdeskSandbox) -> None:
    """A timeout after Zendesk created the follow-up ticket: the retry finds it through the
    closed ticket's followup_ids; and the create itself carries the marker as its
    Idempotency-Key, so even a blind repeat returns the first ticket."""
    helpdesk.add_ticket("zendesk", "4718", status="closed")
    client = client_for(helpdesk, "zendesk")
    first = client.deliver(job("zendesk", "4718", reopen=True))
    again = client.deliver(job("zendesk", "4718", reopen=True, retried=True))
    follow_ups = [t for t in helpdesk.tickets("zendesk") if t.followup_of == "4718"]
    assert len(follow_ups) == 1 and "already opened" in again.result, (first, again)
    create = helpdesk.calls("zendesk", "POST")[0]
    assert create.headers["Idempotency-Key"] == "fu-0a1b2c3d4e5f"
    helpdesk.clear_calls()
    blind = client.deliver(job("zendesk", "4718", reopen=True))  # no read-back: the key holds
    assert len([t for t in helpdesk.tickets("zendesk") if t.followup_of == "4718"]) == 1
    assert blind.result == first.result


def test_a_ticket_id_that_is_not_a_zendesk_number_is_refused_without_a_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    for bad in ("12/../users", "²", "4711 "):
        with pytest.raises(Permanent, match="not a Zendesk ticket number"):
            client_for(helpdesk, "zendesk").deliver(job("zendesk", bad))
    assert helpdesk.calls("zendesk") == []


def test_a_note_for_a_closed_ticket_goes_to_its_follow_up_ticket(
    helpdesk: HelpdeskSandbox,
) -> None:
    """The lead's Handled after a reopen that opened a follow-up ticket: the closed ticket takes
    no notes, so the note goes to the follow-up ticket, the case's live continuation."""
    helpdesk.add_ticket("zendesk", "4719", status="closed")
    client = client_for(helpdesk, "zendesk")
    client.deliver(job("zendesk", "4719", reopen=True, marker="fu-000000000001"))
    done = client.deliver(job("zendesk", "4719", marker="fu-000000000002", body="Handled"))
    [follow_up] = [t for t in helpdesk.tickets("zendesk") if t.followup_of == "4719"]
    assert [n.body.split("\n")[0] for n in follow_up.notes][-1] == "Handled"
    assert f"follow-up ticket {follow_up.id}" in done.result
