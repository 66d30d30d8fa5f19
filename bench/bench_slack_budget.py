"""Benchmark: the Slack Web API budget of a day's dispatch, priced at Slack's published tiers.

    .venv/bin/python bench/bench_slack_budget.py [--agents 1000] [--realtime-agents 200]
        [--skip days realtime]

Three parts, each against the in-process Slack sandbox (`bot.sandbox.SlackSandbox`, real HTTP)
and a fresh SQLite file. Every case comes in through the real intake (`accept_case`) with its
owner named by email only, as a helpdesk names an agent the bot has never seen.

1. **First contact**: `--agents` Slack users unknown to the bot, spread evenly over four time
   zones (a team per zone, on the policy's working hours in that zone), one follow-up each, due
   over the first two working hours of their Monday. The bot starts (auth.test, the directory
   read) and runs 24 hours of a `ManualClock` on `followup run`'s schedule: a dispatch pass
   every `FOLLOWUP_DISPATCH_SECONDS`, an overdue pass every minute, users.list every 6 hours.
   Nobody records an outcome, so each DM gets its reminder four working hours later. Passes
   at which nothing is due (nothing claimable, no reminder waiting, no lead to tell) are
   skipped, since they call nothing.
2. **Two days later**: the same bot runs on (the day between is counted apart), each agent
   gets a new follow-up due on Wednesday morning, and the same 24 hours are counted again.
3. **Real time under the tiers**: `--realtime-agents` new agents, every follow-up due now, the
   sandbox enforcing each method's tier (`bot.sandbox.tiers`) and 600 posts a minute across
   the workspace; one `followup dispatch` process on the real clock (agents at work round the
   clock). First Web API call to last DM, against the floor plus the roster read.

Pricing: a method's calls / its tier's calls a minute (`bot.sandbox.tiers.METHOD_TIERS`).
chat.postMessage is limited per channel (1/s), so across many DMs only Slack's unpublished
workspace limit bounds it: it is priced at the floor's 600 a minute. "Under the tiers" is the
largest method's minutes (each method on its own budget, all in parallel); the sum is every
method one after another. The floor is the scenario's chat.postMessage calls (DMs and
reminders) at 600 a minute. Targets are printed beside the figures, not enforced: the exit
status is 1 only when a follow-up was DMed twice or never.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_memory import bench_dispatch as load_bench_dispatch  # noqa: E402

from bot.cases import ClosedCase  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.deps import Deps  # noqa: E402
from bot.dispatch.dispatcher import dispatch_pass  # noqa: E402
from bot.dispatch.overdue import overdue_pass  # noqa: E402
from bot.intake.accept import accept_case  # noqa: E402
from bot.people.directory import REFRESH, sync_directory  # noqa: E402
from bot.planning.plan import team_calendar_fields  # noqa: E402
from bot.rules.working_hours import WorkingCalendar  # noqa: E402
from bot.runtime.scheduler import OVERDUE_INTERVAL_SECONDS  # noqa: E402
from bot.runtime.start import build_deps, check_slack, read_directory  # noqa: E402
from bot.sandbox import RecordedCall, SlackSandbox  # noqa: E402
from bot.sandbox.tiers import METHOD_TIERS, TIER_2  # noqa: E402
from db import cases as case_store  # noqa: E402
from db.models import Agent, FollowUp  # noqa: E402

bench_dispatch = load_bench_dispatch()

ZONES = ("America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney")
MONDAY = date(2026, 11, 30)
LATER = timedelta(days=2)
MORNING_SPREAD = timedelta(hours=2)
"""Follow-ups fall due over the first two working hours of each agent's day."""
CLOSED_BEFORE_DUE = timedelta(hours=72)
"""The shipped policy's touch for an ordinary case."""
LEAD_IN = timedelta(hours=1)
"""A counted day starts this long before the earliest zone's working day."""
FLOOR_POSTS_PER_MINUTE = 600
"""The issue's chat.postMessage floor: Slack's workspace-wide limit is not published."""
TARGETS = {"first contact": 1.2, "two days later": 1.1}
REALTIME_TARGET = 1.3
POST = "chat.postMessage"
MINUTE = timedelta(seconds=OVERDUE_INTERVAL_SECONDS)


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


# -- pricing -----------------------------------------------------------------------------------


@dataclass
class Priced:
    parallel: float
    """Minutes of the slowest method: each method on its own budget."""
    total: float
    """Minutes of every method, one after another."""
    floor: float
    """chat.postMessage calls at FLOOR_POSTS_PER_MINUTE."""


def price(calls: Sequence[RecordedCall], log: Callable[[str], None]) -> Priced:
    """Print a table of the calls per method at their tiers; the priced minutes."""
    counts = Counter(c.method for c in calls)
    log(f"  {'method':<22}{'calls':>8}  {'tier':<36}{'per min':>8}{'minutes':>9}")
    minutes: dict[str, float] = {}
    for method, count in counts.most_common():
        tier = METHOD_TIERS.get(method)
        rate = FLOOR_POSTS_PER_MINUTE if method == POST else tier.per_minute if tier else None
        minutes[method] = count / rate if rate else math.inf
        name = (tier.name if tier else "not in the tier table") + (" *" if method == POST else "")
        shown = f"{minutes[method]:.2f}" if rate else "?"
        log(f"  {method:<22}{count:>8,}  {name:<36}{rate or '?':>8}{shown:>9}")
    log(
        f"  * at the floor, {FLOOR_POSTS_PER_MINUTE}/min across the workspace (Slack publishes "
        "only 1/s per channel)"
    )
    refused = sum(1 for c in calls if c.status != 200 or not c.response.get("ok"))
    log(f"  total {sum(counts.values()):,} calls, {refused} answered with an error")
    priced = Priced(
        parallel=max(minutes.values(), default=0.0),
        total=sum(minutes.values()),
        floor=counts[POST] / FLOOR_POSTS_PER_MINUTE,
    )
    log(f"priced under the tiers (each method on its own budget): {priced.parallel:.2f} min")
    log(f"priced one method after another (sum): {priced.total:.2f} min")
    floor = f"{counts[POST]:,} chat.postMessage at {FLOOR_POSTS_PER_MINUTE}/min"
    log(f"floor: {floor} = {priced.floor:.2f} min")
    return priced


# -- the running bot on a manual clock -----------------------------------------------------------


NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Timeline:
    """`followup run`'s schedule from its start at `origin`: dispatch every tick, overdue
    every minute, the directory every `REFRESH` (read at start-up already).

    A pass runs only when something is due for it (a follow-up claimable; a reminder, or a
    lead notice when someone has a lead): any other pass finds nothing and calls nothing.
    """

    deps: Deps
    clock: ManualClock
    origin: datetime
    dispatch_passes: int = 0
    overdue_passes: int = 0
    dispatch_seconds: float = 0.0
    overdue_seconds: float = 0.0
    """Wall time of the passes (the bot's own work, not the simulated time)."""

    def run(self, start: datetime, end: datetime) -> None:
        """Every pass in [start, end) that has something to do."""
        tick = timedelta(seconds=self.deps.settings.dispatch_interval_seconds)
        now = _ceil(start, self.origin, tick)
        next_read = max(_ceil(start, self.origin, REFRESH), self.origin + REFRESH)
        while now < end:
            self.clock.set(now)
            if now >= next_read:
                sync_directory(self.deps)  # the scheduler's directory job
                next_read += REFRESH
            claimable, overdue = self._due()
            started = time.perf_counter()
            if claimable <= now:
                dispatch_pass(self.deps)
                self.dispatch_passes += 1
            self.dispatch_seconds += time.perf_counter() - started
            started = time.perf_counter()
            if overdue <= now and (now - self.origin) % MINUTE == timedelta(0):
                overdue_pass(self.deps)
                self.overdue_passes += 1
            self.overdue_seconds += time.perf_counter() - started
            claimable, overdue = self._due()
            step = min(claimable, overdue, next_read)
            now = max(now + tick, _ceil(step, self.origin, tick) if step < end else end)

    def _due(self) -> tuple[datetime, datetime]:
        """When a dispatch pass next finds something to claim, and when an overdue pass next
        finds a reminder (or, when anyone has a lead, a lead notice) to send: on its grid."""
        sent = (FollowUp.state == "sent") & FollowUp.assignee_id.is_not(None)
        with self.deps.session_factory() as session:
            leads = session.scalar(
                select(func.count()).where(Agent.is_lead.is_(True) | Agent.lead_id.is_not(None))
            )
            stamps = [(FollowUp.remind_at, FollowUp.reminded_at)]
            if leads:
                stamps.append((FollowUp.lead_at, FollowUp.lead_notified_at))
            overdue = [
                session.scalar(select(func.min(at)).where(sent, stamp.is_(None)))
                for at, stamp in stamps
            ]
            claimable = [
                session.scalar(
                    select(func.min(FollowUp.due_at)).where(FollowUp.state == "planned")
                ),
                session.scalar(
                    select(func.min(FollowUp.lease_until)).where(FollowUp.state == "claimed")
                ),
            ]
        return (
            min((_aware(t) for t in claimable if t is not None), default=NEVER),
            min((_ceil(_aware(t), self.origin, MINUTE) for t in overdue if t), default=NEVER),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ceil(moment: datetime, origin: datetime, step: timedelta) -> datetime:
    """The first point of the grid origin + k * step at or after `moment`."""
    if moment <= origin:
        return origin
    return origin + step * math.ceil((moment - origin) / step)


# -- people and cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user: str
    email: str
    zone: str


def add_people(sandbox: SlackSandbox, count: int, prefix: str) -> list[Person]:
    """`count` Slack users, spread over ZONES in turn."""
    people = []
    for n in range(count):
        user = f"U0{prefix}{n:06d}"
        person = Person(user, f"{user.lower()}@example.com", ZONES[n % len(ZONES)])
        sandbox.add_user(user, name=f"agent{n}", email=person.email, tz=person.zone)
        people.append(person)
    return people


def team_of(zone: str) -> str:
    return "support-" + zone.rsplit("/", 1)[1].lower().replace("_", "-")


def add_teams(deps: Deps, calendars: dict[str, WorkingCalendar]) -> None:
    """A team per slug on its calendar, as `followup teams` sets one."""
    with deps.session_factory.begin() as session:
        for slug, calendar in calendars.items():
            fields = {"name": slug, **team_calendar_fields(calendar)}
            case_store.team_for(session, slug, fields, deps.clock.now())


def morning(deps: Deps, day: date, zone: str) -> datetime:
    """The start of the policy's working day `day` in `zone`."""
    return datetime.combine(day, deps.policy.calendar.start, tzinfo=ZoneInfo(zone))


def close_cases(deps: Deps, owners: Sequence[tuple[Person, datetime, str]], tag: str) -> list[int]:
    """Accept a case per (owner, due, team), closed CLOSED_BEFORE_DUE before it is due; the
    follow-ups planned."""
    planned: list[int] = []
    with deps.session_factory.begin() as session:
        for n, (owner, due, team) in enumerate(owners):
            closed = ClosedCase(
                source="generic",
                external_id=f"{tag}-{n}",
                subject=f"Invoice question number {n}",
                resolution="Explained the invoice line and corrected the plan",
                closed_at=due - CLOSED_BEFORE_DUE,
                owner_email=owner.email,
                customer_name=f"Customer {n}",
                team=team,
            )
            accepted = accept_case(session, deps, closed, actor="bench", surface="bench")
            planned += [f.id for f in accepted.planned]
    return planned


def due_in_mornings(
    deps: Deps, people: Sequence[Person], day: date
) -> list[tuple[Person, datetime, str]]:
    """Each person's follow-up due in their first working hours of `day`, in their team."""
    per_zone = math.ceil(len(people) / len(ZONES))
    return [
        (
            p,
            morning(deps, day, p.zone) + MORNING_SPREAD * (n // len(ZONES)) / per_zone,
            team_of(p.zone),
        )
        for n, p in enumerate(people)
    ]


# -- the two days --------------------------------------------------------------------------------


@dataclass
class Day:
    title: str
    start: datetime
    followups: list[int] = field(default_factory=list)
    calls: list[RecordedCall] = field(default_factory=list)


def days(folder: Path, count: int, log: Callable[[str], None]) -> tuple[bool, list[str]]:
    """First contact, then two days later; (every DM delivered once, summary lines)."""
    clock = ManualClock(datetime.combine(MONDAY, datetime.min.time(), tzinfo=UTC))
    with SlackSandbox(bot_token="xoxb-bench-budget", clock=lambda: clock.now().timestamp()) as sb:
        url, seeder = bench_dispatch.new_database(folder, "days.db", clock.now())
        deps = build_deps(Settings.from_env(bench_dispatch.bot_env(url, sb)), clock)
        sb.add_channel("C0TRIAGE", "triage")
        people = add_people(sb, count, "N")
        add_teams(deps, {team_of(z): replace(deps.policy.calendar, tz=z) for z in ZONES})
        first, later = (
            Day(title, min(morning(deps, day, z) for z in ZONES).astimezone(UTC) - LEAD_IN)
            for title, day in (("first contact", MONDAY), ("two days later", MONDAY + LATER))
        )
        clock.set(first.start)
        started = time.monotonic()
        first.followups = close_cases(deps, due_in_mornings(deps, people, MONDAY), "N")
        log(f"accepted {count:,} cases of new agents in {time.monotonic() - started:.1f} s")
        sb.reset_calls()
        check_slack(deps)  # `followup run` starts: the token, then the directory
        read_directory(deps)
        timeline = Timeline(deps, clock, origin=first.start)
        timeline.run(first.start, first.start + timedelta(days=1))
        first.calls = list(sb.calls)
        timeline.run(first.start + timedelta(days=1), later.start)
        between = sb.calls[len(first.calls) :]
        mark = len(sb.calls)
        later.followups = close_cases(deps, due_in_mornings(deps, people, MONDAY + LATER), "L")
        timeline.run(later.start, later.start + timedelta(days=1))
        later.calls = sb.calls[mark:]
        delivery = bench_dispatch.check_delivery(sb, deps, first.followups + later.followups)
        with deps.session_factory() as session:
            unreminded = session.scalar(
                select(func.count()).select_from(FollowUp).where(FollowUp.reminded_at.is_(None))
            )
        zones = {sb.im_channel(p.user): p.zone for p in people}  # after the run: no side effect
        deps.engine.dispose()
        seeder.engine.dispose()
    summary = [report_day(day, count, zones, log) for day in (first, later)]
    shown = ", ".join(f"{m} {n:,}" for m, n in Counter(c.method for c in between).items())
    log(f"== between the two days (counted in neither): {shown or 'no calls'}")
    log(
        f"passes run over the three days: {timeline.dispatch_passes:,} dispatch "
        f"({timeline.dispatch_seconds:.0f} s), {timeline.overdue_passes:,} overdue "
        f"({timeline.overdue_seconds:.0f} s); the others had nothing due"
    )
    log(f"delivery: {delivery.summary()}; follow-ups never reminded: {unreminded}")
    return delivery.ok and delivery.dms == 2 * count, summary


def report_day(day: Day, count: int, zones: dict[str, str], log: Callable[[str], None]) -> str:
    log(
        f"== {day.title}: {count:,} agents in {len(ZONES)} time zones, one due follow-up each; "
        f"24 h from {day.start:%a %Y-%m-%d %H:%M} UTC"
    )
    posts = [c for c in day.calls if c.method == POST and c.response.get("ok")]
    for kind, threaded in (("DMs", False), ("reminders", True)):
        local = sorted(
            datetime.fromtimestamp(
                float(c.response["ts"]), ZoneInfo(zones[c.response["channel"]])
            ).strftime("%H:%M")
            for c in posts
            if bool(c.args.get("thread_ts")) == threaded
        )
        span = f", from {local[0]} to {local[-1]} in each agent's own time" if local else ""
        log(f"{kind}: {len(local):,}{span}")
    pages = [c for c in day.calls if c.method == "users.list"]
    reads = sum(1 for c in pages if not c.response.get("response_metadata", {}).get("next_cursor"))
    every = f"{REFRESH.total_seconds() / 3600:g}-hourly"
    log(f"directory: {reads} reads (start-up or {every}), {len(pages)} users.list pages")
    priced = price(day.calls, log)
    target = TARGETS[day.title]
    parallel, total = priced.parallel / priced.floor, priced.total / priced.floor
    log(
        f"ratio: {parallel:.2f}x the floor under the tiers (target <= {target}x: "
        f"{verdict(parallel, target)}); {total:.2f}x in sum ({verdict(total, target)})"
    )
    return (
        f"{day.title}: {priced.parallel:.2f} min under the tiers, {priced.total:.2f} in sum, floor "
        f"{priced.floor:.2f}: {parallel:.2f}x {verdict(parallel, target)}, sum {total:.2f}x "
        f"{verdict(total, target)} (target <= {target}x)"
    )


# -- real time under the tiers -------------------------------------------------------------------


def realtime(folder: Path, count: int, log: Callable[[str], None]) -> tuple[bool, str]:
    """`followup dispatch` delivering `count` new agents' due follow-ups under the tiers."""
    log(
        f"== real time under the sandbox's tiers: {count:,} new agents, every follow-up due now; "
        f"`followup dispatch`, posts capped at {FLOOR_POSTS_PER_MINUTE}/min across the workspace"
    )
    cap = FLOOR_POSTS_PER_MINUTE
    with SlackSandbox(
        bot_token="xoxb-bench-budget", tiers=True, workspace_posts_per_minute=cap
    ) as sb:
        now = datetime.now(UTC)
        url, seeder = bench_dispatch.new_database(folder, "realtime.db", now)
        sb.add_channel("C0TRIAGE", "triage")
        people = add_people(sb, count, "R")
        slug = "support-round-the-clock"
        add_teams(seeder, {slug: bench_dispatch.ALWAYS_AT_WORK})
        due = now - timedelta(minutes=1)
        ids = close_cases(seeder, [(p, due, slug) for p in people], "R")
        sb.reset_calls()
        (folder / "no.env").touch()  # an empty env file: nothing from a .env in the folder
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--env-file", str(folder / "no.env"), "dispatch"],
            env=bench_dispatch.process_env(bench_dispatch.bot_env(url, sb)),
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            raise RuntimeError(f"followup dispatch exited {done.returncode}:\n{done.stderr}")
        window = bench_dispatch.delivery_window(sb)
        delivery = bench_dispatch.check_delivery(sb, seeder, ids)
        calls = sb.calls
        seeder.engine.dispose()
    counts = Counter(c.method for c in calls)
    refused = Counter(c.method for c in calls if c.status == 429)
    log(f"`followup dispatch`: {done.stdout.strip().splitlines()[0]}")
    log("calls: " + ", ".join(f"{m} {n:,}" for m, n in counts.most_common()))
    log("answered 429: " + (", ".join(f"{m} {n:,}" for m, n in refused.items()) or "none"))
    posts = sum(1 for c in calls if c.method == POST and c.status == 200)
    pages = counts["users.list"]
    floor = posts / FLOOR_POSTS_PER_MINUTE * 60
    roster = pages / TIER_2.per_minute * 60
    ratio = window / (floor + roster)
    log(f"first Web API call to last DM: {window:.2f} s")
    log(
        f"floor: {posts:,} chat.postMessage at {FLOOR_POSTS_PER_MINUTE}/min = {floor:.1f} s; "
        f"roster read: {pages} users.list page{'s' * (pages != 1)} at {TIER_2.name} "
        f"({TIER_2.per_minute}/min) = {roster:.1f} s; together {floor + roster:.1f} s"
    )
    log(
        f"ratio: {ratio:.2f}x the floor plus the roster read (target <= {REALTIME_TARGET}x): "
        f"{verdict(ratio, REALTIME_TARGET)}"
    )
    log(f"delivery: {delivery.summary()}")
    once = delivery.ok and delivery.dms == count
    return once, (
        f"real time, {count:,} new agents: {window:.2f} s against {floor + roster:.1f} s, "
        f"{ratio:.2f}x {verdict(ratio, REALTIME_TARGET)} (target <= {REALTIME_TARGET}x); "
        f"every follow-up DMed exactly once: {'yes' if once else 'NO'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000, help="agents in the two days")
    parser.add_argument("--realtime-agents", type=int, default=200)
    parser.add_argument("--skip", nargs="*", default=[], choices=["days", "realtime"])
    args = parser.parse_args()
    if args.agents < 1 or args.realtime_agents < 1:
        parser.error("--agents and --realtime-agents must be at least 1")

    def log(line: str) -> None:
        print(line, flush=True)

    log(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    started = time.monotonic()
    ok, summary = True, []
    with tempfile.TemporaryDirectory(prefix="followup-bench-budget-") as scratch:
        if "days" not in args.skip:
            delivered, lines = days(Path(scratch), args.agents, log)
            ok &= delivered
            summary += lines
        if "realtime" not in args.skip:
            delivered, line = realtime(Path(scratch), args.realtime_agents, log)
            ok &= delivered
            summary.append(line)
    log("== summary")
    for line in summary:
        log(line)
    took = time.monotonic() - started
    log(f"took {took:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    log("OK" if ok else "FAILED: a follow-up was DMed twice or never")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
