"""Several dispatchers at once, and Slack rate limits: every due follow-up DMed exactly once.

200 follow-ups for 40 agents (5 each) are due on Monday 23 Nov 2026 10:00 UTC, in the agents'
London working hours. Dispatchers run in parallel threads (each its own engine and worker
name, as separate instances would) and in separate `followup dispatch` processes, against
one SQLite file and one PostgreSQL database, with the sandbox answering 429s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import ids
from bot.cases import ClosedCase
from bot.clock import ManualClock
from bot.config import Settings
from bot.deps import Deps, make_web_client
from bot.dispatch.dispatcher import DispatchReport, dispatch_pass
from bot.intake.accept import accept_case
from bot.runtime.start import build_deps, ensure_schema
from bot.sandbox import SlackSandbox
from db import migrate
from db.models import FollowUp

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AGENTS = 40
PER_AGENT = 5


def env_for(database_url: str, sandbox: SlackSandbox) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": "sandbox-signing-secret-0123456789",
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "LOG_LEVEL": "WARNING",
    }


@dataclass
class Fleet:
    """40 agents in the sandbox, 200 follow-ups due; deps factories for several dispatchers."""

    sandbox: SlackSandbox
    database_url: str
    env: dict[str, str]
    clock: ManualClock
    make_deps: Callable[[str], Deps]
    followup_ids: list[int]
    users: list[str]

    def nudged_ids(self) -> list[int]:
        """Every follow-up id named in a nudge DM's metadata, duplicates kept."""
        found: list[int] = []
        for user in self.users:
            for message in self.sandbox.dm_messages(user):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == ids.METADATA_NUDGE:
                    found.extend(metadata["event_payload"]["followup_ids"])
        return found

    def nudge_dms(self) -> int:
        return sum(
            1
            for user in self.users
            for message in self.sandbox.dm_messages(user)
            if (message.get("metadata") or {}).get("event_type") == ids.METADATA_NUDGE
        )

    def states(self) -> Counter[str]:
        deps = self.make_deps("inspector")
        with deps.session_factory() as session:
            return Counter(session.scalars(select(FollowUp.state)))

    def assert_each_delivered_exactly_once(self) -> None:
        nudged = self.nudged_ids()
        duplicates = [i for i, n in Counter(nudged).items() if n > 1]
        lost = sorted(set(self.followup_ids) - set(nudged))
        assert duplicates == [], f"sent twice: {duplicates}"
        assert lost == [], f"never sent: {lost}"
        assert len(nudged) == AGENTS * PER_AGENT
        assert self.states() == Counter({"sent": AGENTS * PER_AGENT})
        # Each agent's DMs hold only their own follow-ups.
        deps = self.make_deps("inspector")
        with deps.session_factory() as session:
            rows = list(session.scalars(select(FollowUp)))
            owner = {f.id: f.assignee.slack_user_id for f in rows if f.assignee}
        for user in self.users:
            for message in self.sandbox.dm_messages(user):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                assert {owner[i] for i in payload.get("followup_ids", [])} <= {user}


@pytest.fixture
def fleet(database_url: str, sandbox: SlackSandbox) -> Iterator[Fleet]:
    """The fleet on a SQLite file, then on PostgreSQL."""
    yield from build_fleet(database_url, sandbox)


@pytest.fixture
def sqlite_fleet(sqlite_url: str, sandbox: SlackSandbox) -> Iterator[Fleet]:
    """The fleet on SQLite only (timing tests that a second database would not add to)."""
    yield from build_fleet(sqlite_url, sandbox)


def build_fleet(database_url: str, sandbox: SlackSandbox) -> Iterator[Fleet]:
    clock = ManualClock(FRIDAY_10_UTC)
    env = env_for(database_url, sandbox)
    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    built: list[Deps] = []

    def make_deps(worker: str) -> Deps:
        deps = replace(build_deps(settings, clock), worker=worker)
        built.append(deps)
        return deps

    users = [f"U0FLEET{n:02d}" for n in range(AGENTS)]
    for n, user in enumerate(users):
        sandbox.add_user(user, name=f"agent{n}", email=f"agent{n}@example.com")
    sandbox.add_channel("C0TRIAGE", "triage")
    seeder = make_deps("seeder")
    ensure_schema(seeder)
    with seeder.session_factory.begin() as session:
        for n in range(AGENTS * PER_AGENT):
            closed = ClosedCase(
                source="generic",
                external_id=f"FLEET-{n}",
                subject=f"Billing question number {n}",
                resolution="Explained the invoice line and corrected the plan",
                closed_at=FRIDAY_10_UTC,
                owner_slack_id=users[n % AGENTS],
            )
            accept_case(session, seeder, closed, actor="test", surface="test")
    with seeder.session_factory() as session:
        followup_ids = list(session.scalars(select(FollowUp.id)))
        due = set(session.scalars(select(FollowUp.due_at)))
    assert len(followup_ids) == AGENTS * PER_AGENT
    assert due == {MONDAY_10_UTC}
    clock.set(MONDAY_10_UTC)
    yield Fleet(sandbox, database_url, env, clock, make_deps, followup_ids, users)
    for deps in built:
        deps.engine.dispose()


def run_in_threads(*passes: Callable[[], DispatchReport]) -> list[DispatchReport]:
    """Start every pass at the same moment; return their reports."""
    start = threading.Barrier(len(passes))
    reports: list[DispatchReport | BaseException] = [RuntimeError("did not run")] * len(passes)

    def run(index: int) -> None:
        start.wait()
        try:
            reports[index] = passes[index]()
        except BaseException as error:  # surfaced below
            reports[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(passes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for report in reports:
        if isinstance(report, BaseException):
            raise report
    return [r for r in reports if isinstance(r, DispatchReport)]


def test_two_dispatchers_in_parallel_threads_deliver_each_follow_up_once(fleet: Fleet) -> None:
    # Slack paces posts (as its per-workspace cap does), so the deliveries take about two
    # seconds: enough that the second instance's first claim can never lose the race to the
    # whole run, which would make "the work was shared" depend on thread start-up timing.
    fleet.sandbox.rate_limit("chat.postMessage", per_second=20, burst=4)
    first, second = fleet.make_deps("instance-a"), fleet.make_deps("instance-b")
    reports = run_in_threads(lambda: dispatch_pass(first), lambda: dispatch_pass(second))
    fleet.assert_each_delivered_exactly_once()
    assert sum(r.delivered for r in reports) == AGENTS * PER_AGENT
    assert sum(r.failed for r in reports) == 0
    # The work was shared: claims are taken a few agents at a time, not all by one instance.
    assert all(r.delivered > 0 for r in reports), [r.summary() for r in reports]
    # Batching holds under contention: one DM per agent.
    assert fleet.nudge_dms() == AGENTS
    assert dispatch_pass(fleet.make_deps("instance-c")).claimed == 0


def test_two_dispatch_processes_deliver_each_follow_up_once(fleet: Fleet, tmp_path: Path) -> None:
    # 20 DMs a second with bursts of 5: each process spends seconds delivering, so they overlap.
    fleet.sandbox.rate_limit("chat.postMessage", per_second=20, burst=5)
    env = {
        **{k: v for k, v in os.environ.items() if k not in fleet.env},
        **fleet.env,
        "PYTHONUNBUFFERED": "1",
    }
    (tmp_path / "no.env").touch()  # an empty env file: nothing from a .env in the folder
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "--env-file",
        str(tmp_path / "no.env"),
        "dispatch",
        "--now",
        MONDAY_10_UTC.isoformat(),
    ]
    processes = [
        subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    fleet.assert_each_delivered_exactly_once()
    delivered = [int(out.split(" in ")[0].split()[-1]) for out, _ in outputs]
    assert sum(delivered) == AGENTS * PER_AGENT, outputs
    assert fleet.nudge_dms() == AGENTS
    throttled = [c for c in fleet.sandbox.calls_to("chat.postMessage") if c.status == 429]
    assert throttled, "the rate limit never bit: the test would prove nothing about 429s"


def test_a_burst_of_429s_loses_nothing_and_duplicates_nothing(fleet: Fleet) -> None:
    fleet.sandbox.rate_limit("chat.postMessage", per_second=20, burst=5)
    # And a run of plain 429s on top. The clients retry a 429 once (after Retry-After), so
    # many deliveries exhaust their retries, are released, and must come back exactly once.
    fleet.sandbox.fail_next("chat.postMessage", times=16, status=429, error="ratelimited")
    settings = Settings.from_env(fleet.env)
    first, second = fleet.make_deps("instance-a"), fleet.make_deps("instance-b")
    first.client = make_web_client(settings, max_rate_limit_retries=1)
    second.client = make_web_client(settings, max_rate_limit_retries=1)
    reports = run_in_threads(lambda: dispatch_pass(first), lambda: dispatch_pass(second))
    for _ in range(5):  # released deliveries are due again after RETRY_LATER
        if fleet.states() == Counter({"sent": AGENTS * PER_AGENT}):
            break
        fleet.clock.advance(timedelta(minutes=3))
        reports.append(dispatch_pass(first))
    fleet.assert_each_delivered_exactly_once()
    calls = fleet.sandbox.calls_to("chat.postMessage")
    assert sum(1 for c in calls if c.status == 429) >= 16
    assert sum(r.failed for r in reports) > 0, "no delivery ever gave up: nothing was retried"
    assert sum(r.delivered + r.reconciled for r in reports) == AGENTS * PER_AGENT


def test_a_429_pauses_every_delivery_for_its_retry_after_then_all_go_out_once(
    sqlite_fleet: Fleet,
) -> None:
    fleet = sqlite_fleet
    # The first DM is answered 429 (Retry-After: 1) after 0.3 s, during which the other
    # delivery threads go on posting; every other DM takes Slack 0.1 s, so without the gate
    # they would go on during the second.
    fleet.sandbox.fail_next("chat.postMessage", times=1, status=429, error="ratelimited", delay=0.3)
    fleet.sandbox.fail_next("chat.postMessage", times=AGENTS, status=None, error=None, delay=0.1)
    report = dispatch_pass(fleet.make_deps("instance-a"))
    assert (report.delivered, report.failed) == (AGENTS * PER_AGENT, 0)
    fleet.assert_each_delivered_exactly_once()
    calls = fleet.sandbox.calls_to("chat.postMessage")
    limited = next(c for c in calls if c.status == 429)
    before = [c for c in calls if c.status == 200 and c.time < limited.time]
    # Slack said "wait a second": no thread of the process posts meanwhile (calls are
    # recorded as answered; a quarter second covers those already on their way).
    during = [c for c in calls if limited.time + 0.25 < c.time < limited.time + 0.95]
    after = [c for c in calls if c.time >= limited.time + 0.95]
    assert before, "the other threads were not held up by the slow call"
    assert during == []
    assert limited.args["channel"] in {c.args["channel"] for c in after if c.status == 200}
