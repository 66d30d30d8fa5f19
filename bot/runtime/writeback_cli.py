"""`followup writeback list [--failed]` and `followup writeback retry <id>...`: an operator's
view of the helpdesk outbox, and the way to send a failed note again once its cause is fixed
(a token renewed, a ticket found). The running bot's next pass delivers what is retried."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from bot.clock import Clock, SystemClock
from bot.config import Settings
from db import writebacks as outbox
from db.engine import make_engine, make_session_factory
from db.writebacks import Listed

EXAMPLES = """examples:
  followup writeback list --failed
  followup writeback deliver
  followup writeback retry 12
  followup writeback retry --all-failed"""


def add_parsers(sub: Any) -> None:
    """The `writeback` command and its actions, on the top-level subparsers `sub`."""
    command = sub.add_parser(
        "writeback",
        help="notes and reopens owed to the helpdesks: list them, retry failed ones",
        description="The outbox of notes and reopens owed to the helpdesks (docs/writeback.md).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = command.add_subparsers(dest="writeback_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="the latest write-backs, newest first, with their state and last error",
        description="List the latest write-backs (200 at most), newest first.",
        epilog="example:\n  followup writeback list --failed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--failed", action="store_true", help="only those that failed")
    retry = actions.add_parser(
        "retry",
        help="send failed write-backs again (the running bot's next pass delivers them)",
        description=(
            "Make failed write-backs pending again, with their failures forgotten (and release "
            "one held back by a backoff or a Retry-After); the running bot's next pass, within "
            "seconds, delivers them. A retry still looks for its note on the ticket first, so a "
            "note that did land is not added twice; a reopen goes only if the ticket has not "
            "been solved again since."
        ),
        epilog=(
            "examples:\n  followup writeback retry 12 13\n  followup writeback retry --all-failed"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    retry.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="write-back ids (list shows them)"
    )
    retry.add_argument("--all-failed", action="store_true", help="every failed write-back")
    deliver = actions.add_parser(
        "deliver",
        help="deliver what is due now, then exit (the running bot does this every 10 s)",
        description=(
            "Deliver every write-back that is due now, pass after pass until none is left\n"
            "that can go now, and exit: for cron, or to catch up by hand. Safe beside a\n"
            "running bot (rows are claimed under a lease)."
        ),
        epilog="example:\n  followup writeback deliver",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deliver.add_argument("--now", help="pretend it is this ISO 8601 instant (e.g. for tests)")


def run(settings: Settings, args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Returns the exit status: 0, or 1 when an id named is not a failed write-back, 2 for a
    misuse."""
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        if args.writeback_command == "list":
            with factory() as session:
                rows = outbox.listing(session, failed_only=args.failed)
            _print_rows(rows, args.failed, bool(settings.writeback))
            return 0
        if bool(args.ids) == args.all_failed:
            print("followup: writeback retry: give write-back ids, or --all-failed")
            return 2
        now = (clock or SystemClock()).now()
        with factory.begin() as session:
            ids = args.ids or [
                r.id for r in outbox.listing(session, failed_only=True, limit=10_000)
            ]
            status = 0
            for row_id in ids:
                row, done = outbox.retry(session, row_id, now)
                if row is None:
                    print(f"write-back {row_id}: no such write-back")
                    status = 1
                elif done is None:
                    state = "in flight" if row.claimed_by else row.state
                    print(f"write-back {row_id}: {state}, not failed: nothing to retry")
                    status = 1
                else:
                    what = {
                        outbox.RETRIED: "queued again",
                        outbox.RELEASED: "was waiting (a backoff or Retry-After): goes now",
                    }[done]
                    print(f"write-back {row_id} ({row.source} ticket {row.ticket}): {what}")
            if not ids:
                print("no failed write-backs")
        return status
    finally:
        engine.dispose()


def _print_rows(rows: list[Listed], failed_only: bool, configured: bool) -> None:
    if not rows:
        print("no failed write-backs" if failed_only else "no write-backs yet")
        if not configured:
            print("(no helpdesk has write-back configured: see docs/writeback.md)")
        return
    for row in rows:
        what = "note and reopen" if row.reopen else "note"
        if row.event == "handled":
            what = "handled note"
        line = (
            f"{row.id:>6}  {row.state:<9}  {row.source} ticket {row.ticket}  {what}  "
            f"attempts {row.attempts}"
        )
        if row.state == "delivered" and row.result:
            line += f"  -> {row.result}"
        elif row.last_error:
            line += f"  last error: {row.last_error}"
        if row.state == "pending" and row.next_try is not None:
            line += f"  next try {_when(row.next_try)}"
        print(line)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
