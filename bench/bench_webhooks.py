"""Benchmark: closed cases per second in over HTTP (signed, verified, planned), beside a bare app.

    .venv/bin/python bench/bench_webhooks.py [--seconds 15] [--connections 50]
                                             [--database sqlite,postgres]

For each database (a fresh migrated SQLite file; a fresh PostgreSQL database created on
127.0.0.1:5432 and dropped afterwards), starts the real bot (`bot.runtime.start.build_deps` +
`start`: HTTP mode, no scheduler, the system clock, the in-process Slack sandbox as Slack) and
replays, with `wrk` (Debian's package), POSTs to `/webhooks/generic` for `--seconds`. Every
request is a distinct closed case with a real signature: the bodies (a mix of channels,
severities, kinds, B2B accounts and 50 owners) are signed in Python just before the run
(`X-Followup-Signature`, HMAC-SHA256, checked within five minutes) and written to a file that
the wrk script reads at start and walks through, each wrk thread its own share, so no case is
sent twice. Each accepted request verifies the signature, parses, stores the case and plans its
follow-ups with the shipped policy in one transaction, and answers 202. After the run the
cases in the database are counted against wrk's request count.

The baseline, in the same run: a tiny WSGI app that reads the body and answers 202 with a small
JSON body, served by the same `bot.runtime.server.HttpServer` (same thread count) on another
port, fed the same requests. Prints cases/s for each and the ratio. Targets: >= 1,000 cases/s
on SQLite, >= 50% of the bare endpoint.

`BENCH_PROFILE=/tmp/ingest` samples the bot's process with py-spy during each measured run of
ours (`/tmp/ingest-webhooks-sqlite.raw`, ...): the profile quoted in docs/performance.md came
from there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wrk import WrkResult, load_average, profiled, require_wrk, run_wrk

from bot.config import Settings
from bot.runtime.server import HttpServer
from bot.runtime.start import build_deps, ensure_schema, start
from bot.sandbox import SlackSandbox
from db import migrate
from db.models import Case, FollowUp
from handlers.webhooks.generic import sign_generic

BOT_TOKEN = "xoxb-bench"
WEBHOOK_SECRET = "bench-webhook-secret"
PG_ADMIN = os.environ.get(
    "FOLLOWUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CHANNELS = ("email", "phone", "chat", "web")
SEVERITIES = ("low", "normal", "normal", "high", "urgent")
KINDS = ("query", "complaint", "incident", "request")

LUA = """
local lines = {}
local nthreads = 0
local counter = 1

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  for line in io.lines(%(path)s) do
    local stamp, signature, body = line:match("^(%%d+)\\t([^\\t]+)\\t(.*)$")
    lines[#lines + 1] = {stamp, signature, body}
  end
  counter = id + 1
  step = %(threads)d
end

function request()
  local entry = lines[counter]
  if entry == nil then
    counter = id + 1
    entry = lines[counter]
  end
  counter = counter + step
  return wrk.format("POST", "/webhooks/generic", {
    ["Content-Type"] = "application/json",
    ["X-Followup-Timestamp"] = entry[1],
    ["X-Followup-Signature"] = entry[2],
  }, entry[3])
end
"""


def write_bodies(path: Path, prefix: str, count: int, now: datetime) -> None:
    """`count` distinct closed cases, signed now, one `stamp<TAB>signature<TAB>body` a line."""
    stamp = int(now.timestamp())
    with path.open("w", encoding="utf-8") as handle:
        for number in range(count):
            body = json.dumps(
                {
                    "case_id": f"{prefix}-{number}",
                    "subject": f"Refund not showing on the March invoice ({number})",
                    "resolution": "Re-issued the credit note and confirmed it posted",
                    "closed_at": (now - timedelta(minutes=number % 600)).isoformat(),
                    "owner_email": f"agent{number % 50}@example.com",
                    "customer_name": "Priya Shah",
                    "company": "Acme Ltd" if number % 7 == 0 else None,
                    "channel": CHANNELS[number % len(CHANNELS)],
                    "severity": SEVERITIES[number % len(SEVERITIES)],
                    "kind": KINDS[number % len(KINDS)],
                    "b2b": number % 7 == 0,
                    "tags": ["billing"] if number % 3 == 0 else [],
                }
            ).encode()
            headers = sign_generic(WEBHOOK_SECRET, body, stamp)
            signature = headers["X-Followup-Signature"]
            handle.write(f"{stamp}\t{signature}\t{body.decode()}\n")


def write_script(path: Path, bodies: Path, threads: int) -> None:
    quoted = json.dumps(str(bodies))  # a valid Lua string literal for a plain path
    path.write_text(LUA % {"path": quoted, "threads": threads})


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The floor: read the body, answer 202 with a small JSON body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"status": "accepted"}'
    start_response(
        "202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def fresh_database(kind: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    name = f"followup_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def counts(deps: Any) -> tuple[int, int]:
    with deps.session_factory() as session:
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
        planned = session.scalar(select(func.count()).select_from(FollowUp)) or 0
    return cases, planned


def bench_database(kind: str, args: argparse.Namespace, sandbox: SlackSandbox) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = fresh_database(kind, workdir)
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": "bench-signing-secret-0123456789",
                "SLACK_API_URL": sandbox.api_url,
                "DATABASE_URL": url,
                "PORT": "0",
                "HOST": "127.0.0.1",
                "WEBHOOK_SECRET_GENERIC": WEBHOOK_SECRET,
                "HTTP_THREADS": str(args.http_threads),
            }
        )
        migrate.upgrade(settings.database_url)
        deps = build_deps(settings)
        ensure_schema(deps)
        running = start(deps, with_scheduler=False)
        bare = HttpServer(bare_wsgi, "127.0.0.1", 0, settings.http_threads)
        bare.start()
        try:
            ours_url = f"http://127.0.0.1:{running.http.port}/webhooks/generic"
            bare_url = f"http://127.0.0.1:{bare.port}/webhooks/generic"
            script = workdir / "cases.lua"
            bodies = workdir / "cases.tsv"
            run = uuid.uuid4().hex[:6]

            def measure(
                target: str, prefix: str, seconds: int, profile: str | None = None
            ) -> WrkResult:
                # Signed just before each run: the signature's timestamp is good for 5 minutes.
                write_bodies(bodies, f"{run}-{prefix}", args.bodies, datetime.now(UTC))
                write_script(script, bodies, 2)
                if profile is None:
                    return run_wrk(target, script, seconds=seconds, connections=args.connections)
                with profiled(profile):
                    return run_wrk(target, script, seconds=seconds, connections=args.connections)

            measure(ours_url, "warm", 2)
            measure(bare_url, "warm", 2)
            before_cases, before_planned = counts(deps)
            ours = measure(ours_url, "run", args.seconds, profile=f"webhooks-{kind}")
            after_cases, after_planned = counts(deps)
            base = measure(bare_url, "run", args.seconds)
            new_cases = after_cases - before_cases
            per_case = (after_planned - before_planned) / max(new_cases, 1)
            print(f"\n{kind}: POST /webhooks/generic, wrk -t2 -c{args.connections}")
            print(f"  followup   {ours.line()}")
            print(f"  bare WSGI  {base.line()}")
            print(
                f"  distinct cases stored during the run: {new_cases:,} of {ours.requests:,} "
                f"requests, {per_case:.2f} follow-ups planned each; {load_average()}"
            )
            ratio = ours.per_second / base.per_second
            target = " (target >= 1,000/s)" if kind == "sqlite" else ""
            print(
                f"  {ours.per_second:.0f} cases/s{target}, {ratio:.0%} of the bare endpoint "
                f"(target >= 50%): "
                + (
                    "met"
                    if ratio >= 0.5 and (kind != "sqlite" or ours.per_second >= 1000)
                    else "NOT met"
                )
            )
        finally:
            bare.stop()
            running.stop()
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--database", default="sqlite,postgres")
    parser.add_argument("--http-threads", type=int, default=16, help="HTTP_THREADS (default 16)")
    parser.add_argument("--bodies", type=int, default=60_000, help="distinct cases signed per run")
    args = parser.parse_args()
    require_wrk()
    # waitress warns on every queued request under load; the queue is what is measured.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    print(f"bot and bare app: waitress with {args.http_threads} threads; {load_average()}")
    with SlackSandbox(bot_token=BOT_TOKEN) as sandbox:
        for kind in args.database.split(","):
            started = time.perf_counter()
            bench_database(kind.strip(), args, sandbox)
            print(f"  ({time.perf_counter() - started:.0f} s with set-up)")


if __name__ == "__main__":
    main()
