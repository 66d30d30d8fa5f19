"""Follow-up queries: planning inserts, claims with leases, delivery records, queues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from db.cases import dialect_insert
from db.models import Agent, FollowUp


def insert_planned(session: Session, rows: Sequence[dict[str, Any]]) -> list[FollowUp]:
    """Insert planned touches; an existing (case, cycle, touch) is left alone (idempotent)."""
    if not rows:
        return []
    session.execute(
        dialect_insert(session, FollowUp)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["case_id", "cycle", "touch"])
    )
    first = rows[0]
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.case_id == first["case_id"], FollowUp.cycle == first["cycle"])
            .order_by(FollowUp.touch)
        )
    )


CLAIM_LOCK = 0x466F6C6C6F777570  # "Followup": the advisory lock key of dispatch claims


def claim_due(
    session: Session,
    now: datetime,
    worker: str,
    lease_until: datetime,
    agents: int = 100,
    max_rows: int = 2000,
) -> list[int]:
    """Claim every due follow-up of up to `agents` assignees, those due longest first;
    return the claimed ids.

    Whole assignees are claimed at once so one agent's due touches can go out as one DM.
    Claims are serialised across instances (the statements are short; deliveries, the slow
    part, stay parallel): on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
    its single writer (BEGIN IMMEDIATE). Without that, two instances choose the same agents
    before either commits and then race row by row (SKIP LOCKED): one agent's batch is split
    into two DMs, or an instance finds nothing to claim and ends its pass early.

    The assignees come from the oldest due rows (an index range read in due order, stopping
    early), their rows through the assignee index: a claim costs the same whatever the
    backlog, never reading all of it (docs/performance.md).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    if postgres:
        connection.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    scan = {"b_now": now, "b_scan": agents * 8}
    oldest = list(connection.execute(_OLDEST_PLANNED, scan))
    oldest += connection.execute(_OLDEST_EXPIRED, scan)
    oldest.sort(key=lambda row: row[1])
    picked: dict[int | None, None] = {}
    for assignee_id, _ in oldest:
        picked.setdefault(assignee_id, None)
        if len(picked) >= agents:
            break
    if not picked:
        return []
    assigned = [a for a in picked if a is not None]
    claim = _CLAIMS[(postgres, None in picked)]
    found = connection.execute(
        claim,
        {
            "b_now": now,
            "b_assignees": assigned,
            "b_worker": worker,
            "b_lease": lease_until,
            "b_rows": max_rows,
        },
    )
    return list(found.scalars())


def _claim_statements() -> tuple[Any, Any, dict[tuple[bool, bool], Any]]:
    """The claim's statements, built once (the dispatcher runs them every round)."""
    table = cast(Table, FollowUp.__table__)
    c = table.c
    now = bindparam("b_now", type_=c.due_at.type)
    planned_due = and_(c.state == "planned", c.due_at <= now)
    expired = and_(c.state == "claimed", c.lease_until < now)
    oldest_planned = (
        select(c.assignee_id, c.due_at)
        .where(planned_due)
        .order_by(c.due_at)
        .limit(bindparam("b_scan"))
    )
    oldest_expired = (
        select(c.assignee_id, c.due_at).where(expired).order_by(c.due_at).limit(bindparam("b_scan"))
    )
    claims: dict[tuple[bool, bool], Any] = {}
    for locking in (False, True):
        for unassigned in (False, True):
            whose: Any = c.assignee_id.in_(bindparam("b_assignees", expanding=True))
            if unassigned:
                whose = or_(whose, c.assignee_id.is_(None))
            pick = (
                select(c.id)
                .where(whose, or_(planned_due, expired))
                .order_by(c.assignee_id, c.due_at)
                .limit(bindparam("b_rows"))
            )
            if locking:
                pick = pick.with_for_update(skip_locked=True)
            # The rows are due by the pick (locked by it on PostgreSQL, where a row changed
            # meanwhile is re-checked as it is locked): repeating the test out here made
            # SQLite read the whole backlog through the due index to apply it.
            claims[(locking, unassigned)] = (
                update(table)
                .where(c.id.in_(pick.scalar_subquery()))
                .values(
                    state="claimed",
                    claimed_by=bindparam("b_worker"),
                    lease_until=bindparam("b_lease", type_=c.lease_until.type),
                    attempts=c.attempts + 1,
                    updated_at=now,
                )
                .returning(c.id)
            )
    return oldest_planned, oldest_expired, claims


_OLDEST_PLANNED, _OLDEST_EXPIRED, _CLAIMS = _claim_statements()


_FOLLOW_UPS = cast(Table, FollowUp.__table__)
_RECORD_DRAFT = (
    update(_FOLLOW_UPS)
    .where(_FOLLOW_UPS.c.id == bindparam("b_id"))
    .values(
        review_offered=bindparam("b_offered", type_=_FOLLOW_UPS.c.review_offered.type),
        draft_flags=bindparam("b_flags", type_=_FOLLOW_UPS.c.draft_flags.type),
    )
)


def record_drafts(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Store each draft's review decision and specificity flags (`b_id`, `b_offered`,
    `b_flags`), many follow-ups in one executemany."""
    if changes:
        session.connection().execute(_RECORD_DRAFT, list(changes))


_MARK_SENT = (
    update(_FOLLOW_UPS)
    .where(
        _FOLLOW_UPS.c.id == bindparam("b_id"),
        _FOLLOW_UPS.c.state == "claimed",
        _FOLLOW_UPS.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        state="sent",
        slack_channel=bindparam("b_channel"),
        slack_ts=bindparam("b_ts"),
        sent_at=bindparam("b_now", type_=_FOLLOW_UPS.c.sent_at.type),
        lease_until=None,
        updated_at=bindparam("b_now", type_=_FOLLOW_UPS.c.updated_at.type),
        version=_FOLLOW_UPS.c.version + 1,
    )
)


def mark_sent(
    session: Session,
    deliveries: Sequence[tuple[Sequence[int], str, str]],
    worker: str,
    now: datetime,
) -> int:
    """Record the DMs Slack accepted, each (follow-up ids, channel, ts), in one executemany;
    only claims this worker still holds are recorded. How many follow-ups were."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The driver's own executemany, `now` converted once: SQLAlchemy's per-row bind
        # processing was most of the cost of recording (the dispatcher records every DM).
        convert = _FOLLOW_UPS.c.sent_at.type.bind_processor(connection.dialect)
        stamp = convert(now) if convert is not None else now
        rows = [
            (channel, ts, stamp, stamp, followup_id, worker)
            for ids, channel, ts in deliveries
            for followup_id in ids
        ]
        if not rows:
            return 0
        return int(connection.exec_driver_sql(_MARK_SENT_SQLITE, rows).rowcount)
    params = [
        {"b_id": followup_id, "b_worker": worker, "b_channel": channel, "b_ts": ts, "b_now": now}
        for ids, channel, ts in deliveries
        for followup_id in ids
    ]
    if not params:
        return 0
    return int(connection.execute(_MARK_SENT, params).rowcount)


_MARK_SENT_SQLITE = (
    "UPDATE follow_ups SET state = 'sent', slack_channel = ?, slack_ts = ?, sent_at = ?,"
    " lease_until = NULL, updated_at = ?, version = version + 1"
    " WHERE id = ? AND state = 'claimed' AND claimed_by = ?"
)


def set_dm_channels(session: Session, channels: dict[int, str]) -> None:
    """Remember each agent's DM channel (agent id → channel id), learned from a post."""
    for agent_id, channel in channels.items():
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(dm_channel=channel)
            .execution_options(synchronize_session=False)
        )


def mark_reconciled(
    session: Session, ids: Sequence[int], channel: str, ts: str, now: datetime
) -> int:
    """Record a delivery found in Slack's history after a crash (sent before the commit)."""
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed")
        .values(
            state="sent",
            slack_channel=channel,
            slack_ts=ts,
            lease_until=None,
            sent_at=now,
            updated_at=now,
            version=FollowUp.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def release(
    session: Session,
    ids: Sequence[int],
    worker: str,
    due_at: datetime | None,
    now: datetime,
    state: str = "planned",
    *,
    unsent: bool = False,
    **values: Any,
) -> int:
    """Give claimed follow-ups back (optionally due later), e.g. outside working hours.

    `unsent`: this worker knows it posted no DM of them, so this claim does not count as an
    attempt: a first try stays a first try (no DM history read on the next claim), while a claim
    that was already a retry (an earlier worker's post may have reached Slack) stays a retry and
    is still reconciled."""
    changes: dict[str, Any] = {
        "state": state,
        "lease_until": None,
        "claimed_by": None,
        "updated_at": now,
        **values,
    }
    if unsent:  # undo this claim's increment, never an earlier one's
        changes["attempts"] = case((FollowUp.attempts > 0, FollowUp.attempts - 1), else_=0)
    if due_at is not None:
        changes["due_at"] = due_at
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed", FollowUp.claimed_by == worker)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def set_assignee(
    session: Session, ids: Sequence[int], agent: Agent, handed_from: Agent | None = None
) -> None:
    session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids))
        .values(assignee_id=agent.id, handed_from_id=handed_from.id if handed_from else None)
        .execution_options(synchronize_session=False)
    )


def next_touch(session: Session, case_id: int, cycle: int) -> int:
    """The touch number after the highest planned so far in this case's cycle."""
    highest = session.scalar(
        select(func.max(FollowUp.touch)).where(FollowUp.case_id == case_id, FollowUp.cycle == cycle)
    )
    return int(highest or 0) + 1
