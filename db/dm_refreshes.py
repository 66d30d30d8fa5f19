"""The queue of sent DMs to bring up to date (chat.update): enqueue, claim within a budget,
record Slack's answer. Functions take the session first and never commit.

One row per message (channel, ts). Queuing a waiting message again only raises its `version`:
the sender renders the message's state when it sends, so the latest state wins and a message
queued by many changes is updated once. A change queued while an update is on its way raises
`version` past the one that update rendered, so the message stays due and goes again.

Claims are serialised across instances (a transaction-scoped advisory lock on PostgreSQL,
SQLite's single writer), so the budget a claim enforces is the workspace's, not one process's:
every claim is at most one call to Slack, and it counts the claims made since the window's
start (`claimed_at`) and those still out. A row sent and not queued again stays one window, to
be counted, then a claim deletes it. (A message claimed twice within one window counts once:
it must have changed again within seconds of its update, which a storm does not do.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, case, delete, func, or_, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from db.cases import dialect_insert
from db.models import DmRefresh, FollowUp

REFRESH_CLAIM_LOCK = 0x444D757064617465  # "DMupdate": the advisory lock key of refresh claims


@dataclass(frozen=True)
class Claimed:
    """A message claimed for one update, with the `version` queued when it was claimed."""

    channel: str
    ts: str
    version: int
    attempts: int
    lease_until: datetime


def enqueue(session: Session, messages: Iterable[tuple[str, str]], now: datetime) -> int:
    """Queue these (channel, ts) for an update; one already waiting is only marked changed.
    How many messages were named."""
    keys = sorted(set(messages))  # one order for every writer: no deadlock between two batches
    if not keys:
        return 0
    statement = dialect_insert(session, DmRefresh).values(
        [
            {
                "channel": channel,
                "ts": ts,
                "queued_at": now,
                "version": 1,
                "sent_version": 0,
                "attempts": 0,
            }
            for channel, ts in keys
        ]
    )
    sent = DmRefresh.version == DmRefresh.sent_version
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "ts"],
        set_={
            "version": DmRefresh.version + 1,
            # Still waiting: it keeps its place in the queue. Already sent: it queues anew.
            "queued_at": case((sent, statement.excluded.queued_at), else_=DmRefresh.queued_at),
            "attempts": case((sent, 0), else_=DmRefresh.attempts),
        },
    )
    session.execute(statement)
    return len(keys)


def enqueue_followups(session: Session, followup_ids: Sequence[int], now: datetime) -> int:
    """Queue the DMs that show these follow-ups (those never sent have none); how many."""
    if not followup_ids:
        return 0
    found = session.execute(
        select(FollowUp.slack_channel, FollowUp.slack_ts)
        .where(
            FollowUp.id.in_(list(followup_ids)),
            FollowUp.slack_channel.is_not(None),
            FollowUp.slack_ts.is_not(None),
        )
        .distinct()
    )
    return enqueue(session, [(channel, ts) for channel, ts in found if channel and ts], now)


def claim(
    session: Session,
    now: datetime,
    worker: str,
    lease_until: datetime,
    *,
    window_start: datetime,
    allowance: int,
) -> list[Claimed]:
    """Claim the longest-waiting due messages for `worker`, as many as the budget has room for:
    `allowance` claims since `window_start`, counting those still out however old."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_CLAIM_LOCK)))
    session.execute(
        delete(DmRefresh)
        .where(
            DmRefresh.version == DmRefresh.sent_version,
            DmRefresh.claimed_by.is_(None),
            or_(DmRefresh.claimed_at.is_(None), DmRefresh.claimed_at <= window_start),
        )
        .execution_options(synchronize_session=False)
    )
    out = and_(DmRefresh.claimed_by.is_not(None), DmRefresh.lease_until > now)
    spent = session.scalar(
        select(func.count()).where(or_(DmRefresh.claimed_at > window_start, out))
    )
    room = allowance - int(spent or 0)
    if room <= 0:
        return []
    due = and_(
        DmRefresh.version > DmRefresh.sent_version,
        or_(DmRefresh.lease_until.is_(None), DmRefresh.lease_until <= now),
    )
    keys = [
        (channel, ts)
        for channel, ts in session.execute(
            select(DmRefresh.channel, DmRefresh.ts)
            .where(due)
            .order_by(DmRefresh.queued_at, DmRefresh.channel, DmRefresh.ts)
            .limit(room)
        )
    ]
    if not keys:
        return []
    # Row locks in key order, as `enqueue` takes them (PostgreSQL; SQLite has no row locks).
    session.execute(
        select(DmRefresh.channel)
        .where(tuple_(DmRefresh.channel, DmRefresh.ts).in_(keys))
        .order_by(DmRefresh.channel, DmRefresh.ts)
        .with_for_update()
    )
    claimed = session.execute(
        update(DmRefresh)
        .where(tuple_(DmRefresh.channel, DmRefresh.ts).in_(keys), due)
        .values(claimed_by=worker, claimed_at=now, lease_until=lease_until)
        .returning(DmRefresh.channel, DmRefresh.ts, DmRefresh.version, DmRefresh.attempts)
        .execution_options(synchronize_session=False)
    )
    by_key = {(c, t): (v, a) for c, t, v, a in claimed}
    return [
        Claimed(channel, ts, *by_key[(channel, ts)], lease_until=lease_until)
        for channel, ts in keys
        if (channel, ts) in by_key
    ]


def _ours(claimed: Claimed, worker: str) -> Any:
    return and_(
        DmRefresh.channel == claimed.channel,
        DmRefresh.ts == claimed.ts,
        DmRefresh.claimed_by == worker,
    )


def mark_sent(session: Session, claimed: Claimed, worker: str) -> bool:
    """The version claimed is done: Slack updated it, or never will (gone, given up). False
    when the claim was no longer ours (its lease ran out and another took it)."""
    result = session.execute(
        update(DmRefresh)
        .where(_ours(claimed, worker))
        .values(sent_version=claimed.version, attempts=0, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def retry_later(
    session: Session, claimed: Claimed, worker: str, at: datetime, *, failed: bool = True
) -> bool:
    """Give the claim back, claimable again from `at`; `failed`: count a failed attempt.
    False when the claim was no longer ours."""
    values: dict[str, Any] = {"claimed_by": None, "lease_until": at}
    if failed:
        values["attempts"] = DmRefresh.attempts + 1
    result = session.execute(
        update(DmRefresh)
        .where(_ours(claimed, worker))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def waiting(session: Session) -> int:
    """How many messages are due for an update (claimed or not)."""
    due = select(func.count()).where(DmRefresh.version > DmRefresh.sent_version)
    return int(session.scalar(due) or 0)
