"""The write-back pass: deliver the outbox's due rows to their helpdesks, any instance.

- **Claims** are leased (`LEASE`), made in the database across instances, one row per ticket
  at a time and in order (db/writebacks.py). A process that dies mid-delivery leaves its claim
  to a pass after the lease; that pass's delivery counts as a retry, so the vendor module looks
  for the row's marker on the ticket before adding the note again.
- **429**: the vendor's Retry-After (or `DEFAULT_RATE_WAIT`) holds every row of that source,
  in every instance, and the pass leaves that source alone; it does not count as a failure.
- **Transient** failures (5xx, timeouts, no connection) retry with exponential backoff,
  `FIRST_RETRY` doubling to `LAST_RETRY`; after `MAX_FAILURES` the row fails (about two and a
  half hours: an outage of several minutes never fails a row).
- **Permanent** failures (credentials refused, no such ticket, a ticket closed for good) fail
  the row at once: retrying would change nothing until someone fixes the cause.
- A failed row queues its follow-up's DM for an update (the DM says the helpdesk was not
  noted), shows in the lead's App Home, and waits for `followup writeback retry <id>`.
- Nothing here runs in a Slack listener: an agent's click commits the outcome and its outbox
  row together and is acknowledged at once; the helpdesk hears on the next pass.

Log lines carry ids, the source, the ticket id and the vendor's status: never the note, never a
credential (the vendors' errors are built that way: bot/writeback/transport.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from bot import metrics
from bot.deps import Deps
from bot.report import PassReport
from bot.writeback.outbox import settle
from bot.writeback.transport import (
    Http,
    Permanent,
    RateLimited,
    Transient,
    WritebackError,
    wait_seconds,
)
from bot.writeback.vendors.base import Job, Vendor
from bot.writeback.vendors.registry import writer
from db import cases as case_store
from db import dm_refreshes
from db import writebacks as outbox
from db.writebacks import Claimed

log = logging.getLogger("followup.writeback")

INTERVAL_SECONDS = 10
"""The scheduler runs a pass this often: a note lands within seconds of the click."""
BATCH = 25
"""Rows claimed per pass; the next pass takes the rest."""
LEASE = timedelta(minutes=10)
"""A claim's lease, renewed as each row's delivery starts (bot clock)."""
DELIVERY_BUDGET = timedelta(minutes=8)
"""Real time one delivery may take, read-backs included: no call starts after it, so every
call ends well inside the lease (`Http.deadline`)."""
MAX_RATE_WAIT = timedelta(hours=1)
"""The longest a 429's Retry-After holds a helpdesk: a larger (or unreadable) one is capped."""
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(minutes=30)
MAX_FAILURES = 10
"""Failures before a row fails: 30 s, 1, 2, 4, 8, 16 min, then 30 min apart, ~2 h 30 min."""
DEFAULT_RATE_WAIT = timedelta(seconds=60)
"""After a 429 without a readable Retry-After."""


@dataclass
class WritebackReport(PassReport):
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    rate_limited: int = 0
    failed: int = 0
    given_back: int = 0
    unsettled: int = 0
    """Rows that could not even be settled (the database gone mid-pass): leased, retried."""

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}, delivered {self.delivered}, retrying {self.retrying}, "
            f"rate-limited {self.rate_limited}, failed {self.failed}, "
            f"given back {self.given_back}, unsettled {self.unsettled}"
        )


_WRITERS: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Vendor, Http]] = {}
"""One client per source and settings, kept for the process (Help Scout's token lives in it)."""


def _vendor_and_http(source: str, settings: Mapping[str, str]) -> tuple[Vendor, Http]:
    key = (source, tuple(sorted(settings.items())))
    found = _WRITERS.get(key)
    if found is None:
        http = Http()
        found = _WRITERS[key] = (writer(source, settings, http), http)
    return found


def vendor_for(source: str, settings: Mapping[str, str]) -> Vendor:
    """The process's client for `source` (doctor checks through the one the bot uses)."""
    return _vendor_and_http(source, settings)[0]


def deliver_writebacks(deps: Deps) -> WritebackReport:
    """Deliver the due rows of every source with write-back configured; idempotent."""
    report = WritebackReport()
    configured = deps.settings.writeback
    if not configured:
        return report
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        claimed = outbox.claim(
            session, now, deps.worker, now + LEASE, sources=list(configured), limit=BATCH
        )
    report.add(claimed=len(claimed))
    held: dict[str, datetime] = {}
    for item in claimed:
        if item.source in held:
            _give_back(deps, item, report, held[item.source])
            continue
        try:
            until = _renewed_delivery(deps, item, configured[item.source], report)
        except Exception:  # the database, or a bug: the rest of the batch still goes
            log.exception("write-back %s: could not be settled; its lease will expire", item.id)
            report.add(unsettled=1)
            continue
        if until is not None:
            held[item.source] = until
    if claimed:
        log.info("write-back pass: %s", report.summary())
    return report


def _renewed_delivery(
    deps: Deps, item: Claimed, settings: Mapping[str, str], report: WritebackReport
) -> datetime | None:
    """Renew the row's lease for its own delivery (the batch's may be running short), then
    deliver it within a budget shorter than that lease: no other instance can take the row
    while a call of this one may still land."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        ours = outbox.renew(session, item.id, deps.worker, now + LEASE, now)
        if ours:
            item = settle(session, item)
    if not ours:
        log.warning("write-back %s: its claim was taken over before delivery", item.id)
        return None
    vendor, http = _vendor_and_http(item.source, settings)
    http.deadline = time.monotonic() + DELIVERY_BUDGET.total_seconds()
    try:
        return _deliver(deps, item, vendor, report)
    finally:
        http.deadline = None


def deliver_due(deps: Deps) -> WritebackReport:
    """Passes until one claims nothing it can deliver now (`followup writeback deliver`)."""
    total = WritebackReport()
    while True:
        report = deliver_writebacks(deps)
        total.add(**{f.name: getattr(report, f.name) for f in fields(report) if f.type == "int"})
        if report.claimed == 0 or report.claimed == report.given_back:
            return total


def _deliver(deps: Deps, item: Claimed, vendor: Vendor, report: WritebackReport) -> datetime | None:
    """One row; after a 429, until when its source is held (the pass leaves it alone)."""
    job = Job(
        id=item.id,
        source=item.source,
        ticket=item.ticket,
        body=item.body,
        marker=item.marker,
        reopen=item.reopen,
        retried=item.attempts > 1,
        event=item.event,
        detail=item.detail,
        sent_at=deps.clock.now(),
    )
    try:
        done = vendor.deliver(job)
    except RateLimited as limited:
        return _rate_limited(deps, item, limited, report)
    except Permanent as error:
        _fail(deps, item, error, report)
        return None
    except Transient as error:
        _transient(deps, item, error, report)
        return None
    except Exception as error:  # a vendor module's bug must not wedge the outbox
        log.exception("write-back %s to %s raised", item.id, item.source)
        _transient(deps, item, Transient(f"unexpected {type(error).__name__}"), report)
        return None
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        ours = outbox.delivered(session, item.id, deps.worker, done.result, now)
        refresh = [item.follow_up_id] if ours and item.attempts > 1 else []  # it said "failed"
        if ours and item.reopen:
            # The ticket is open in the helpdesk: so is the case here, and its DM says so.
            cancelled = case_store.reopened_by_writeback(
                session, item.case_id, item.follow_up_id, item.created_at, now
            )
            refresh += [item.follow_up_id, *(f.id for f in cancelled if f.slack_ts)]
        dm_refreshes.enqueue_followups(session, sorted(set(refresh)), now)
    if not ours:
        log.warning("write-back %s: delivered after its claim was taken over", item.id)
    log.info(
        "write-back %s delivered to %s ticket %s: %s",
        item.id,
        item.source,
        item.ticket,
        done.result,
        extra={"event": "writeback_delivered", "writeback": item.id, "source": item.source},
    )
    metrics.WRITEBACKS.labels(item.source, "delivered").inc()
    report.add(delivered=1)
    return None


def _rate_limited(
    deps: Deps, item: Claimed, limited: RateLimited, report: WritebackReport
) -> datetime:
    now = deps.clock.now()
    seconds = wait_seconds(limited.retry_after, now)
    if seconds is None:
        wait = DEFAULT_RATE_WAIT
    elif not math.isfinite(seconds) or seconds > MAX_RATE_WAIT.total_seconds():
        wait = MAX_RATE_WAIT
    else:
        wait = max(timedelta(seconds=seconds), timedelta(seconds=1))
    until = now + wait
    with deps.session_factory.begin() as session:
        outbox.retry_later(session, item.id, deps.worker, until, limited.reason, now, failed=False)
        outbox.hold_source(session, item.source, until, now)
    log.warning(
        "write-back %s: %s rate-limited (%s); its rows wait until %s",
        item.id,
        item.source,
        limited.reason,
        until.isoformat(),
    )
    metrics.WRITEBACKS.labels(item.source, "rate_limited").inc()
    report.add(rate_limited=1)
    return until


def _transient(deps: Deps, item: Claimed, error: WritebackError, report: WritebackReport) -> None:
    if item.failures + 1 >= MAX_FAILURES:
        _fail(deps, item, error, report)
        return
    now = deps.clock.now()
    delay = min(LAST_RETRY, FIRST_RETRY * 2**item.failures)
    with deps.session_factory.begin() as session:
        outbox.retry_later(session, item.id, deps.worker, now + delay, error.reason, now)
    log.warning(
        "write-back %s to %s ticket %s failed (%s); retrying in %s",
        item.id,
        item.source,
        item.ticket,
        error.reason,
        delay,
    )
    metrics.WRITEBACKS.labels(item.source, "retrying").inc()
    report.add(retrying=1)


def _fail(deps: Deps, item: Claimed, error: WritebackError, report: WritebackReport) -> None:
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        if outbox.give_up(session, item.id, deps.worker, error.reason, now):
            dm_refreshes.enqueue_followups(session, [item.follow_up_id], now)
    log.error(
        "write-back %s to %s ticket %s failed for good (%s); "
        "`followup writeback retry %s` once fixed",
        item.id,
        item.source,
        item.ticket,
        error.reason,
        item.id,
        extra={"event": "writeback_failed", "writeback": item.id, "source": item.source},
    )
    metrics.WRITEBACKS.labels(item.source, "failed").inc()
    report.add(failed=1)


def _give_back(deps: Deps, item: Claimed, report: WritebackReport, at: datetime) -> None:
    """Release a claim not started: claimable again from `at`, no failure counted."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        outbox.retry_later(
            session, item.id, deps.worker, at, None, now, failed=False, started=False
        )
    report.add(given_back=1)
