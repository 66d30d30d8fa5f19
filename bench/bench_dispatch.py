"""Benchmark: dispatch of 10,000 due follow-ups for 2,000 agents to the Slack sandbox.

    .venv/bin/python bench/bench_dispatch.py [--followups 10000] [--agents 2000]
        [--rate 100] [--burst 10] [--lateness-window 180] [--interval 30] [--skip ...]

Three parts, each against the in-process Slack sandbox (`bot.sandbox.SlackSandbox`, real HTTP),
with the follow-ups seeded straight into a fresh SQLite file (one real `accept_case` gives the
template row, the rest are bulk-inserted clones, so seeding 1,000,000 takes seconds, not hours):

1. **Throughput**: every follow-up due at once (Monday 10:00 UTC, inside working hours); one
   `followup dispatch --now ...` subprocess (the real pass: claims, batching one DM per agent,
   drafting, leases, audit) delivers them. DMs/s over the delivery window (first Web API call
   to last DM) beside the baseline measured in the same run: the very same chat.postMessage
   calls (channel, text, blocks, metadata, replayed from the sandbox's record) from a bare
   slack_sdk WebClient with the same retry handlers and the same 8 threads, in a subprocess.
2. **Rate-limited**: the same seeding on a fresh database, the sandbox answering 429 with
   `Retry-After` beyond `--rate` chat.postMessage calls a second (bursts of `--burst`).
   Total time (first call to last DM) beside N/R, N being the number of DMs (one per agent).
3. **Lateness**: `followup run` (the real process: scheduler on, dispatch every `--interval`
   seconds, the shipped default being 30) with the follow-ups due over the next
   `--lateness-window` seconds of real time (a third of them at its first second, as when a
   morning's touches come due together, the rest spread evenly), every agent in working hours.
   Lateness of each follow-up = the DM's Slack ts - its due time; max and p99, beside the
   polling interval (the lateness a dispatcher costing nothing would show at worst).

`BENCH_PROFILE=/tmp/dispatch.raw` runs each `followup dispatch` under `py-spy record -f raw`
(pip install py-spy): the profile quoted in docs/performance.md came from there.

Every part checks, from the sandbox's record and the nudges' metadata: each follow-up in
exactly one DM (0 duplicates, 0 lost) and every follow-up `sent` in the database. Exit
status 1 if one of them fails. bench_memory.py and tests/reliability/two_instances.py reuse
`seed_bulk` from here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import ids  # noqa: E402
from bot.cases import ClosedCase  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.deps import Deps  # noqa: E402
from bot.intake.accept import accept_case  # noqa: E402
from bot.planning.plan import team_calendar_fields  # noqa: E402
from bot.rules.working_hours import WorkingCalendar  # noqa: E402
from bot.runtime.start import build_deps, ensure_schema  # noqa: E402
from bot.sandbox import SlackSandbox  # noqa: E402
from db import migrate  # noqa: E402
from db.models import Agent, Case, FollowUp, Team  # noqa: E402

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CHUNK = 5000
THREADS = 8
"""bot.dispatch.dispatcher.dispatch_pass's default delivery threads; the baseline uses as many."""


# -- seeding (shared with bench_memory.py and tests/reliability/two_instances.py) ------------


@dataclass
class Seeded:
    """What `seed_bulk` made: follow-up ids (in due order of their making), users, teams."""

    followup_ids: list[int]
    users: list[str]
    team_ids: list[int]
    digest_channels: list[str] = field(default_factory=list)


def bot_env(database_url: str, sandbox: SlackSandbox, **extra: str) -> dict[str, str]:
    """The environment of a bot process talking to `sandbox` (as the reliability scripts)."""
    return {
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": "sandbox-signing-secret-0123456789",
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def process_env(env: dict[str, str]) -> dict[str, str]:
    """The current environment without Slack/database variables, plus `env`."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    return {**keep, **env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


ALWAYS_AT_WORK = WorkingCalendar.parse("UTC", days="mon-sun", start="00:00", end="24:00")
"""The calendar of agents in real-time runs: at work at every instant, so a run passes on a
Saturday night and across New Year as on a Monday morning."""


def seed_bulk(
    deps: Deps,
    sandbox: SlackSandbox,
    due: Sequence[datetime],
    *,
    agents: int,
    teams: int = 20,
    calendar: WorkingCalendar = ALWAYS_AT_WORK,
    prefix: str = "B",
    warm: bool = True,
    digest_channels: bool = False,
    team_created: datetime | None = None,
) -> Seeded:
    """One follow-up per `due` entry, each on its own case, assigned round-robin to `agents`
    agents in `teams` teams working to `calendar` (users added to the sandbox in its zone).

    The rows are clones of what one real `accept_case` planned (role, rule, template, overdue
    times shifted with the due time). `warm`: the agents' profiles and DM channels are known,
    as for anyone DMed in the last day; otherwise the first DM fetches them (users.info,
    conversations.open). `digest_channels`: each team gets its own digest channel.
    """
    now = deps.clock.now()
    zone = calendar.tz
    # fresh (bot.people.profiles.PROFILE_TTL) when they are due
    fetched = max(due) - timedelta(hours=1)
    users = [f"U0{prefix}{n:06d}" for n in range(agents)]
    for n, user in enumerate(users):
        sandbox.add_user(user, name=f"agent{n}", email=f"{user.lower()}@example.com", tz=zone)
    sandbox.add_channel("C0TRIAGE", "triage")
    channels = [f"C0DIG{prefix}{t:04d}" for t in range(teams)] if digest_channels else []
    for t, channel in enumerate(channels):
        sandbox.add_channel(channel, f"digest-{prefix.lower()}-{t}")
    template = _template_row(deps, users[0])
    with deps.session_factory.begin() as session:
        team_ids = list(
            session.scalars(
                insert(Team).returning(Team.id, sort_by_parameter_order=True),
                [
                    {
                        "slug": f"team-{prefix.lower()}-{t}",
                        "name": f"Team {prefix} {t}",
                        **team_calendar_fields(calendar),
                        "digest_channel": channels[t] if channels else None,
                        "digest_day": "mon",
                        "digest_time": "00:00",
                        "created_at": team_created or now,
                    }
                    for t in range(teams)
                ],
            )
        )
        agent_ids = list(
            session.scalars(
                insert(Agent).returning(Agent.id, sort_by_parameter_order=True),
                [
                    {
                        "slack_user_id": user,
                        "email": f"{user.lower()}@example.com",
                        "display_name": f"agent{n}",
                        "team_id": team_ids[n % teams],
                        "is_lead": False,
                        "timezone": zone if warm else None,
                        "timezone_fetched_at": fetched if warm else None,
                        "dm_channel": sandbox.im_channel(user) if warm else None,
                        "created_at": now,
                    }
                    for n, user in enumerate(users)
                ],
            )
        )
    case_template, followup_template = template
    followup_ids: list[int] = []
    for start in range(0, len(due), CHUNK):
        chunk = range(start, min(start + CHUNK, len(due)))
        with deps.session_factory.begin() as session:
            case_ids = list(
                session.scalars(
                    insert(Case).returning(Case.id, sort_by_parameter_order=True),
                    [
                        {
                            **case_template,
                            "external_id": f"{prefix}-{i}",
                            "subject": f"Invoice question number {i}",
                            "owner_id": agent_ids[i % agents],
                            "owner_email": f"{users[i % agents].lower()}@example.com",
                            "team_id": team_ids[(i % agents) % teams],
                            "closed_at": due[i] - timedelta(days=3),
                        }
                        for i in chunk
                    ],
                )
            )
            shift = [due[i] - followup_template["due_at"] for i in chunk]
            rows = []
            for k, i in enumerate(chunk):
                row = dict(followup_template)
                row.update(case_id=case_ids[k], assignee_id=agent_ids[i % agents], due_at=due[i])
                for name in ("remind_at", "lead_at", "missed_at"):
                    if row[name] is not None:
                        row[name] = row[name] + shift[k]
                rows.append(row)
            followup_ids += session.scalars(
                insert(FollowUp).returning(FollowUp.id, sort_by_parameter_order=True), rows
            )
    return Seeded(followup_ids, users, team_ids, channels)


def _template_row(deps: Deps, owner: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan one real case, keep its case and first follow-up as column dicts, delete them."""
    closed = ClosedCase(
        source="generic",
        external_id="TEMPLATE",
        subject="Template",
        resolution="Explained the invoice line and corrected the plan",
        closed_at=deps.clock.now(),
        owner_slack_id=owner,
    )
    with deps.session_factory.begin() as session:
        accepted = accept_case(session, deps, closed, actor="bench", surface="bench")
        case = accepted.case
        assert case is not None
        followup = session.scalars(
            select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.touch)
        ).first()
        if followup is None:
            raise RuntimeError("the policy planned no follow-up for the template case")
        skip_case = {"id", "owner_id", "team_id", "account_manager_id"}
        case_row = {
            c.key: getattr(case, c.key)
            for c in Case.__mapper__.column_attrs
            if c.key not in skip_case
        }
        skip = {"id", "case_id", "assignee_id", "handed_from_id"}
        followup_row = {
            c.key: getattr(followup, c.key)
            for c in FollowUp.__mapper__.column_attrs
            if c.key not in skip
        }
        session.execute(delete(FollowUp).where(FollowUp.case_id == case.id))
        session.execute(delete(Case).where(Case.id == case.id))
        session.execute(delete(Agent).where(Agent.slack_user_id == owner))
    return case_row, followup_row


PG_ADMIN = os.environ.get(
    "FOLLOWUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_DROPS: list[Callable[[], None]] = []
"""PostgreSQL databases made for a run, dropped at its end."""


def new_database(folder: Path, name: str, now: datetime, kind: str = "sqlite") -> tuple[str, Deps]:
    """A migrated database (a SQLite file, or a fresh PostgreSQL database dropped at the end
    of the run) and seeder deps on a ManualClock at `now`."""
    url = f"sqlite:///{folder / name}"
    if kind == "postgres":
        from sqlalchemy import create_engine, text

        database = f"followup_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()

        _DROPS.append(drop)
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    settings = Settings.from_env({"DATABASE_URL": url}, require_slack=False)
    migrate.upgrade(url)
    deps = replace(build_deps(settings, ManualClock(now)), worker="seeder")
    ensure_schema(deps)
    return url, deps


def nudges(sandbox: SlackSandbox) -> list[tuple[float, str, list[int]]]:
    """(Slack ts, channel, follow-up ids) of every nudge DM the sandbox accepted."""
    found = []
    for call in sandbox.calls_to("chat.postMessage"):
        if call.status != 200 or not call.response.get("ok"):
            continue
        metadata: Any = call.args.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata.get("event_type") != ids.METADATA_NUDGE:
            continue
        payload = [int(i) for i in metadata["event_payload"]["followup_ids"]]
        found.append((float(call.response["ts"]), str(call.response["channel"]), payload))
    return found


@dataclass
class Delivery:
    dms: int
    duplicates: list[int]
    lost: list[int]
    not_sent_in_db: int

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.lost and self.not_sent_in_db == 0

    def summary(self) -> str:
        return (
            f"{self.dms} DMs, duplicates {len(self.duplicates)}, lost {len(self.lost)}, "
            f"not 'sent' in the database {self.not_sent_in_db}"
        )


def check_delivery(sandbox: SlackSandbox, deps: Deps, followup_ids: Sequence[int]) -> Delivery:
    """Each follow-up in exactly one DM (sandbox record, metadata) and `sent` in the database."""
    found = nudges(sandbox)
    counts = Counter(i for _, _, batch in found for i in batch)
    with deps.session_factory() as session:
        not_sent = session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.state != "sent")
        )
    return Delivery(
        dms=len(found),
        duplicates=sorted(i for i, n in counts.items() if n > 1),
        lost=sorted(set(followup_ids) - set(counts)),
        not_sent_in_db=int(not_sent or 0),
    )


# -- the parts ---------------------------------------------------------------------------------


def run_dispatch_process(
    env: dict[str, str], folder: Path, now: datetime, processes: int = 1
) -> tuple[float, str]:
    """`followup dispatch --now now` in `processes` processes at once, each to the end;
    (wall seconds, the first one's output)."""
    (folder / "no.env").touch()  # an empty env file: nothing from a .env in the folder
    command = [sys.executable, "-m", "bot.cli", "--env-file", str(folder / "no.env")]
    command += ["dispatch", "--now", now.isoformat()]
    profile = os.environ.get("BENCH_PROFILE")  # py-spy's output file: profile the pass
    if profile:
        spy = Path(sys.executable).with_name("py-spy")
        command = [str(spy), "record", "-r", "200", "-f", "raw", "-o", profile, "--", *command]
    started = time.monotonic()
    running = [
        subprocess.Popen(
            command,
            env=process_env(env),
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise RuntimeError(f"followup dispatch exited {process.returncode}:\n{err}")
        outputs.append(out.strip())
    return time.monotonic() - started, outputs[0]


def delivery_window(sandbox: SlackSandbox) -> float:
    """Seconds from the first Web API call to the last accepted chat.postMessage."""
    calls = sandbox.calls
    posted = [c.time for c in calls if c.method == "chat.postMessage" and c.status == 200]
    return max(posted) - min(c.time for c in calls)


def throughput(
    folder: Path,
    count: int,
    agents: int,
    warm: bool,
    log: Callable[[str], None],
    database: str = "sqlite",
    processes: int = 1,
) -> bool:
    due = [MONDAY_10_UTC] * count
    with SlackSandbox(bot_token="xoxb-bench-dispatch") as sandbox:
        url, seeder = new_database(folder, "throughput.db", FRIDAY_10_UTC, database)
        started = time.monotonic()
        seeded = seed_bulk(seeder, sandbox, due, agents=agents, prefix="T", warm=warm)
        took = time.monotonic() - started
        log(f"seeded {count:,} follow-ups for {agents:,} agents in {took:.1f} s")
        sandbox.reset_calls()
        wall, output = run_dispatch_process(bot_env(url, sandbox), folder, MONDAY_10_UTC, processes)
        window = delivery_window(sandbox)
        delivery = check_delivery(sandbox, seeder, seeded.followup_ids)
        posts = [c for c in sandbox.calls_to("chat.postMessage") if c.status == 200]
        calls = [{"channel": c.args["channel"], **_post_args(c.args)} for c in posts]
        baseline = run_baseline(sandbox, calls, folder)
        seeder.engine.dispose()
    ours = delivery.dms / window
    floor = len(calls) / baseline
    log(f"`followup dispatch`: {output.splitlines()[0]}")
    log(
        f"dispatch: {delivery.dms:,} DMs ({count:,} follow-ups) in {window:.2f} s = "
        f"{ours:,.0f} DMs/s, {count / window:,.0f} follow-ups/s "
        f"(process wall time with start-up {wall:.2f} s = {delivery.dms / wall:,.0f} DMs/s); "
        f"{'warm' if warm else 'cold'} agent profiles; {database}, "
        f"{processes} `followup dispatch` process{'es' if processes > 1 else ''}"
    )
    log(
        f"baseline (bare WebClient, {THREADS} threads, the same {len(calls):,} "
        f"chat.postMessage calls): {baseline:.2f} s = {floor:,.0f} DMs/s"
    )
    log(f"ratio: dispatch runs at {ours / floor:.2f}x the baseline's speed (target >= 300 DMs/s)")
    log(f"delivery: {delivery.summary()}")
    return delivery.ok and delivery.dms == agents


def _post_args(args: dict[str, Any]) -> dict[str, Any]:
    keep = ("text", "blocks", "metadata", "unfurl_links", "unfurl_media")
    return {k: args[k] for k in keep if k in args}


def run_baseline(sandbox: SlackSandbox, calls: list[dict[str, Any]], folder: Path) -> float:
    """Replay `calls` from a bare WebClient in a subprocess; its elapsed seconds."""
    path = folder / "baseline-calls.json"
    path.write_text(json.dumps(calls))
    env = process_env(bot_env("sqlite://", sandbox))
    done = subprocess.run(
        [sys.executable, __file__, "--baseline-worker", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def baseline_worker(path: Path) -> None:
    """The baseline's process: post every call with THREADS threads; print the seconds."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.deps import make_web_client

    calls = json.loads(path.read_text())
    client = make_web_client(Settings.from_env())

    def post(args: dict[str, Any]) -> None:
        client.chat_postMessage(**args)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(post, calls))
    print(time.monotonic() - started)


def rate_limited(
    folder: Path, count: int, agents: int, rate: float, burst: int, log: Callable[[str], None]
) -> bool:
    due = [MONDAY_10_UTC] * count
    with SlackSandbox(bot_token="xoxb-bench-dispatch") as sandbox:
        url, seeder = new_database(folder, "limited.db", FRIDAY_10_UTC)
        seeded = seed_bulk(seeder, sandbox, due, agents=agents, prefix="R")
        sandbox.reset_calls()
        sandbox.rate_limit("chat.postMessage", rate, burst)
        wall, output = run_dispatch_process(bot_env(url, sandbox), folder, MONDAY_10_UTC)
        window = delivery_window(sandbox)
        delivery = check_delivery(sandbox, seeder, seeded.followup_ids)
        throttled = sum(1 for c in sandbox.calls_to("chat.postMessage") if c.status == 429)
        seeder.engine.dispose()
    ideal = delivery.dms / rate
    log(f"`followup dispatch`: {output.splitlines()[0]}")
    log(
        f"rate-limited to {rate:g}/s (bursts of {burst}): {delivery.dms:,} DMs in {window:.2f} s "
        f"(process wall time {wall:.2f} s), {throttled:,} answered 429"
    )
    log(
        f"baseline N/R = {delivery.dms:,}/{rate:g} = {ideal:.2f} s; ratio {window / ideal:.3f}x "
        f"(target <= 1.1x)"
    )
    log(f"delivery: {delivery.summary()}")
    return delivery.ok and delivery.dms == agents


def lateness(
    folder: Path,
    count: int,
    agents: int,
    window: float,
    interval: int,
    spike: float,
    log: Callable[[str], None],
) -> bool:
    lead = 10.0  # seconds from seeding to the first due time: `followup run` starts meanwhile
    with SlackSandbox(bot_token="xoxb-bench-dispatch") as sandbox:
        first_due = datetime.now(UTC) + timedelta(seconds=lead)
        url, seeder = new_database(folder, "lateness.db", first_due - timedelta(days=3))
        spiked = int(count * spike)
        due = [first_due] * spiked + [
            first_due + timedelta(seconds=window * k / max(1, count - spiked))
            for k in range(count - spiked)
        ]
        # Agents' follow-ups spread over the window, as cases close all day long.
        order = sorted(range(count), key=lambda i: (i % agents, i))
        due = [due[i] for i in order]
        seeded = seed_bulk(seeder, sandbox, due, agents=agents, prefix="L")
        due_of = dict(zip(seeded.followup_ids, due, strict=True))
        first_due = min(due)
        log(
            f"{count:,} follow-ups due from {first_due:%H:%M:%S} UTC over {window:g} s "
            f"({spiked:,} at the first second), agents at work round the clock"
        )
        env = bot_env(
            url,
            sandbox,
            PORT="0",
            HOST="127.0.0.1",
            FOLLOWUP_DISPATCH_SECONDS=str(interval),
        )
        (folder / "no.env").touch()  # an empty env file: nothing from a .env in the folder
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--env-file", str(folder / "no.env"), "run"],
            env=process_env(env),
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.time() + lead + window + interval + 300
            while time.time() < deadline and process.poll() is None:
                delivered = {i for _, _, batch in nudges(sandbox) for i in batch}
                if len(delivered) >= count:
                    break
                time.sleep(1.0)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        delivery = check_delivery(sandbox, seeder, seeded.followup_ids)
        late = sorted(ts - due_of[i].timestamp() for ts, _, batch in nudges(sandbox) for i in batch)
        seeder.engine.dispose()
    if not late:
        log(f"nothing was delivered; `followup run` said:\n{output}")
        return False
    p50, p99 = late[len(late) // 2], late[min(len(late) - 1, math.ceil(len(late) * 0.99) - 1)]
    log(
        f"`followup run`, dispatch every {interval} s: lateness (DM ts - due) "
        f"p50 {p50:.1f} s, p99 {p99:.1f} s, max {late[-1]:.1f} s (target: max <= 60 s); "
        f"early {sum(1 for x in late if x < 0)}"
    )
    log(
        f"baseline: polling every {interval} s alone makes lateness up to {interval} s; "
        f"max/interval = {late[-1] / interval:.2f}x"
    )
    log(f"delivery: {delivery.summary()}")
    return delivery.ok and late[-1] <= 60 and late[0] >= 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=100.0, help="chat.postMessage calls/s")
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--lateness-window", type=float, default=180.0, help="seconds")
    parser.add_argument("--interval", type=int, default=30, help="FOLLOWUP_DISPATCH_SECONDS")
    parser.add_argument("--spike", type=float, default=1 / 3, help="share due at once")
    parser.add_argument("--cold", action="store_true", help="agent profiles not fetched yet")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--processes", type=int, default=1, help="`followup dispatch` processes (throughput)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["throughput", "rate", "lateness"])
    parser.add_argument("--baseline-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(args.baseline_worker)
        return 0

    def log(line: str) -> None:
        print(line, flush=True)

    log(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    ok = True
    with tempfile.TemporaryDirectory(prefix="followup-bench-dispatch-") as scratch:
        folder = Path(scratch)
        try:
            ok = run_parts(args, folder, log)
        finally:
            for drop in _DROPS:
                drop()
    log(f"machine load average {os.getloadavg()[0]:.2f} at the end")
    log("OK" if ok else "FAILED")
    return 0 if ok else 1


def run_parts(args: argparse.Namespace, folder: Path, log: Callable[[str], None]) -> bool:
    ok = True
    if "throughput" not in args.skip:
        log("== throughput (unthrottled)")
        ok &= throughput(
            folder,
            args.followups,
            args.agents,
            not args.cold,
            log,
            args.database,
            args.processes,
        )
    if "rate" not in args.skip:
        log("== rate-limited")
        ok &= rate_limited(folder, args.followups, args.agents, args.rate, args.burst, log)
    if "lateness" not in args.skip:
        log("== lateness under load (`followup run`)")
        ok &= lateness(
            folder,
            args.followups,
            args.agents,
            args.lateness_window,
            args.interval,
            args.spike,
            log,
        )
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
