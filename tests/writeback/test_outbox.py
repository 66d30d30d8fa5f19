"""The outbox under pressure: a 429 storm, an outage of several minutes, one that lasts for
hours, and two instances delivering at once. Time is the bot's clock, moved by the test."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.writeback import worker
from bot.writeback.transport import wait_seconds
from bot.writeback.worker import deliver_writebacks
from db.models import Case, Writeback
from tests.writeback.conftest import owe_notes

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def wb_deps(make_bot: Any, helpdesk: HelpdeskSandbox) -> Any:
    bot = make_bot(**helpdesk.env("zendesk"))
    bot.clock.set(START)
    return bot.deps


def rows(deps: Any) -> list[Writeback]:
    with deps.session_factory() as session:
        found = list(session.scalars(select(Writeback).order_by(Writeback.id)))
        session.expunge_all()
        return found


def notes_per_ticket(helpdesk: HelpdeskSandbox) -> list[int]:
    return sorted({len(t.notes) for t in helpdesk.tickets("zendesk")})


def test_a_429_storm_holds_every_row_of_the_helpdesk_for_its_retry_after(
    wb_deps: Any, helpdesk: HelpdeskSandbox
) -> None:
    owe_notes(wb_deps, helpdesk, 30, start=START)
    helpdesk.fail("zendesk", 429, times=6, retry_after="20")
    passes = 0
    while any(r.state == "pending" for r in rows(wb_deps)) and passes < 100:
        report = deliver_writebacks(wb_deps)
        passes += 1
        if report.rate_limited:
            assert report.delivered == 0 and report.claimed - 1 == report.given_back
            assert deliver_writebacks(wb_deps).claimed == 0, "held: nobody calls before 20 s"
            wb_deps.clock.set(wb_deps.clock.now() + timedelta(seconds=19))
            assert deliver_writebacks(wb_deps).claimed == 0
            wb_deps.clock.set(wb_deps.clock.now() + timedelta(seconds=1))
    found = rows(wb_deps)
    assert [r.state for r in found] == ["delivered"] * 30
    assert all(r.failures == 0 for r in found), "a 429 is not a failure"
    calls = helpdesk.calls("zendesk")
    assert sum(c.status == 429 for c in calls) == 6
    assert sum(c.method == "PUT" and c.status == 200 for c in calls) == 30
    assert sum(c.method == "GET" for c in calls) <= 6, "only a 429'd row looks for its note"
    assert notes_per_ticket(helpdesk) == [1]


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert wait_seconds("120", now) == 120.0
    assert wait_seconds("Sun, 06 Dec 2026 12:01:30 GMT", now) == 90.0
    assert wait_seconds("soon", now) is None and wait_seconds(None, now) is None


def test_an_outage_of_minutes_delays_the_notes_and_loses_none(
    wb_deps: Any, helpdesk: HelpdeskSandbox
) -> None:
    owe_notes(wb_deps, helpdesk, 5, start=START)
    helpdesk.fail("zendesk", 503, times=10**6)
    for _ in range(40):  # 20 minutes of passes, one every 30 s
        deliver_writebacks(wb_deps)
        wb_deps.clock.set(wb_deps.clock.now() + timedelta(seconds=30))
    during = rows(wb_deps)
    assert {r.state for r in during} == {"pending"}, "minutes of outage fail nothing"
    assert max(r.failures for r in during) < worker.MAX_FAILURES
    assert len(helpdesk.calls("zendesk")) <= 5 * 6, "backoff: about 6 tries each in 20 min"
    helpdesk.up("zendesk")
    for _ in range(12):  # the longest backoff after 20 minutes is under 16 minutes
        deliver_writebacks(wb_deps)
        wb_deps.clock.set(wb_deps.clock.now() + timedelta(minutes=2))
    assert {r.state for r in rows(wb_deps)} == {"delivered"}
    assert notes_per_ticket(helpdesk) == [1]
    assert {t.status for t in helpdesk.tickets("zendesk")} == {"open"}


def test_an_outage_of_hours_fails_the_rows_and_says_so(
    wb_deps: Any, helpdesk: HelpdeskSandbox
) -> None:
    owe_notes(wb_deps, helpdesk, 2, start=START)
    helpdesk.fail("zendesk", 502, times=10**6)
    for _ in range(30):
        deliver_writebacks(wb_deps)
        wb_deps.clock.set(wb_deps.clock.now() + timedelta(minutes=10))
    found = rows(wb_deps)
    assert [r.state for r in found] == ["failed", "failed"]
    assert [r.failures for r in found] == [worker.MAX_FAILURES] * 2
    assert "HTTP 502" in (found[0].last_error or "")


def test_two_instances_deliver_each_note_once(make_bot: Any, helpdesk: HelpdeskSandbox) -> None:
    first = make_bot(**helpdesk.env("zendesk"))
    second = make_bot(**helpdesk.env("zendesk"), DATABASE_URL=first.deps.settings.database_url)
    from dataclasses import replace

    deps = [replace(first.deps, worker="one"), replace(second.deps, worker="two")]
    for each in deps:
        each.clock.set(START)
    owe_notes(deps[0], helpdesk, 40, start=START)
    helpdesk.hang("zendesk", 0.01, times=10**6, apply=True)
    threads = [
        threading.Thread(target=lambda d=d: [deliver_writebacks(d) for _ in range(3)]) for d in deps
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = rows(deps[0])
    assert {r.state for r in found} == {"delivered"}
    assert {r.attempts for r in found} == {1}, "no row was claimed twice"
    assert notes_per_ticket(helpdesk) == [1]


def test_an_unreachable_receiver_is_named_by_host_never_by_its_secret_path() -> None:
    """Zapier and Make hook URLs carry their secret in the path: a failure's reason goes to
    logs, the DM and `writeback list`, so it names the host alone."""
    import socket

    from bot.writeback.transport import Http, Unreachable

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(Unreachable) as failed:
        Http(timeout=1).request(
            "POST", f"http://127.0.0.1:{port}/hooks/s3cr3t-path?k=v", data=b"{}"
        )
    assert f"127.0.0.1:{port}" in failed.value.reason
    assert "s3cr3t" not in failed.value.reason and "hooks" not in failed.value.reason


@pytest.mark.parametrize(
    ("retry_after", "held_for"),
    [
        ("inf", worker.MAX_RATE_WAIT),
        ("1e20", worker.MAX_RATE_WAIT),
        ("999999999", worker.MAX_RATE_WAIT),
        ("nan", worker.DEFAULT_RATE_WAIT),
    ],
)
def test_an_absurd_retry_after_holds_the_helpdesk_an_hour_at_most(
    wb_deps: Any, helpdesk: HelpdeskSandbox, retry_after: str, held_for: timedelta
) -> None:
    owe_notes(wb_deps, helpdesk, 3, start=START)
    helpdesk.fail("zendesk", 429, retry_after=retry_after)
    report = deliver_writebacks(wb_deps)
    assert (report.rate_limited, report.given_back) == (1, 2)
    held = {r.lease_until for r in rows(wb_deps)}
    assert held == {START + held_for}, "capped: not a crash, nor years"
    wb_deps.clock.set(START + held_for)
    assert deliver_writebacks(wb_deps).delivered == 3


def test_an_operator_can_release_a_row_held_back(wb_deps: Any, helpdesk: HelpdeskSandbox) -> None:
    from db import writebacks as outbox

    owe_notes(wb_deps, helpdesk, 1, start=START)
    helpdesk.fail("zendesk", 429, retry_after="3000")
    deliver_writebacks(wb_deps)
    [row] = rows(wb_deps)
    with wb_deps.session_factory.begin() as session:
        assert outbox.retry(session, row.id, START)[1] == outbox.RELEASED
    assert deliver_writebacks(wb_deps).delivered == 1, "released: it went at once"


def test_a_reopen_that_waited_past_the_tickets_next_solve_is_dropped(
    wb_deps: Any, helpdesk: HelpdeskSandbox
) -> None:
    """The reopen was held (a 429 here; a timeout or an outage alike) and meanwhile the agent
    solved the ticket again: sending it now would reopen a solved ticket. The note goes alone
    and says so, and the case keeps its new cycle."""
    [ticket] = owe_notes(wb_deps, helpdesk, 1, start=START)
    helpdesk.fail("zendesk", 429, retry_after="60")
    deliver_writebacks(wb_deps)
    [row] = rows(wb_deps)
    with wb_deps.session_factory.begin() as session:  # reopened and solved again meanwhile
        session.get(Case, row.case_id).cycle += 1
    wb_deps.clock.set(START + timedelta(minutes=2))
    assert deliver_writebacks(wb_deps).delivered == 1
    landed = helpdesk.ticket("zendesk", ticket)
    assert landed.status == "solved", "not reopened"
    body = landed.notes[-1].body
    assert "Not reopened: the ticket was solved again" in body
    assert "Followup reopens this ticket" not in body
    [row] = rows(wb_deps)
    assert (row.reopen, row.detail["reopen"]) == (False, False), "a retry sends the same"
    with wb_deps.session_factory() as session:
        assert session.get(Case, row.case_id).status == "closed"


def test_a_row_that_cannot_be_settled_does_not_stop_the_others(
    wb_deps: Any, helpdesk: HelpdeskSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    owe_notes(wb_deps, helpdesk, 3, start=START)
    real = worker._deliver
    calls = []

    def flaky(deps: Any, item: Any, vendor: Any, report: Any) -> Any:
        calls.append(item.id)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(deps, item, vendor, report)

    monkeypatch.setattr(worker, "_deliver", flaky)
    report = deliver_writebacks(wb_deps)
    assert (report.unsettled, report.delivered) == (1, 2)


def test_no_call_starts_after_a_deliverys_deadline(helpdesk: HelpdeskSandbox) -> None:
    """The worker gives each delivery a budget shorter than the row's lease: a vendor still
    paging through a ticket's notes stops, and no other instance can meet a call in flight."""
    import time

    from bot.writeback.transport import Http, Transient

    http = Http(timeout=2)
    http.deadline = time.monotonic() - 0.001
    with pytest.raises(Transient, match="out of time"):
        http.request("GET", helpdesk.url("zendesk") + "/api/v2/users/me")
    assert helpdesk.calls() == []
