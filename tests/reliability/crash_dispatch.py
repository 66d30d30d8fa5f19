"""Crash safety of dispatch: SIGKILL `followup dispatch` at random moments, restart, count DMs.

    .venv/bin/python tests/reliability/crash_dispatch.py [--dms 2000] [--kills 20] [--seed N]

Seeds `--dms` due follow-ups for as many agents (one follow-up each, so each is its own DM) on
a SQLite file, starts the Slack sandbox in this process, then runs
`python -m bot.cli dispatch --now <Monday 10:00 UTC + 11 min x run>` as a subprocess and
SIGKILLs it at a random moment of its dispatch (a random delay after its first Web API call),
`--kills` times, then lets a last run finish. Each run's `--now` is 11 minutes after the
previous one, so the 10-minute leases of a killed run have expired and its claims are retried
(and reconciled against the DM history first). At the end every follow-up id must appear in
exactly one delivered DM's metadata (counted from the sandbox's record of chat.postMessage)
and the database must say every follow-up was sent. Exit status 1 when that fails.
`tests/reliability/test_crash_dispatch.py` runs a small version in the normal suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot import ids
from bot.cases import ClosedCase
from bot.clock import ManualClock
from bot.config import Settings
from bot.intake.accept import accept_case
from bot.runtime.start import build_deps, ensure_schema
from bot.sandbox import SlackSandbox
from db import migrate
from db.models import AuditEntry, FollowUp

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RESTART_STEP = timedelta(minutes=11)
"""Longer than the dispatch lease (10 minutes): a killed run's claims are due again."""
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CrashReport:
    followups: int
    kills: int = 0
    runs: int = 0
    finished_early: int = 0
    dm_calls: int = 0
    dms: int = 0
    duplicates: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    not_sent_in_db: int = 0
    reconciled: int = 0
    retried_claims: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.lost and self.not_sent_in_db == 0

    def summary(self) -> str:
        return (
            f"follow-ups {self.followups}, runs {self.runs}, kills {self.kills} "
            f"(runs that ended before their kill: {self.finished_early}), "
            f"DMs {self.dms} ({self.dm_calls} chat.postMessage calls answered ok), "
            f"duplicates {len(self.duplicates)}, lost {len(self.lost)}, "
            f"not 'sent' in the database {self.not_sent_in_db}, "
            f"reconciled from DM history {self.reconciled}, "
            f"follow-ups claimed more than once {self.retried_claims}, "
            f"{self.seconds:.1f} s"
        )


def seed(sandbox: SlackSandbox, database_url: str, count: int) -> list[int]:
    """`count` agents in the sandbox and the database, one follow-up each due Monday 10:00."""
    env = env_for(database_url, sandbox)
    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    clock = ManualClock(FRIDAY_10_UTC)
    deps = replace(build_deps(settings, clock), worker="seeder")
    ensure_schema(deps)
    users = [f"U0CRASH{n:05d}" for n in range(count)]
    for n, user in enumerate(users):
        sandbox.add_user(user, name=f"agent{n}", email=f"agent{n}@example.com")
    sandbox.add_channel("C0TRIAGE", "triage")
    with deps.session_factory.begin() as session:
        for n, user in enumerate(users):
            closed = ClosedCase(
                source="generic",
                external_id=f"CRASH-{n}",
                subject=f"Billing question number {n}",
                resolution="Explained the invoice line and corrected the plan",
                closed_at=FRIDAY_10_UTC,
                owner_slack_id=user,
            )
            accept_case(session, deps, closed, actor="test", surface="test")
    with deps.session_factory() as session:
        followup_ids = list(session.scalars(select(FollowUp.id)))
        due = set(session.scalars(select(FollowUp.due_at)))
    deps.engine.dispose()
    if len(followup_ids) != count or due != {MONDAY_10_UTC}:
        raise RuntimeError(f"seeding made {len(followup_ids)} follow-ups due at {due}")
    return followup_ids


def env_for(database_url: str, sandbox: SlackSandbox) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": "sandbox-signing-secret-0123456789",
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "LOG_LEVEL": "WARNING",
    }


def nudged_ids(sandbox: SlackSandbox) -> tuple[list[int], int]:
    """Follow-up ids named by every nudge the sandbox accepted (duplicates kept), and the
    number of such DMs."""
    found: list[int] = []
    dms = 0
    for call in sandbox.calls_to("chat.postMessage"):
        if call.status != 200 or not call.response.get("ok"):
            continue
        metadata: Any = call.args.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata.get("event_type") != ids.METADATA_NUDGE:
            continue
        dms += 1
        found.extend(int(i) for i in metadata["event_payload"]["followup_ids"])
    return found, dms


def _api_calls(sandbox: SlackSandbox) -> int:
    return len(sandbox.calls)


def run_dispatch(
    env: dict[str, str],
    workdir: Path,
    now: datetime,
    sandbox: SlackSandbox,
    kill_after: float | None,
    timeout: float,
) -> tuple[bool, str]:
    """One `followup dispatch` run; SIGKILLed `kill_after` seconds after its first Web API
    call when given. Returns (killed, output)."""
    (workdir / "no.env").touch()  # an empty env file: nothing from a .env in the folder
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "--env-file",
        str(workdir / "no.env"),
        "dispatch",
        "--now",
        now.isoformat(),
    ]
    calls_before = _api_calls(sandbox)
    process = subprocess.Popen(
        command,
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if kill_after is not None:
        deadline = time.monotonic() + timeout
        while _api_calls(sandbox) == calls_before and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        time.sleep(kill_after)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=timeout)
            return True, ""
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"dispatch exited {process.returncode}:\n{output}")
    return False, output


def crash_test(
    dms: int,
    kills: int,
    *,
    seed_value: int | None = None,
    window: float = 1.5,
    post_delay: float = 0.0,
    workdir: Path | None = None,
    timeout: float = 300.0,
    log: Any = None,
) -> CrashReport:
    """The whole experiment; see the module docstring."""
    rng = random.Random(seed_value)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="followup-crash-") as scratch:
        folder = workdir or Path(scratch)
        database_url = f"sqlite:///{folder / 'crash.db'}"
        with SlackSandbox(bot_token="xoxb-crash-test") as sandbox:
            followup_ids = seed(sandbox, database_url, dms)
            if post_delay:
                # Slow posts (a latency, then success): a run's deliveries outlast the kill
                # window, and many kills land after Slack has the DM but before our commit.
                sandbox.fail_next(
                    "chat.postMessage", dms * 2, status=None, error=None, delay=post_delay
                )
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))},
                **env_for(database_url, sandbox),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
            report = CrashReport(followups=dms)
            now = MONDAY_10_UTC
            while report.kills < kills:
                killed, _ = run_dispatch(
                    env, folder, now, sandbox, rng.uniform(0.0, window), timeout
                )
                report.runs += 1
                now += RESTART_STEP
                if killed:
                    report.kills += 1
                else:
                    report.finished_early += 1
                if log:
                    delivered, _ = nudged_ids(sandbox)
                    log(
                        f"run {report.runs}: {'killed' if killed else 'finished'}; "
                        f"{len(set(delivered))}/{dms} delivered so far"
                    )
                if not killed:
                    break  # a whole pass ran: nothing is left for a kill to interrupt
            _, output = run_dispatch(env, folder, now, sandbox, None, timeout)
            report.runs += 1
            if log:
                log(f"final run: {output.strip().splitlines()[0] if output else ''}")
            nudged, report.dms = nudged_ids(sandbox)
            report.dm_calls = report.dms
            counts = Counter(nudged)
            report.duplicates = sorted(i for i, n in counts.items() if n > 1)
            report.lost = sorted(set(followup_ids) - set(counts))
            settings = Settings.from_env(env_for(database_url, sandbox))
            deps = build_deps(settings, ManualClock(now))
            with deps.session_factory() as session:
                states = Counter(session.scalars(select(FollowUp.state)))
                report.not_sent_in_db = sum(n for s, n in states.items() if s != "sent")
                report.retried_claims = int(
                    session.scalar(select(func.count()).where(FollowUp.attempts > 1)) or 0
                )
                sent_audits = session.scalar(
                    select(func.count()).where(AuditEntry.action == "nudge_sent")
                )
            deps.engine.dispose()
            # Every follow-up is recorded either by its own delivery (audited) or by
            # reconciliation with the DM history after a crash (not audited as a send).
            report.reconciled = dms - int(sent_audits or 0) - report.not_sent_in_db
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dms", type=int, default=2000, help="follow-ups, one agent each")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs before the last run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (kill moments)")
    parser.add_argument(
        "--window",
        type=float,
        default=1.5,
        help="kill within this many seconds after the run's first Web API call",
    )
    parser.add_argument(
        "--post-delay",
        type=float,
        default=0.0,
        help="sandbox latency of each chat.postMessage, seconds (slows the runs down)",
    )
    args = parser.parse_args(argv)
    seed_value = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"seed {seed_value}: {args.dms} follow-ups for {args.dms} agents, {args.kills} kills")
    report = crash_test(
        args.dms,
        args.kills,
        seed_value=seed_value,
        window=args.window,
        post_delay=args.post_delay,
        log=lambda line: print(line, flush=True),
    )
    print(report.summary())
    if report.duplicates:
        print(f"sent twice: {report.duplicates[:20]}")
    if report.lost:
        print(f"never sent: {report.lost[:20]}")
    print("OK: every follow-up DMed exactly once" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
