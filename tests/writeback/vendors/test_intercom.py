"""Intercom write-back against the sandbox: the exact requests of the REST API 2.14."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sandbox.helpdesks import Call, HelpdeskSandbox
from bot.sandbox.helpdesks.intercom import ADMIN_ID, EMAIL, TOKEN
from bot.writeback.transport import Permanent, RateLimited, Response, wait_seconds
from bot.writeback.vendors.intercom import API_VERSION, _ok, note_html
from tests.writeback.conftest import client_for, job

AUTH = f"Bearer {TOKEN}"
NOTE_HTML = (
    "<p>Followed up by Ada Lovelace by email: resolved.<br>"
    'The customer said: "all good"<br>Followup ref fu-0a1b2c3d4e5f</p>'
)


def _header(call: Call, name: str) -> str | None:
    """A header as sent (HTTP header names are case-insensitive; urllib capitalises them)."""
    return {k.lower(): v for k, v in call.headers.items()}.get(name.lower())


def test_an_outcome_is_an_admin_note_and_the_conversation_stays_closed(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("intercom", "215468")
    done = client_for(helpdesk, "intercom").deliver(job("intercom", "215468"))
    [call] = helpdesk.calls("intercom")
    assert (call.method, call.path) == ("POST", "/conversations/215468/reply")
    assert _header(call, "Authorization") == AUTH
    assert _header(call, "Intercom-Version") == API_VERSION == "2.14"
    assert call.body == {
        "message_type": "note",
        "type": "admin",
        "admin_id": ADMIN_ID,
        "body": NOTE_HTML,
    }
    [note] = ticket.notes
    assert note.private and note.kind == "note" and note.author == ADMIN_ID
    assert ticket.history == ["closed"]
    assert done.result == f"internal note {note.id}"


def test_the_note_is_escaped_html_with_its_lines_and_paragraphs() -> None:
    assert note_html("a <b> & c\nnext line\n\nnew block\n") == (
        "<p>a &lt;b&gt; &amp; c<br>next line</p><p>new block</p>"
    )


def test_a_fix_that_did_not_hold_opens_the_conversation(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("intercom", "215469")
    done = client_for(helpdesk, "intercom").deliver(job("intercom", "215469", reopen=True))
    note, reopen = helpdesk.calls("intercom")
    assert note.body["message_type"] == "note"
    assert (reopen.method, reopen.path) == ("POST", "/conversations/215469/parts")
    assert _header(reopen, "Intercom-Version") == "2.14"
    assert reopen.body == {"message_type": "open", "admin_id": ADMIN_ID}
    assert ticket.history == ["closed", "open"]
    assert done.result.endswith("; state open")


def test_a_snoozed_conversation_is_opened_and_an_open_one_left_alone(
    helpdesk: HelpdeskSandbox,
) -> None:
    snoozed = helpdesk.add_ticket("intercom", "215470", status="snoozed")
    opened = helpdesk.add_ticket("intercom", "215471", status="open")
    client = client_for(helpdesk, "intercom")
    client.deliver(job("intercom", "215470", reopen=True))
    done = client.deliver(job("intercom", "215471", reopen=True))
    assert snoozed.history == ["snoozed", "open"]
    assert opened.history == ["open"] and len(opened.notes) == 1
    assert done.result.endswith("; already open")
    assert [c.path for c in helpdesk.calls("intercom")][-1] == "/conversations/215471/reply"


def test_a_retry_finds_its_note_and_does_not_add_it_twice(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("intercom", "215472")
    client = client_for(helpdesk, "intercom")
    # The first attempt's note landed, then its process died before the open.
    client.deliver(job("intercom", "215472"))
    done = client.deliver(job("intercom", "215472", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    calls = [(c.method, c.path) for c in helpdesk.calls("intercom")]
    assert calls[1:] == [("GET", "/conversations/215472"), ("POST", "/conversations/215472/parts")]
    assert ticket.history == ["closed", "open"]
    # Once more: the note is there and the conversation open, so nothing is sent.
    again = client.deliver(job("intercom", "215472", reopen=True, retried=True))
    assert [c.method for c in helpdesk.calls("intercom")][3:] == ["GET"]
    assert done.result == "note already on the conversation; state open"
    assert again.result == "note already on the conversation; already open"


def test_wrong_credentials_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("intercom", "215473")
    with pytest.raises(Permanent, match="HTTP 401 unauthorized"):
        client_for(helpdesk, "intercom", TOKEN="wrong").deliver(job("intercom", "215473"))
    with pytest.raises(Permanent, match="HTTP 404 admin_not_found"):
        client_for(helpdesk, "intercom", ADMIN_ID="12345").deliver(job("intercom", "215473"))
    helpdesk.fail("intercom", 429, retry_after="37")
    with pytest.raises(RateLimited, match="rate_limit_exceeded") as limited:
        client_for(helpdesk, "intercom").deliver(job("intercom", "215473"))
    assert limited.value.retry_after == "37"
    assert helpdesk.ticket("intercom", "215473").notes == []


def test_a_429_without_retry_after_waits_for_the_rate_limit_reset() -> None:
    reset = int(datetime(2026, 3, 2, 12, 0, 10, tzinfo=UTC).timestamp())
    answer = Response(
        429,
        {
            "X-RateLimit-Limit": "1667",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
        b'{"type":"error.list","errors":[{"code":"rate_limit_exceeded"}]}',
    )
    with pytest.raises(RateLimited) as limited:
        _ok(answer, "add note")
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    assert wait_seconds(limited.value.retry_after, now) == 10.0


def test_a_missing_conversation_or_a_foreign_id_fails_for_good(
    helpdesk: HelpdeskSandbox,
) -> None:
    with pytest.raises(Permanent, match="HTTP 404 not_found"):
        client_for(helpdesk, "intercom").deliver(job("intercom", "215474", reopen=True))
    with pytest.raises(Permanent, match="not an Intercom conversation id"):
        client_for(helpdesk, "intercom").deliver(job("intercom", "abc-1"))
    with pytest.raises(Permanent, match="ADMIN_ID"):
        client_for(helpdesk, "intercom", ADMIN_ID="ada").deliver(job("intercom", "215474"))
    assert [c.status for c in helpdesk.calls("intercom")] == [404]


def test_the_sandbox_refuses_what_intercom_refuses(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("intercom", "215475", status="open")
    http = client_for(helpdesk, "intercom").http
    url = helpdesk.url("intercom") + "/conversations/215475"
    headers = {"Authorization": AUTH, "Intercom-Version": "2.14"}
    no_body = {"message_type": "note", "type": "admin", "admin_id": ADMIN_ID}
    assert http.request("POST", f"{url}/reply", headers=headers, json_body=no_body).status == 400
    unpinned = {"Authorization": AUTH, "Intercom-Version": "9.9"}
    assert http.request("GET", url, headers=unpinned).status == 400
    opened = http.request(
        "POST", f"{url}/parts", headers=headers, json_body={"message_type": "open"}
    )
    assert opened.status == 400  # admin_id is required
    assert helpdesk.ticket("intercom", "215475").notes == []


def test_check_names_the_token_admin_and_the_note_author(helpdesk: HelpdeskSandbox) -> None:
    found = client_for(helpdesk, "intercom").check()
    assert found == f"admin {EMAIL}; notes by admin {ADMIN_ID} {EMAIL}"
    assert TOKEN not in found
    with pytest.raises(Permanent, match="HTTP 404 admin_not_found"):
        client_for(helpdesk, "intercom", ADMIN_ID="12345").check()
    with pytest.raises(Permanent, match="HTTP 401 unauthorized"):
        client_for(helpdesk, "intercom", TOKEN="wrong").check()
