"""One agent's failure fails that agent only: the dispatch pass goes on with everyone else.

A failed lookup, a 5xx that outlasts the client's retries or a bug while drafting one agent's
DM once ended the whole pass with a traceback, every other claimed agent left waiting for
their lease. Now the failing agent is counted, logged in one line and released for the next
pass (only when its DM was certainly not posted), and the rest are DMed.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)
from sqlalchemy import select

import bot.nudge.items
from bot import ids
from bot.cases import ClosedCase
from bot.clock import ManualClock
from bot.deps import Deps
from bot.dispatch.delivery import RETRY_LATER
from bot.dispatch.dispatcher import dispatch_pass
from bot.intake.accept import accept_case
from bot.people.profiles import ensure_profile
from bot.sandbox import SlackSandbox
from db.models import Agent, Case, FollowUp
from db.nudge_rows import NudgeRow
from tests.conftest import dispatcher_deps
from tests.nudging import FRIDAY_10_UTC, MONDAY_10_UTC

AGENTS = 20
SUBJECT = "Invoice question from customer number {n}"


@dataclass
class Crowd:
    """AGENTS people in the sandbox, one follow-up each due Monday 10:00 UTC."""

    sandbox: SlackSandbox
    deps: Deps
    clock: ManualClock
    users: list[str]

    def nudged(self) -> Counter[int]:
        """How many nudge DMs name each follow-up id."""
        found: Counter[int] = Counter()
        for user in self.users:
            for message in self.sandbox.dm_messages(user):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == ids.METADATA_NUDGE:
                    found.update(int(i) for i in metadata["event_payload"]["followup_ids"])
        return found

    def rows(self) -> list[FollowUp]:
        with self.deps.session_factory() as session:
            rows = list(session.scalars(select(FollowUp).order_by(FollowUp.id)))
            session.expunge_all()
            return rows

    def followup_of(self, subject: str) -> int:
        with self.deps.session_factory() as session:
            found = session.scalar(select(FollowUp.id).join(Case).where(Case.subject == subject))
            assert found is not None
            return found

    def claimable(self) -> list[int]:
        """Follow-ups a claim made right now would take: planned and due."""
        now = self.clock.now()
        return [f.id for f in self.rows() if f.state == "planned" and f.due_at <= now]


def build_crowd(sqlite_url: str, sandbox: SlackSandbox, *, known: bool) -> Iterator[Crowd]:
    """`known`: the agents are on record (by Slack id) with fresh profiles, so their DMs take
    the common path; otherwise the cases name them by email only, never seen before, so each
    first DM needs users.lookupByEmail."""
    clock = ManualClock(FRIDAY_10_UTC)
    deps = dispatcher_deps(sqlite_url, sandbox, clock)
    # 5xx answers are retried twice by the client; quickly here.
    for handler in deps.client.retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)
    users = [f"U0ISO{n:02d}" for n in range(AGENTS)]
    for n, user in enumerate(users):
        sandbox.add_user(user, name=f"agent{n}", email=f"agent{n}@example.com")
    sandbox.add_channel("C0TRIAGE", "triage")
    with deps.session_factory.begin() as session:
        for n, user in enumerate(users):
            closed = ClosedCase(
                source="generic",
                external_id=f"ISO-{n}",
                subject=SUBJECT.format(n=n),
                resolution="Corrected the invoice and explained the proration",
                closed_at=FRIDAY_10_UTC,
                owner_slack_id=user if known else None,
                owner_email=None if known else f"agent{n}@example.com",
            )
            accept_case(session, deps, closed, actor="test", surface="test")
    clock.set(MONDAY_10_UTC)
    if known:
        with deps.session_factory() as session:
            agent_ids = list(session.scalars(select(Agent.id)))
        for agent_id in agent_ids:
            ensure_profile(deps, agent_id)
    yield Crowd(sandbox, deps, clock, users)
    deps.engine.dispose()


@pytest.fixture
def strangers(sqlite_url: str, sandbox: SlackSandbox) -> Iterator[Crowd]:
    yield from build_crowd(sqlite_url, sandbox, known=False)


@pytest.fixture
def regulars(sqlite_url: str, sandbox: SlackSandbox) -> Iterator[Crowd]:
    yield from build_crowd(sqlite_url, sandbox, known=True)


def dispatch_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "followup.dispatch"]


def named_ids(message: str) -> set[int]:
    """The follow-up ids a log line names, as `follow-ups [1, 2]`."""
    found = re.search(r"follow-ups \[([\d, ]*)\]", message)
    return {int(i) for i in found.group(1).split(",") if i.strip()} if found else set()


def assert_one_quiet_warning_each(
    caplog: pytest.LogCaptureFixture, failed: list[int], error_type: str
) -> None:
    """One WARNING line per failed follow-up, naming it and the error type; no traceback,
    nothing worse than a warning, and no customer text anywhere in the dispatch log."""
    records = dispatch_records(caplog)
    assert [r for r in records if r.levelno > logging.WARNING] == []
    assert [r for r in records if r.exc_info] == [], "a traceback was logged"
    for followup_id in failed:
        naming = [
            r.getMessage()
            for r in records
            if r.levelno == logging.WARNING and followup_id in named_ids(r.getMessage())
        ]
        assert len(naming) == 1, naming
        assert error_type in naming[0]
    for record in records:
        assert "Invoice question" not in record.getMessage()


def test_lookups_failing_after_retries_fail_only_their_agents_and_the_pass_goes_on(
    strangers: Crowd, caplog: pytest.LogCaptureFixture
) -> None:
    crowd = strangers
    # Every third agent's users.lookupByEmail answers 500 on the call and both retries.
    failing = [n for n in range(AGENTS) if n % 3 == 0]
    for n in range(AGENTS):
        if n in failing:
            crowd.sandbox.fail_next("users.lookupByEmail", times=3, status=500)
        else:  # answered as usual
            crowd.sandbox.fail_next("users.lookupByEmail", status=None, error=None)
    with caplog.at_level(logging.WARNING):
        first = dispatch_pass(crowd.deps, threads=4)
    ok = AGENTS - len(failing)
    assert (first.claimed, first.failed) == (AGENTS, len(failing)), first.summary()
    assert (first.delivered, first.dms) == (ok, ok), first.summary()
    nudged = crowd.nudged()
    assert set(nudged.values()) == {1} and len(nudged) == ok
    # The failed ones are planned again and due now: the very next pass may claim them.
    failed = sorted({f.id for f in crowd.rows()} - set(nudged))
    assert len(failed) == len(failing)
    assert sorted(crowd.claimable()) == failed
    assert_one_quiet_warning_each(caplog, failed, "SlackApiError")

    crowd.sandbox.clear_faults()
    second = dispatch_pass(crowd.deps, threads=4)
    assert (second.delivered, second.failed) == (len(failing), 0), second.summary()
    nudged = crowd.nudged()
    assert set(nudged.values()) == {1} and len(nudged) == AGENTS
    assert Counter(f.state for f in crowd.rows()) == Counter({"sent": AGENTS})


def test_a_lookup_failing_on_every_call_ends_the_pass_instead_of_retrying_it(
    strangers: Crowd,
) -> None:
    """While Slack keeps failing, the released follow-ups wait for the next pass: the pass
    that released them does not claim them again and again."""
    crowd = strangers
    crowd.sandbox.fail_every("users.lookupByEmail", every=1, status=502, error="bad_gateway")
    report = dispatch_pass(crowd.deps, threads=4)
    assert (report.claimed, report.failed, report.delivered) == (AGENTS, AGENTS, 0)
    assert len(crowd.sandbox.calls_to("users.lookupByEmail")) == AGENTS
    assert len(crowd.claimable()) == AGENTS


def test_an_error_drafting_one_agents_dm_fails_only_that_agent(
    regulars: Crowd, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd = regulars
    poison = SUBJECT.format(n=7)
    real_nudge_item = bot.nudge.items.nudge_item

    def nudge_item(deps: Deps, row: NudgeRow, *args: Any, **kwargs: Any) -> Any:
        if row.subject == poison:
            raise ValueError("a template that cannot render this case")
        return real_nudge_item(deps, row, *args, **kwargs)

    monkeypatch.setattr(bot.nudge.items, "nudge_item", nudge_item)
    with caplog.at_level(logging.WARNING):
        first = dispatch_pass(crowd.deps, threads=4)
    assert (first.claimed, first.failed) == (AGENTS, 1), first.summary()
    assert (first.delivered, first.dms) == (AGENTS - 1, AGENTS - 1), first.summary()
    failed = crowd.followup_of(poison)
    assert crowd.claimable() == [failed]
    assert set(crowd.nudged().values()) == {1} and failed not in crowd.nudged()
    assert_one_quiet_warning_each(caplog, [failed], "ValueError")

    monkeypatch.undo()
    second = dispatch_pass(crowd.deps, threads=4)
    assert (second.delivered, second.failed) == (1, 0), second.summary()
    nudged = crowd.nudged()
    assert set(nudged.values()) == {1} and len(nudged) == AGENTS


def test_a_dm_that_slack_may_have_posted_is_reconciled_not_released_at_once(
    regulars: Crowd,
) -> None:
    crowd = regulars
    # Slack posts the DM, then its answer is lost behind a 503.
    crowd.sandbox.fail_next("chat.postMessage", status=503, error="service_unavailable", after=True)
    first = dispatch_pass(crowd.deps, threads=4)
    assert (first.failed, first.delivered) == (1, AGENTS - 1), first.summary()
    assert crowd.claimable() == []
    again = dispatch_pass(crowd.deps, threads=4)
    assert (again.claimed, again.delivered) == (0, 0), again.summary()
    crowd.clock.advance(RETRY_LATER)
    later = dispatch_pass(crowd.deps, threads=4)
    assert (later.reconciled, later.delivered) == (1, 0), later.summary()
    nudged = crowd.nudged()
    assert set(nudged.values()) == {1} and len(nudged) == AGENTS
    assert len(crowd.sandbox.calls_to("chat.postMessage")) == AGENTS
