"""Follow-up queries: planning inserts, claims with leases, delivery records, queues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, joinedload

from db.cases import _insert
from db.models import Agent, Case, FollowUp


def insert_planned(session: Session, rows: Sequence[dict[str, Any]]) -> list[FollowUp]:
    """Insert planned touches; an existing (case, cycle, touch) is left alone (idempotent)."""
    if not rows:
        return []
    session.execute(
        _insert(session, FollowUp)
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


def _due(now: datetime) -> Any:
    return or_(
        and_(FollowUp.state == "planned", FollowUp.due_at <= now),
        and_(FollowUp.state == "claimed", FollowUp.lease_until < now),
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
    """Claim every due follow-up of up to `agents` assignees; return the claimed ids.

    Whole assignees are claimed at once so one agent's due touches can go out as one DM.
    Claims are serialised across instances (the statement is short; deliveries, the slow
    part, stay parallel): on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
    its single writer (BEGIN IMMEDIATE). Without that, two instances choose the same agents
    before either commits and then race row by row (SKIP LOCKED): one agent's batch is split
    into two DMs, or an instance finds nothing to claim and ends its pass early.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    assignees = (
        select(FollowUp.assignee_id)
        .where(_due(now))
        .group_by(FollowUp.assignee_id)
        .order_by(FollowUp.assignee_id)
        .limit(agents)
    ).scalar_subquery()
    pick = (
        select(FollowUp.id)
        .where(_due(now), or_(FollowUp.assignee_id.in_(assignees), FollowUp.assignee_id.is_(None)))
        .order_by(FollowUp.assignee_id, FollowUp.due_at)
        .limit(max_rows)
    )
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(FollowUp)
        .where(FollowUp.id.in_(pick.scalar_subquery()), _due(now))
        .values(
            state="claimed",
            claimed_by=worker,
            lease_until=lease_until,
            attempts=FollowUp.attempts + 1,
            updated_at=now,
        )
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(statement))


def load_claimed(session: Session, ids: Sequence[int]) -> list[FollowUp]:
    """The claimed follow-ups with their case and assignee loaded."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case).joinedload(Case.team), joinedload(FollowUp.assignee))
            .where(FollowUp.id.in_(ids))
            .order_by(FollowUp.assignee_id, FollowUp.priority.desc(), FollowUp.due_at)
        ).unique()
    )


def mark_sent(
    session: Session, ids: Sequence[int], worker: str, channel: str, ts: str, now: datetime
) -> int:
    """Record delivery of claimed follow-ups (only while this worker still holds them)."""
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed", FollowUp.claimed_by == worker)
        .values(
            state="sent",
            slack_channel=channel,
            slack_ts=ts,
            sent_at=now,
            lease_until=None,
            updated_at=now,
            version=FollowUp.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


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
    **values: Any,
) -> int:
    """Give claimed follow-ups back (optionally due later), e.g. outside working hours."""
    changes: dict[str, Any] = {
        "state": state,
        "lease_until": None,
        "claimed_by": None,
        "updated_at": now,
        **values,
    }
    if due_at is not None:
        changes["due_at"] = due_at
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed", FollowUp.claimed_by == worker)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def still_held(session: Session, ids: Sequence[int], worker: str, now: datetime) -> bool:
    """True while this worker's lease on all of `ids` is still valid."""
    held = session.scalars(
        select(FollowUp.id).where(
            FollowUp.id.in_(ids),
            FollowUp.state == "claimed",
            FollowUp.claimed_by == worker,
            FollowUp.lease_until > now,
        )
    )
    return len(list(held)) == len(ids)


def set_assignee(
    session: Session, ids: Sequence[int], agent: Agent, handed_from: Agent | None = None
) -> None:
    session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids))
        .values(assignee_id=agent.id, handed_from_id=handed_from.id if handed_from else None)
        .execution_options(synchronize_session=False)
    )


def by_ids(session: Session, ids: Sequence[int]) -> list[FollowUp]:
    return load_claimed(session, ids)


def by_message(session: Session, channel: str, ts: str) -> list[FollowUp]:
    """Every follow-up shown in one DM (a batched nudge shows several)."""
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case), joinedload(FollowUp.assignee))
            .where(FollowUp.slack_channel == channel, FollowUp.slack_ts == ts)
            .order_by(FollowUp.priority.desc(), FollowUp.due_at)
        ).unique()
    )


def open_for_agent(session: Session, agent_id: int, limit: int = 200) -> list[FollowUp]:
    """An agent's follow-ups that still need doing: sent, or planned (upcoming), oldest first."""
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case))
            .where(
                FollowUp.assignee_id == agent_id,
                FollowUp.state.in_(("sent", "planned", "claimed", "snoozed")),
            )
            .order_by(FollowUp.due_at)
            .limit(limit)
        ).unique()
    )
