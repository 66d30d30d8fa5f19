"""Benchmark: peak RSS of `followup run` with 1,000,000 pending follow-ups in SQLite.

    .venv/bin/python bench/bench_memory.py [--followups 1000000] [--agents 2000]
        [--due-share 0.01] [--seconds 60] [--interval 5]

Seeds a fresh SQLite file (bulk clones of one really planned follow-up, see
bench_dispatch.seed_bulk) with `--followups` planned follow-ups for `--agents` agents in 20
teams: `--due-share` of them due over the last day (so dispatch has a realistic backlog to
deliver, one DM per agent), half of those already sent with their reminder time passed (so
the overdue job reminds), the rest due over the next 60 days; every team's digest of last
week is due. Then runs the real `followup run` process (HTTP mode, scheduler on, dispatch
every `--interval` s; every job's first pass runs at start-up) against the in-process Slack
sandbox for `--seconds` seconds: start-up, several dispatch passes, the overdue and digest
jobs. Samples VmRSS of /proc/<pid>/status every 50 ms and reads VmHWM (the kernel's peak)
before SIGTERM. Baseline, in the same run: the same process for the same time on an empty
(migrated) database. Target: peak < 200 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.sandbox import SlackSandbox  # noqa: E402
from db.models import Digest, FollowUp  # noqa: E402


def bench_dispatch() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_dispatch", Path(__file__).with_name("bench_dispatch.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dispatch"] = module
    spec.loader.exec_module(module)
    return module


def status_kb(pid: int, field: str) -> int:
    """A `kB` field (VmRSS, VmHWM) of /proc/<pid>/status; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_and_sample(
    env: dict[str, str], folder: Path, seconds: float, sandbox: SlackSandbox
) -> tuple[int, int, list[tuple[float, int]], str]:
    """`followup run` for `seconds` once it has started (its auth.test reached the sandbox):
    (VmHWM kB, max sampled VmRSS kB, samples, output)."""
    (folder / "no.env").touch()  # an empty env file: nothing from a .env in the folder
    command = [sys.executable, "-m", "bot.cli", "--env-file", str(folder / "no.env"), "run"]
    checks = len(sandbox.calls_to("auth.test"))
    process = subprocess.Popen(
        command, env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while len(sandbox.calls_to("auth.test")) == checks and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    started = time.monotonic()
    samples: list[tuple[float, int]] = []
    hwm = 0
    while time.monotonic() - started < seconds and process.poll() is None:
        samples.append((time.monotonic() - started, status_kb(process.pid, "VmRSS")))
        hwm = max(hwm, status_kb(process.pid, "VmHWM"))
        time.sleep(0.05)
    hwm = max(hwm, status_kb(process.pid, "VmHWM"))
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    if process.returncode not in (0, None):
        raise RuntimeError(f"followup run exited {process.returncode}:\n{output[-3000:]}")
    return hwm, max(kb for _, kb in samples), samples, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=int, default=5, help="FOLLOWUP_DISPATCH_SECONDS")
    args = parser.parse_args()
    bench = bench_dispatch()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="followup-bench-memory-") as scratch:
        folder = Path(scratch)
        with SlackSandbox(bot_token="xoxb-bench-memory") as sandbox:
            now = datetime.now(UTC).replace(microsecond=0)
            # Baseline: the same process on an empty, migrated database.
            empty_url, empty = bench.new_database(folder, "empty.db", now)
            empty.engine.dispose()
            env = {
                "PORT": "0",
                "HOST": "127.0.0.1",
                "FOLLOWUP_DISPATCH_SECONDS": str(args.interval),
                "DIGEST_CHANNEL": "C0DIGEST",
            }
            sandbox.add_channel("C0DIGEST", "digest")
            base_hwm, base_rss, _, _ = run_and_sample(
                bench.process_env(bench.bot_env(empty_url, sandbox, **env)),
                folder,
                args.seconds,
                sandbox,
            )
            url, seeder = bench.new_database(folder, "million.db", now)
            due_count = int(args.followups * args.due_share)
            later = args.followups - due_count
            day, horizon = timedelta(days=1), timedelta(days=60)
            due = [now - day + day * k / max(1, due_count) for k in range(due_count)]
            due += [now + timedelta(minutes=10) + horizon * k / later for k in range(later)]
            started = time.monotonic()
            seeded = bench.seed_bulk(
                seeder,
                sandbox,
                due,
                agents=args.agents,
                prefix="M",
                team_created=now - timedelta(days=28),
            )
            # Half the due ones went out earlier and are overdue now: the overdue job reminds.
            sent_ids = seeded.followup_ids[: due_count // 2]
            with seeder.session_factory.begin() as session:
                for start in range(0, len(sent_ids), 5000):
                    chunk = sent_ids[start : start + 5000]
                    session.execute(
                        update(FollowUp)
                        .where(FollowUp.id.in_(chunk))
                        .values(
                            state="sent",
                            sent_at=FollowUp.due_at,
                            remind_at=now - timedelta(minutes=5),
                            slack_ts="1700000000.000100",
                        )
                    )
            print(
                f"seeded {args.followups:,} follow-ups ({due_count:,} due over the last day, "
                f"{len(sent_ids):,} of them sent and overdue) for {args.agents:,} agents in "
                f"{time.monotonic() - started:.0f} s; database "
                f"{Path(url.removeprefix('sqlite:///')).stat().st_size / 2**20:.0f} MB"
            )
            sandbox.reset_calls()
            hwm, rss, samples, output = run_and_sample(
                bench.process_env(bench.bot_env(url, sandbox, **env)), folder, args.seconds, sandbox
            )
            with seeder.session_factory() as session:
                states = {
                    str(state): int(count)
                    for state, count in session.execute(
                        select(FollowUp.state, func.count()).group_by(FollowUp.state)
                    )
                }
                digests = session.scalar(
                    select(func.count()).select_from(Digest).where(Digest.state == "posted")
                )
            seeder.engine.dispose()
            posts = sum(1 for c in sandbox.calls_to("chat.postMessage") if c.status == 200)
    dms = len(bench.nudges(sandbox))
    print(
        f"`followup run` {args.seconds:g} s with {args.followups:,} follow-ups: "
        f"peak RSS (VmHWM) {hwm / 1024:.1f} MB, max sampled VmRSS {rss / 1024:.1f} MB"
    )
    print(
        f"  did: {dms:,} nudge DMs, {posts:,} chat.postMessage in all (reminders, digests), "
        f"{digests} digests posted; follow-up states now {states}"
    )
    print(
        f"baseline (the same process, empty database): peak RSS {base_hwm / 1024:.1f} MB, "
        f"max sampled {base_rss / 1024:.1f} MB"
    )
    print(
        f"ratio: {hwm / base_hwm:.2f}x the baseline, +{(hwm - base_hwm) / 1024:.1f} MB "
        f"(target: peak < 200 MB)"
    )
    curve = [f"{t:.0f}s {kb / 1024:.0f}MB" for t, kb in samples[:: max(1, len(samples) // 12)]]
    print("RSS over time: " + ", ".join(curve))
    if "Traceback" in output:
        print(output[-3000:])
    ok = hwm < 200 * 1024 and dms > 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
