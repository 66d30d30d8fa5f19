"""HubSpot write-back against the sandbox: the exact requests of the CRM API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox, Note
from bot.sandbox.helpdesks.hubspot import PORTAL_ID, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.hubspot import note_html
from tests.writeback.conftest import client_for, job

AUTH = f"Bearer {TOKEN}"
MARKER = "fu-0a1b2c3d4e5f"


def test_an_outcome_is_a_note_on_the_ticket_and_the_ticket_stays_closed(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4711")
    done = client_for(helpdesk, "hubspot").deliver(job("hubspot", "4711"))
    get, create = helpdesk.calls("hubspot")
    assert (get.method, get.path) == ("GET", "/crm/v3/objects/tickets/4711")
    assert (create.method, create.path) == ("POST", "/crm/v3/objects/notes")
    assert create.headers["Authorization"] == AUTH
    assert create.headers["Content-Type"] == "application/json"
    [note] = ticket.notes
    stamp = create.body["properties"]["hs_timestamp"]
    assert create.body == {
        "properties": {"hs_timestamp": stamp, "hs_note_body": note.body},
        "associations": [
            {
                "to": {"id": "4711"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}],
            }
        ],
    }
    sent_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert stamp.endswith("Z") and abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert note.private and note.body.endswith(f"<br>Followup ref {MARKER}</p>")
    assert ticket.status == "4"
    assert done.result == f"note {note.id}"


def test_the_note_is_escaped_html_with_its_line_breaks_and_marker_intact() -> None:
    text = f'<b>Tom & "Jerry"</b>\nline two\n\nnew paragraph\nFollowup ref {MARKER}'
    assert note_html(text) == (
        "<p>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;<br>line two</p>"
        f"<p>new paragraph<br>Followup ref {MARKER}</p>"
    )


def test_a_fix_that_did_not_hold_moves_the_ticket_to_the_reopen_stage(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4712")
    done = client_for(helpdesk, "hubspot").deliver(job("hubspot", "4712", reopen=True))
    patch = helpdesk.calls("hubspot")[-1]
    assert (patch.method, patch.path) == ("PATCH", "/crm/v3/objects/tickets/4712")
    assert patch.headers["Authorization"] == AUTH
    assert patch.body == {"properties": {"hs_pipeline_stage": "3"}}
    assert ticket.history == ["4", "3"]
    assert ticket.notes[0].private
    assert done.result.endswith("; stage 3")


def test_a_retry_finds_its_note_and_the_reopen_is_not_repeated(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4713")
    client = client_for(helpdesk, "hubspot")
    client.deliver(job("hubspot", "4713", reopen=True))
    helpdesk.clear_calls()
    done = client.deliver(job("hubspot", "4713", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    calls = helpdesk.calls("hubspot")
    assert [(c.method, c.path) for c in calls] == [
        ("GET", "/crm/v3/objects/tickets/4713"),
        ("GET", "/crm/v4/objects/ticket/4713/associations/note"),
        ("POST", "/crm/v3/objects/notes/batch/read"),
    ]
    assert calls[2].body == {"properties": ["hs_note_body"], "inputs": [{"id": ticket.notes[0].id}]}
    assert ticket.history == ["4", "3"]
    assert done.result == "note already there; stage 3 (already)"


def test_a_retry_without_its_note_writes_it(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4714")
    client = client_for(helpdesk, "hubspot")
    client.deliver(job("hubspot", "4714", marker="fu-111111111111"))
    client.deliver(job("hubspot", "4714", retried=True))
    assert len(ticket.notes) == 2
    assert ticket.notes[0].body.endswith("fu-111111111111</p>")
    assert ticket.notes[1].body.endswith(f"{MARKER}</p>")


def test_a_stage_outside_the_tickets_pipeline_fails_for_good(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4715", status="1234914")
    ticket.extra["pipeline"] = "812723471"
    with pytest.raises(Permanent, match="WRITEBACK_HUBSPOT_REOPEN_STAGE") as failed:
        client_for(helpdesk, "hubspot").deliver(job("hubspot", "4715", reopen=True))
    assert "HTTP 400 VALIDATION_ERROR" in failed.value.reason
    assert "'812723471'" in failed.value.reason
    assert ticket.status == "1234914" and len(ticket.notes) == 1
    client_for(helpdesk, "hubspot", REOPEN_STAGE="1234912").deliver(
        job("hubspot", "4715", reopen=True, retried=True)
    )
    assert ticket.history == ["1234914", "1234912"] and len(ticket.notes) == 1


def test_a_deleted_ticket_gets_no_note(helpdesk: HelpdeskSandbox) -> None:
    with pytest.raises(Permanent, match="get ticket: HTTP 404 OBJECT_NOT_FOUND"):
        client_for(helpdesk, "hubspot").deliver(job("hubspot", "4716", reopen=True))
    assert helpdesk.calls("hubspot", "POST") == []


def test_ids_that_cannot_be_hubspot_tickets_are_refused_without_a_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    for bad in ("abc", "12/../3", "0", "-4", "4711?x", ""):
        with pytest.raises(Permanent, match="not a HubSpot ticket id"):
            client_for(helpdesk, "hubspot").deliver(job("hubspot", bad))
    assert helpdesk.calls("hubspot") == []


def test_a_long_history_is_read_back_in_pages_and_batches(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("hubspot", "4717")
    notes = helpdesk.state.setdefault("hubspot.notes", {})
    for i in range(1, 651):
        notes[str(i)] = f"<p>old note {i}</p>"
        ticket.notes.append(Note(str(i), f"<p>old note {i}</p>", private=True))
    client = client_for(helpdesk, "hubspot")
    client.deliver(job("hubspot", "4717", retried=True))
    calls = helpdesk.calls("hubspot")
    pages = [c for c in calls if "associations" in c.path]
    assert [c.query.get("after") for c in pages] == [None, "500"]
    reads = [c for c in calls if c.path.endswith("batch/read")]
    assert [len(c.body["inputs"]) for c in reads] == [100] * 6 + [50]
    assert reads[0].body["inputs"][0] == {"id": "650"}  # newest first
    assert len(ticket.notes) == 651


def test_wrong_token_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("hubspot", "4718")
    with pytest.raises(Permanent, match="HTTP 401 INVALID_AUTHENTICATION"):
        client_for(helpdesk, "hubspot", TOKEN="pat-na1-wrong").deliver(job("hubspot", "4718"))
    helpdesk.fail("hubspot", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "hubspot").deliver(job("hubspot", "4718"))
    assert limited.value.retry_after == "37"
    assert "TEN_SECONDLY_ROLLING" in limited.value.reason


def test_the_burst_limit_answers_429_without_retry_after(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("hubspot", "4719")
    client = client_for(helpdesk, "hubspot")
    with pytest.raises(RateLimited) as limited:
        for _ in range(60):
            client.deliver(job("hubspot", "4719", retried=True))
    assert limited.value.retry_after is None


def test_check_names_the_portal_and_needs_the_tickets_scope(helpdesk: HelpdeskSandbox) -> None:
    assert client_for(helpdesk, "hubspot").check() == f"portal {PORTAL_ID} (app.hubspot.com)"
    assert [c.path for c in helpdesk.calls("hubspot")] == [
        "/crm/v3/objects/tickets",
        "/account-info/v3/details",
    ]
    helpdesk.state["hubspot.scopes"] = {"oauth"}
    with pytest.raises(Permanent, match="list tickets: HTTP 403 MISSING_SCOPES"):
        client_for(helpdesk, "hubspot").check()
    helpdesk.state["hubspot.scopes"] = {"tickets"}
    assert "tickets scope" in client_for(helpdesk, "hubspot").check()
