"""Front write-back against the sandbox: the exact requests of the Core API."""

from __future__ import annotations

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.helpdesks import front as sandbox
from bot.sandbox.helpdesks.front import COMPANY, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.front import comment_markdown
from tests.writeback.conftest import client_for, job

AUTH = f"Bearer {TOKEN}"
COMMENT = (
    "Followed up by Ada Lovelace by email: resolved.  \n"
    'The customer said: "all good"  \n'
    "Followup ref fu-0a1b2c3d4e5f"
)


def test_an_outcome_is_a_comment_and_the_conversation_stays_archived(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("front", "cnv_47a1")
    done = client_for(helpdesk, "front").deliver(job("front", "cnv_47a1"))
    [call] = helpdesk.calls("front")
    assert (call.method, call.path) == ("POST", "/conversations/cnv_47a1/comments")
    assert call.headers["Authorization"] == AUTH
    assert call.headers["Content-Type"] == "application/json"
    assert call.body == {"body": COMMENT}
    assert ticket.notes[0].private and ticket.notes[0].kind == "comment"
    assert ticket.notes[0].body.endswith("fu-0a1b2c3d4e5f")
    assert ticket.status == "archived"
    assert done.result == f"comment {ticket.notes[0].id}"


def test_a_fix_that_did_not_hold_reopens_after_the_comment(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("front", "cnv_47a2")
    done = client_for(helpdesk, "front").deliver(job("front", "cnv_47a2", reopen=True))
    comment, reopen = helpdesk.calls("front")
    assert comment.method == "POST"
    assert (reopen.method, reopen.path, reopen.body) == (
        "PATCH",
        "/conversations/cnv_47a2",
        {"status": "open"},
    )
    assert reopen.headers["Authorization"] == AUTH and reopen.status == 204
    assert ticket.history == ["archived", "unassigned"]
    assert done.result.endswith("; status open")
    assigned = helpdesk.add_ticket("front", "cnv_47a3")
    sandbox.assign(assigned)
    client_for(helpdesk, "front").deliver(job("front", "cnv_47a3", reopen=True))
    assert assigned.history == ["archived", "assigned"]


def test_a_retry_finds_its_comment_and_only_reopens(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("front", "cnv_47a4")
    client = client_for(helpdesk, "front")
    client.deliver(job("front", "cnv_47a4"))
    done = client.deliver(job("front", "cnv_47a4", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    assert [(c.method, c.path) for c in helpdesk.calls("front")] == [
        ("POST", "/conversations/cnv_47a4/comments"),
        ("GET", "/conversations/cnv_47a4/comments"),
        ("PATCH", "/conversations/cnv_47a4"),
    ]
    assert ticket.history == ["archived", "unassigned"]
    assert done.result == "comment already there; status open"
    # Reopening again is harmless: the status is set, not toggled.
    client.deliver(job("front", "cnv_47a4", reopen=True, retried=True))
    assert ticket.history == ["archived", "unassigned"] and len(ticket.notes) == 1


def test_wrong_credentials_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("front", "cnv_47a5")
    with pytest.raises(Permanent, match="HTTP 401 Unauthorized") as refused:
        client_for(helpdesk, "front", TOKEN="wrong-token").deliver(job("front", "cnv_47a5"))
    assert "wrong-token" not in refused.value.reason
    helpdesk.fail("front", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "front").deliver(job("front", "cnv_47a5"))
    assert limited.value.retry_after == "37"
    # Front's own per-company limit (Starter: 50 a minute) says how long in Retry-After.
    sandbox.set_limit(helpdesk, 1)
    client_for(helpdesk, "front").check()
    with pytest.raises(RateLimited) as own:
        client_for(helpdesk, "front").deliver(job("front", "cnv_47a5"))
    assert own.value.retry_after is not None and int(own.value.retry_after) > 0
    assert helpdesk.ticket("front", "cnv_47a5").notes == []


def test_a_merged_conversation_is_refused_naming_where_it_went(helpdesk: HelpdeskSandbox) -> None:
    old = helpdesk.add_ticket("front", "cnv_47a6")
    new = helpdesk.add_ticket("front", "cnv_47b0", status="unassigned")
    sandbox.merge(helpdesk, old, new)
    with pytest.raises(Permanent, match="merged into cnv_47b0"):
        client_for(helpdesk, "front").deliver(job("front", "cnv_47a6", reopen=True))
    # The 301 is not followed (with our token, to wherever it points): nothing was posted
    # anywhere, nothing reopened.
    assert [c.method for c in helpdesk.calls("front")] == ["POST"]
    assert old.notes == [] and new.notes == [] and old.history == ["archived"]
    with pytest.raises(Permanent, match="HTTP 404 Not found"):
        client_for(helpdesk, "front").deliver(job("front", "cnv_unknown1"))


def test_a_ticket_id_that_is_not_a_conversation_id_is_refused_without_a_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    with pytest.raises(Permanent, match="not a Front conversation id"):
        client_for(helpdesk, "front").deliver(job("front", "../me"))
    assert helpdesk.calls("front") == []


def test_the_comment_is_markdown_that_shows_the_plain_text(helpdesk: HelpdeskSandbox) -> None:
    assert comment_markdown("# *hi* <b>x</b> & [y](z)\n- one\n1. two\nfu-0a1b2c3d4e5f") == (
        "\\# \\*hi\\* &lt;b&gt;x&lt;/b&gt; &amp; \\[y\\]\\(z\\)  \n"
        "\\- one  \n"
        "1\\. two  \n"
        "fu-0a1b2c3d4e5f"
    )
    assert comment_markdown("ref fu_a*b", keep="fu_a*b") == "ref fu_a*b"
    ticket = helpdesk.add_ticket("front", "cnv_47a7")
    client_for(helpdesk, "front").deliver(job("front", "cnv_47a7", body="<img src=x>"))
    assert "<img" not in ticket.notes[0].body
    assert ticket.notes[0].body.endswith("Followup ref fu-0a1b2c3d4e5f")


def test_check_reads_the_token_company(helpdesk: HelpdeskSandbox) -> None:
    answer = client_for(helpdesk, "front").check()
    assert answer == f"company {COMPANY['name']} ({COMPANY['id']})"
    [call] = helpdesk.calls("front")
    assert (call.method, call.path, call.headers["Authorization"]) == ("GET", "/me", AUTH)


def test_a_customers_at_sign_mentions_no_teammate(helpdesk: HelpdeskSandbox) -> None:
    """A comment's "@name" notifies that teammate and gives them the conversation: the
    customer's words must not, so a word joiner follows every "@" (it shows as nothing)."""
    text = comment_markdown("They said: ask @jane or mail ops@acme.example", "fu-1")
    assert "@jane" not in text and "@\u2060jane" in text
    assert "ops@acme.example" in text, "an email address is left whole (no mention there)"
