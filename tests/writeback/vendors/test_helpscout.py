"""Help Scout write-back against the sandbox: the exact requests of the Mailbox API 2.0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.helpdesks import helpscout as sandbox
from bot.sandbox.helpdesks.helpscout import APP_ID, APP_SECRET, USER
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.helpscout import forget_tokens, note_html
from tests.writeback.conftest import client_for, job

NOTE_HTML = (
    "Followed up by Ada Lovelace by email: resolved.<br>"
    "The customer said: &quot;all good&quot;<br>"
    "Followup ref fu-0a1b2c3d4e5f"
)


@pytest.fixture(autouse=True)
def _no_cached_tokens() -> Iterator[None]:
    """Each test starts without a cached access token (the sandbox forgot its own)."""
    forget_tokens()
    yield
    forget_tokens()


def _issued(helpdesk: HelpdeskSandbox) -> list[str]:
    return list(helpdesk.state["helpscout"]["tokens"])


def test_an_outcome_is_a_note_and_the_conversation_stays_closed(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("helpscout", "2391938111")
    done = client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938111"))
    grant, note = helpdesk.calls("helpscout")
    assert (grant.method, grant.path) == ("POST", "/v2/oauth2/token")
    assert grant.body == {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
    }
    assert (note.method, note.path) == ("POST", "/v2/conversations/2391938111/notes")
    assert note.headers["Authorization"] == f"Bearer {_issued(helpdesk)[0]}"
    assert note.body == {"text": NOTE_HTML}
    assert ticket.notes[0].private and ticket.notes[0].kind == "note"
    assert ticket.notes[0].body.endswith("fu-0a1b2c3d4e5f")
    assert ticket.status == "closed"
    assert done.result == f"note {ticket.notes[0].id}"


def test_a_fix_that_did_not_hold_reopens_with_the_note_in_one_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("helpscout", "2391938112")
    done = client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938112", reopen=True))
    note = helpdesk.calls("helpscout", "POST")[-1]
    assert note.body == {"text": NOTE_HTML, "status": "active"}
    assert ticket.history == ["closed", "active"]
    assert done.result.endswith("; status active")


def test_a_retry_finds_its_note_and_only_reopens(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("helpscout", "2391938113")
    client = client_for(helpdesk, "helpscout")
    client.deliver(job("helpscout", "2391938113"))
    done = client.deliver(job("helpscout", "2391938113", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    calls = helpdesk.calls("helpscout")
    assert [(c.method, c.path) for c in calls[2:]] == [
        ("GET", "/v2/conversations/2391938113/threads"),
        ("PATCH", "/v2/conversations/2391938113"),
    ]
    assert calls[2].query == {"page": "1"}
    assert calls[-1].body == {"op": "replace", "path": "/status", "value": "active"}
    assert ticket.history == ["closed", "active"]
    assert done.result == "note already there; status active"
    # A retry without a reopen adds nothing and changes nothing.
    again = client.deliver(job("helpscout", "2391938113", retried=True))
    assert again.result == "note already on the conversation" and len(ticket.notes) == 1


def test_the_token_is_cached_and_fetched_again_once_after_a_401(
    helpdesk: HelpdeskSandbox,
) -> None:
    helpdesk.add_ticket("helpscout", "2391938114")
    client = client_for(helpdesk, "helpscout")
    client.deliver(job("helpscout", "2391938114"))
    client.deliver(job("helpscout", "2391938114", job_id=2, marker="fu-000000000002"))
    assert len(helpdesk.calls("helpscout", "POST")) == 3  # one token, two notes
    sandbox.expire_tokens(helpdesk)
    helpdesk.clear_calls()
    client.deliver(job("helpscout", "2391938114", job_id=3, marker="fu-000000000003"))
    assert [(c.path, c.status) for c in helpdesk.calls("helpscout")] == [
        ("/v2/conversations/2391938114/notes", 401),
        ("/v2/oauth2/token", 200),
        ("/v2/conversations/2391938114/notes", 201),
    ]


def test_wrong_credentials_are_permanent(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("helpscout", "2391938115")
    with pytest.raises(Permanent, match="HTTP 400 invalid_client") as refused:
        client_for(helpdesk, "helpscout", APP_SECRET="wrong").deliver(
            job("helpscout", "2391938115")
        )
    assert "wrong" not in refused.value.reason
    assert [c.path for c in helpdesk.calls("helpscout")] == ["/v2/oauth2/token"]


def test_429_waits_as_help_scout_says(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("helpscout", "2391938116")
    helpdesk.fail("helpscout", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938116"))
    assert limited.value.retry_after == "37"
    # Help Scout's own limit answers with X-RateLimit-Retry-After; writes count twice.
    sandbox.set_limit(helpdesk, 3)
    with pytest.raises(RateLimited) as own:
        client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938116"))
    assert own.value.retry_after is not None and int(own.value.retry_after) > 0
    assert helpdesk.calls("helpscout")[-1].status == 429


def test_a_locked_or_merged_conversation_is_refused_for_good(helpdesk: HelpdeskSandbox) -> None:
    sandbox.lock(helpdesk.add_ticket("helpscout", "2391938117"))
    with pytest.raises(Permanent, match="HTTP 412 the conversation is locked"):
        client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938117", reopen=True))
    sandbox.merge(helpdesk.add_ticket("helpscout", "2391938118"))
    with pytest.raises(Permanent, match="HTTP 404"):
        client_for(helpdesk, "helpscout").deliver(job("helpscout", "2391938118"))
    assert helpdesk.ticket("helpscout", "2391938117").notes == []


def test_a_ticket_id_that_is_not_a_conversation_id_is_refused_without_a_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    with pytest.raises(Permanent, match="not a Help Scout conversation id"):
        client_for(helpdesk, "helpscout").deliver(job("helpscout", "349; DROP"))
    assert helpdesk.calls("helpscout") == []


def test_the_note_is_escaped_html_with_its_line_breaks(helpdesk: HelpdeskSandbox) -> None:
    assert note_html("a <b>c</b> & d\r\nfu-0a1b2c3d4e5f") == (
        "a &lt;b&gt;c&lt;/b&gt; &amp; d<br>fu-0a1b2c3d4e5f"
    )
    assert note_html("ref fu-a&b", keep="fu-a&b") == "ref fu-a&b"
    ticket = helpdesk.add_ticket("helpscout", "2391938119")
    client_for(helpdesk, "helpscout").deliver(
        job("helpscout", "2391938119", body="<script>alert(1)</script>")
    )
    assert "<script>" not in ticket.notes[0].body
    assert ticket.notes[0].body.endswith("<br>Followup ref fu-0a1b2c3d4e5f")


def test_check_reads_the_resource_owner(helpdesk: HelpdeskSandbox) -> None:
    assert client_for(helpdesk, "helpscout").check() == f"user {USER['email']}"
    assert helpdesk.calls("helpscout")[-1].path == "/v2/users/me"
    with pytest.raises(Permanent, match="invalid_client"):
        client_for(helpdesk, "helpscout", APP_ID="other").check()
