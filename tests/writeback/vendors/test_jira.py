"""Jira Service Management write-back against the sandbox: the exact requests of the
servicedeskapi and the platform REST API v3."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bot.sandbox.helpdesks import HelpdeskSandbox, Note
from bot.sandbox.helpdesks.jira import EMAIL, TOKEN
from bot.writeback.transport import Permanent, RateLimited
from bot.writeback.vendors.jira import wiki
from tests.writeback.conftest import client_for, job

AUTH = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
MARKER = "fu-0a1b2c3d4e5f"


def checked(helpdesk: HelpdeskSandbox) -> Any:
    """A client whose calls the tests below read after its agent check (`mypermissions`,
    before each comment), which they leave out of the calls they compare."""
    return client_for(helpdesk, "jira")


def without_check(calls: list[Any]) -> list[Any]:
    return [c for c in calls if c.path != "/rest/api/3/mypermissions"]


def test_an_outcome_is_an_internal_comment_and_the_request_stays_resolved(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "10002")
    done = checked(helpdesk).deliver(job("jira", "10002"))
    [call] = without_check(helpdesk.calls("jira"))
    assert (call.method, call.path) == ("POST", "/rest/servicedeskapi/request/10002/comment")
    assert call.headers["Authorization"] == AUTH
    assert call.headers["Content-Type"] == "application/json"
    [note] = ticket.notes
    assert call.body == {"body": note.body, "public": False}
    assert note.private and note.body.endswith(f"Followup ref {MARKER}")
    assert ticket.status == "Resolved"
    assert done.result == f"internal comment {note.id}"


def test_the_note_is_escaped_wiki_markup_with_its_line_breaks_and_marker_intact(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "SUP-17")
    body = "*Not* fixed [see log] a - b {code}\ne-mail C:\\temp | h!"
    checked(helpdesk).deliver(job("jira", "SUP-17", body=body))
    assert without_check(helpdesk.calls("jira"))[0].path == (
        "/rest/servicedeskapi/request/SUP-17/comment"
    )
    assert ticket.notes[0].body == (
        "\\*Not\\* fixed \\[see log\\] a \\- b \\{code\\}\n"
        f"e-mail C:&#92;temp \\| h\\!\nFollowup ref {MARKER}"
    )
    assert wiki(f"ref {MARKER}") == f"ref {MARKER}"


def test_a_fix_that_did_not_hold_reopens_by_the_first_transition_to_an_open_status(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "10003")
    done = checked(helpdesk).deliver(job("jira", "10003", reopen=True))
    calls = [(c.method, c.path) for c in without_check(helpdesk.calls("jira"))]
    assert calls == [
        ("POST", "/rest/servicedeskapi/request/10003/comment"),
        ("GET", "/rest/api/3/issue/10003"),
        ("GET", "/rest/api/3/issue/10003/transitions"),
        ("POST", "/rest/api/3/issue/10003/transitions"),
    ]
    assert without_check(helpdesk.calls("jira"))[1].query == {"fields": "status"}
    # "Close" (to Closed, done) is listed first: the first one into an open status is taken.
    assert helpdesk.calls("jira")[-1].body == {"transition": {"id": "51"}}
    assert ticket.history == ["Resolved", "In progress"]
    assert ticket.notes[0].private
    assert done.result.endswith("; status 'In progress'")


def test_the_configured_transition_is_the_one_taken(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("jira", "10004")
    client = client_for(helpdesk, "jira", REOPEN_TRANSITION="61")
    client.deliver(job("jira", "10004", reopen=True))
    assert helpdesk.calls("jira", "POST")[-1].body == {"transition": {"id": "61"}}
    assert ticket.status == "Waiting for support"


def test_a_configured_transition_that_does_not_reopen_is_refused(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "10005")
    with pytest.raises(Permanent, match="WRITEBACK_JIRA_REOPEN_TRANSITION"):
        client_for(helpdesk, "jira", REOPEN_TRANSITION="41").deliver(
            job("jira", "10005", reopen=True)
        )
    assert ticket.status == "Resolved"


def test_a_retry_finds_its_comment_and_the_reopen_is_not_repeated(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "10006")
    client = client_for(helpdesk, "jira")
    client.deliver(job("jira", "10006", reopen=True))
    helpdesk.clear_calls()
    done = client.deliver(job("jira", "10006", reopen=True, retried=True))
    assert len(ticket.notes) == 1
    assert [(c.method, c.path) for c in helpdesk.calls("jira")] == [
        ("GET", "/rest/servicedeskapi/request/10006/comment"),
        ("GET", "/rest/api/3/issue/10006"),
    ]
    assert ticket.history == ["Resolved", "In progress"]
    assert done.result == "internal comment already there; status 'In progress' (already open)"


def test_a_retry_finds_its_marker_even_if_jira_gives_it_back_escaped(
    helpdesk: HelpdeskSandbox,
) -> None:
    ticket = helpdesk.add_ticket("jira", "10012")
    ticket.notes.append(Note("1", "Followed up\nFollowup ref fu\\-0a1b2c3d4e5f", private=True))
    client_for(helpdesk, "jira").deliver(job("jira", "10012", retried=True))
    assert len(ticket.notes) == 1


def test_a_retry_pages_through_a_long_thread(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("jira", "10007")
    ticket.notes.extend(Note(str(i), f"comment {i}", private=i % 2 == 0) for i in range(120))
    client = client_for(helpdesk, "jira")
    client.deliver(job("jira", "10007"))
    helpdesk.clear_calls()
    client.deliver(job("jira", "10007", retried=True))
    assert len(ticket.notes) == 121
    starts = [c.query["start"] for c in helpdesk.calls("jira")]
    assert starts == ["0", "50", "100"]
    helpdesk.clear_calls()
    client.deliver(job("jira", "10007", retried=True, marker="fu-ffffffffffff"))
    assert len(ticket.notes) == 122
    assert helpdesk.calls("jira")[-1].method == "POST"


def test_a_request_the_workflow_cannot_reopen_fails_for_good(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("jira", "10008", status="Canceled")
    with pytest.raises(Permanent, match="cannot be reopened") as failed:
        client_for(helpdesk, "jira").deliver(job("jira", "10008", reopen=True))
    assert "'Canceled'" in failed.value.reason
    assert ticket.status == "Canceled" and ticket.notes[0].private
    assert not helpdesk.calls("jira", "POST")[1:]


def test_a_closed_request_takes_no_comment(helpdesk: HelpdeskSandbox) -> None:
    ticket = helpdesk.add_ticket("jira", "10009", status="Closed")
    with pytest.raises(Permanent, match=r"HTTP 403 sd\.request\.comment\.not\.permitted"):
        client_for(helpdesk, "jira").deliver(job("jira", "10009", reopen=True))
    assert ticket.notes == [] and ticket.status == "Closed"


def test_an_account_that_is_not_an_agent_there_posts_nothing(helpdesk: HelpdeskSandbox) -> None:
    """A portal customer (an Atlassian account too) only posts public comments, which JSM
    emails: the client asks for SERVICEDESK_AGENT on the issue before each comment."""
    ticket = helpdesk.add_ticket("jira", "10010")
    helpdesk.state["jira.not_agent"] = True
    with pytest.raises(Permanent, match="lacks SERVICEDESK_AGENT"):
        client_for(helpdesk, "jira").deliver(job("jira", "10010"))
    assert ticket.notes == [] and not helpdesk.calls("jira", "POST")
    [asked] = helpdesk.calls("jira", "GET")
    assert (asked.path, asked.query) == (
        "/rest/api/3/mypermissions",
        {"issueId": "10010", "permissions": "SERVICEDESK_AGENT"},
    )


def test_a_comment_that_comes_back_public_is_deleted_at_once(
    helpdesk: HelpdeskSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account lost its agent role between the check and the post: the comment came back
    public, so it is taken down before the row fails."""
    from bot.writeback.vendors.jira import Jira

    ticket = helpdesk.add_ticket("jira", "10011")
    monkeypatch.setattr(Jira, "_must_be_agent", lambda self, issue: None)
    helpdesk.state["jira.account_type"] = "customer"
    with pytest.raises(Permanent, match=r"made the comment public.*deleted at once"):
        client_for(helpdesk, "jira").deliver(job("jira", "10011"))
    assert ticket.notes == []
    assert helpdesk.calls("jira", "DELETE")[0].path.startswith("/rest/api/3/issue/10011/comment/")


def test_ids_that_cannot_be_jira_issues_are_refused_without_a_call(
    helpdesk: HelpdeskSandbox,
) -> None:
    for bad in ("sup-17", "SUP-17/../x", "10002?x=1", "", "0"):
        with pytest.raises(Permanent, match="not a Jira issue id or key"):
            client_for(helpdesk, "jira").deliver(job("jira", bad))
    assert helpdesk.calls("jira") == []


def test_a_missing_request_is_permanent(helpdesk: HelpdeskSandbox) -> None:
    with pytest.raises(Permanent, match=r"mypermissions: HTTP 404"):
        client_for(helpdesk, "jira").deliver(job("jira", "99999"))


def test_wrong_credentials_and_429_are_told_apart(helpdesk: HelpdeskSandbox) -> None:
    helpdesk.add_ticket("jira", "10011")
    with pytest.raises(Permanent, match="HTTP 401"):
        client_for(helpdesk, "jira", TOKEN="wrong").deliver(job("jira", "10011"))
    helpdesk.fail("jira", 429, retry_after="37")
    with pytest.raises(RateLimited) as limited:
        client_for(helpdesk, "jira").deliver(job("jira", "10011"))
    assert limited.value.retry_after == "37"
    assert client_for(helpdesk, "jira").check() == f"user {EMAIL}"
    assert helpdesk.calls("jira")[-1].path == "/rest/api/3/myself"
