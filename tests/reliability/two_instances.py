"""Two instances of `followup run` on one PostgreSQL database: every DM once, one digest.

    .venv/bin/python tests/reliability/two_instances.py [--followups 5000] [--agents 1000]
        [--teams 10] [--interval 1] [--database-url postgresql+psycopg://...]

Makes a fresh PostgreSQL database (on postgres@127.0.0.1:5432 unless `--database-url` names an
empty one), migrates it (`followup db upgrade`), seeds `--followups` follow-ups already due for
`--agents` agents in `--teams` teams, every agent at work round the clock (a mon-sun
00:00-24:00 calendar, so the run passes whatever the day and hour), each team created weeks ago
with its own digest channel, so last week's digest is due. Then starts two real `followup run`
processes (HTTP mode on ports the OS picks, scheduler on, dispatch every `--interval` seconds
through FOLLOWUP_DISPATCH_SECONDS; the digest and overdue jobs have fixed intervals, but every
job's first pass runs at start-up, so both instances reach digest time together) against the
in-process Slack sandbox, waits until the database says everything was sent and every digest
posted, lets them run a few more passes, and stops them with SIGTERM.

Checks, from the sandbox's record of chat.postMessage and the nudges' metadata: every
follow-up in exactly one DM, one DM per agent (batching held under contention), both
instances delivered a share, one digest message per team channel and one posted digest row
per team and week. Exit status 1 when one fails.
`tests/reliability/test_two_instances.py` runs a small version in the normal suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def bench_module() -> ModuleType:
    """bench/bench_dispatch.py: the bulk seeder and the sandbox counting helpers."""
    name = "bench_dispatch"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "bench_dispatch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class TwoInstancesReport:
    followups: int
    agents: int
    teams: int
    dms: int = 0
    duplicates: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    not_sent_in_db: int = 0
    per_instance: dict[str, int] = field(default_factory=dict)
    digest_posts: dict[str, int] = field(default_factory=dict)
    digests_posted: int = 0
    exit_codes: list[int | None] = field(default_factory=list)
    seconds_to_deliver: float = 0.0
    output: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.duplicates
            and not self.lost
            and self.not_sent_in_db == 0
            and self.dms == self.agents
            and len(self.per_instance) == 2
            and all(n > 0 for n in self.per_instance.values())
            and len(self.digest_posts) == self.teams
            and all(n == 1 for n in self.digest_posts.values())
            and self.digests_posted == self.teams
            and self.exit_codes == [0, 0]
        )

    def summary(self) -> str:
        shares = ", ".join(f"{n}" for n in sorted(self.per_instance.values(), reverse=True))
        return (
            f"follow-ups {self.followups} for {self.agents} agents: {self.dms} DMs "
            f"(delivered within {self.seconds_to_deliver:.1f} s of start), "
            f"duplicates {len(self.duplicates)}, lost {len(self.lost)}, "
            f"not 'sent' in the database {self.not_sent_in_db}, follow-ups per instance "
            f"[{shares}]; digests: {sum(self.digest_posts.values())} messages in "
            f"{len(self.digest_posts)} of {self.teams} team channels, {self.digests_posted} "
            f"posted rows; exit codes {self.exit_codes}"
        )


def fresh_database(admin_url: str = PG_ADMIN_URL) -> tuple[str, Callable[[], None]]:
    """A new empty PostgreSQL database and the function that drops it."""
    name = f"followup_two_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def two_instances(
    database_url: str,
    followups: int,
    agents: int,
    teams: int,
    *,
    interval: int = 1,
    settle: float = 3.0,
    timeout: float = 300.0,
    post_seconds: float = 0.0,
    workdir: Path,
    log: Callable[[str], None] | None = None,
) -> TwoInstancesReport:
    """The whole experiment on an empty database at `database_url`; see the module docstring.

    `post_seconds` slows every chat.postMessage in the sandbox, so that one instance cannot
    deliver everything before the other has started (a small run would otherwise be over in
    one instance's first pass whenever the second starts a little later)."""
    from bot.clock import ManualClock
    from bot.config import Settings
    from bot.runtime.start import build_deps
    from bot.sandbox import SlackSandbox
    from db import migrate
    from db.models import Digest, FollowUp

    bench = bench_module()
    report = TwoInstancesReport(followups, agents, teams)
    with SlackSandbox(bot_token="xoxb-two-instances") as sandbox:
        env = bench.bot_env(database_url, sandbox)
        settings = Settings.from_env(env)
        migrate.upgrade(settings.database_url)
        now = datetime.now(UTC).replace(microsecond=0)
        seeder = replace(build_deps(settings, ManualClock(now)), worker="seeder")
        due = [now - timedelta(minutes=1)] * followups
        seeded = bench.seed_bulk(
            seeder,
            sandbox,
            due,
            agents=agents,
            teams=teams,
            prefix="TWO",
            digest_channels=True,
            team_created=now - timedelta(days=28),
        )
        if log:
            log(f"seeded {followups} follow-ups for {agents} agents in {teams} teams")
        if post_seconds:
            sandbox.fail_every(
                "chat.postMessage", every=1, status=None, error=None, delay=post_seconds
            )
        run_env = bench.process_env(
            {
                **env,
                "PORT": "0",
                "HOST": "127.0.0.1",
                "FOLLOWUP_DISPATCH_SECONDS": str(interval),
            }
        )
        (workdir / "no.env").touch()  # an empty env file: nothing from a .env in the folder
        command = [sys.executable, "-m", "bot.cli", "--env-file", str(workdir / "no.env"), "run"]
        started = time.monotonic()
        processes = [
            subprocess.Popen(
                command,
                env=run_env,
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            deadline = started + timeout
            while time.monotonic() < deadline:
                if any(p.poll() is not None for p in processes):
                    break
                with seeder.session_factory() as session:
                    unsent = session.scalar(
                        select(func.count()).select_from(FollowUp).where(FollowUp.state != "sent")
                    )
                    posted = session.scalar(
                        select(func.count()).select_from(Digest).where(Digest.state == "posted")
                    )
                if unsent == 0 and posted == teams:
                    report.seconds_to_deliver = time.monotonic() - started
                    break
                time.sleep(0.2)
            # A few more passes of each job: a duplicate sent late would show now.
            time.sleep(settle)
        finally:
            outputs = []
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    outputs.append(process.communicate(timeout=30)[0])
                except subprocess.TimeoutExpired:
                    process.kill()
                    outputs.append(process.communicate()[0])
            report.exit_codes = [p.returncode for p in processes]
            report.output = "\n".join(outputs)
        delivery = bench.check_delivery(sandbox, seeder, seeded.followup_ids)
        report.dms = delivery.dms
        report.duplicates = delivery.duplicates
        report.lost = delivery.lost
        report.not_sent_in_db = delivery.not_sent_in_db
        channels = set(seeded.digest_channels)
        report.digest_posts = dict(
            Counter(
                str(c.args.get("channel"))
                for c in sandbox.calls_to("chat.postMessage")
                if c.status == 200 and c.response.get("ok") and c.args.get("channel") in channels
            )
        )
        with seeder.session_factory() as session:
            report.per_instance = {
                str(worker): int(count)
                for worker, count in session.execute(
                    select(FollowUp.claimed_by, func.count()).group_by(FollowUp.claimed_by)
                )
            }
            rows: list[Any] = list(
                session.execute(select(Digest.team_id, Digest.week, Digest.state))
            )
        report.digests_posted = sum(1 for _, _, state in rows if state == "posted")
        seeder.engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--followups", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--interval", type=int, default=1, help="FOLLOWUP_DISPATCH_SECONDS")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new one)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import tempfile

    drop: Callable[[], None] = lambda: None  # noqa: E731
    url = args.database_url
    if url is None:
        url, drop = fresh_database()
    try:
        with tempfile.TemporaryDirectory(prefix="followup-two-") as scratch:
            report = two_instances(
                url,
                args.followups,
                args.agents,
                args.teams,
                interval=args.interval,
                timeout=args.timeout,
                workdir=Path(scratch),
                log=lambda line: print(line, flush=True),
            )
    finally:
        drop()
    print(report.summary())
    if report.duplicates:
        print(f"sent twice: {report.duplicates[:20]}")
    if report.lost:
        print(f"never sent: {report.lost[:20]}")
    if not report.ok:
        print(report.output[-4000:])
    print("OK: each follow-up DMed once, one digest per team and week" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
