"""Shared by the HTTP benchmarks: run Debian's `wrk` against 127.0.0.1 and read its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    requests: int
    seconds: float
    per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str

    def line(self) -> str:
        errors = f", non-2xx {self.non_2xx}" if self.non_2xx else ""
        errors += f", socket errors {self.socket_errors}" if self.socket_errors else ""
        return (
            f"{self.per_second:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p90 {self.p90_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.1f} ms  ({self.requests} requests in {self.seconds:.1f} s{errors})"
        )


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (as root), then run again")
    return found


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"cannot read wrk's latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, script: Path, *, seconds: int, connections: int, threads: int = 2
) -> WrkResult:
    """`wrk --latency` with a Lua script; only 127.0.0.1 is ever a target."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"benchmarks only target 127.0.0.1, not {url}")
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ)
    out = done.stdout
    percentiles = dict(re.findall(r"^[ \t]*(50|75|90|99)%[ \t]+(\S+)[ \t]*$", out, re.MULTILINE))
    total = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if total is None or rate is None or len(percentiles) != 4:
        raise RuntimeError(f"cannot read wrk's report:\n{out}\n{done.stderr}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.MULTILINE)
    elapsed = float(total.group(2)) * (60 if total.group(3) == "m" else 1)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=elapsed,
        per_second=float(rate.group(1)),
        p50_ms=_ms(percentiles["50"]),
        p90_ms=_ms(percentiles["90"]),
        p99_ms=_ms(percentiles["99"]),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else "",
    )


def lua_string(value: str) -> str:
    """A Lua long-bracket literal holding `value` verbatim."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@contextmanager
def profiled(name: str) -> Iterator[None]:
    """With `BENCH_PROFILE=PREFIX` set, py-spy samples this process (all threads, 50 Hz, idle
    ones too) while the block runs and writes `PREFIX-<name>.raw` (flamegraph's folded
    format); without it, nothing."""
    prefix = os.environ.get("BENCH_PROFILE")
    if not prefix:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    out = f"{prefix}-{name}.raw"
    command = [str(spy), "record", "--pid", str(os.getpid()), "-r", "50", "--idle"]
    spying = subprocess.Popen(
        [*command, "-f", "raw", "-o", out, "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # py-spy attaches before the measured run starts
    try:
        yield
    finally:
        spying.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        _, err = spying.communicate(timeout=60)
        print(f"  profile: {out} ({err.strip().splitlines()[-1] if err.strip() else 'written'})")
