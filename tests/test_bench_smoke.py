"""Every benchmark under bench/ still runs, at a tiny size: its figures are not checked here
(that is what running it for real is for), only that it completes, checks its own results
(0 duplicates, 0 lost, ...) and prints its baseline beside them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.realclock  # starts processes that read the real clock

ROOT = Path(__file__).resolve().parent.parent


def run_bench(name: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "BENCH_PROFILE": ""},
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_import_benchmark_runs() -> None:
    out = run_bench("bench_import.py", "--rows", "300")
    assert "imported 300, duplicates 0, rejected 0" in out
    assert "baseline (csv + bare sqlite3 executemany)" in out


def test_the_digest_benchmark_runs() -> None:
    out = run_bench("bench_digest.py", "--week-rows", "200", "--small", "1000", "--large", "2000")
    assert "large / small history" in out and "digest / baseline" in out


def test_the_dispatch_benchmark_runs_and_finds_no_duplicate_and_nothing_lost() -> None:
    out = run_bench(
        "bench_dispatch.py",
        *("--followups", "40", "--agents", "8", "--rate", "50", "--burst", "5"),
        *("--skip", "lateness"),
    )
    assert "duplicates 0, lost 0, not 'sent' in the database 0" in out
    assert "baseline N/R" in out and out.rstrip().endswith("OK")


def test_the_memory_benchmark_runs() -> None:
    out = run_bench("bench_memory.py", "--followups", "2000", "--agents", "20", "--seconds", "2")
    assert "baseline (the same process, empty database)" in out and out.rstrip().endswith("OK")


def test_the_slack_budget_benchmark_runs() -> None:
    out = run_bench("bench_slack_budget.py", "--agents", "40", "--realtime-agents", "10")
    assert "floor: 80 chat.postMessage at 600/min" in out  # 40 DMs and 40 reminders a day
    assert "ratio:" in out and "the floor plus the roster read" in out
    assert out.rstrip().endswith("OK")


wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)


@wrk
def test_the_webhook_benchmark_runs() -> None:
    out = run_bench(
        "bench_webhooks.py", "--database", "sqlite", "--seconds", "1", "--bodies", "3000"
    )
    assert "bare WSGI" in out and "of the bare endpoint" in out


@wrk
def test_the_slack_benchmark_runs() -> None:
    out = run_bench(
        "bench_slack.py",
        *("--seconds", "1", "--warmup", "0", "--followups", "20"),
        *("--connections", "2", "--paced", "20"),
        timeout=240,
    )
    assert "summary (saturating" in out and "summary (paced" in out
