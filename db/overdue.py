"""Overdue follow-up queries: candidates for a reminder or a lead notice, atomic claims, missed.

A reminder and a lead notice each happen once. The stamp column (`reminded_at`,
`lead_notified_at`) is the claim: a conditional UPDATE that only succeeds while the column is
still NULL, so two passes (threads or processes) never both win the same row. PostgreSQL
re-checks the WHERE clause after waiting for a concurrent writer's row lock; SQLite serialises
writers (BEGIN IMMEDIATE), so the statement is atomic on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from db.models import Case, FollowUp

OPEN_STATES = ("planned", "claimed", "sent", "snoozed")
"""States of a follow-up that still needs doing (no outcome yet)."""


def _candidates(
    session: Session, due: ColumnElement[bool], stamp: InstrumentedAttribute[Any], limit: int
) -> list[FollowUp]:
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case).joinedload(Case.team), joinedload(FollowUp.assignee))
            .where(
                FollowUp.state == "sent",
                FollowUp.assignee_id.is_not(None),
                stamp.is_(None),
                due,
            )
            .order_by(FollowUp.assignee_id, FollowUp.due_at)
            .limit(limit)
        ).unique()
    )


def reminders_due(session: Session, now: datetime, limit: int = 1000) -> list[FollowUp]:
    """DMed follow-ups with no outcome whose reminder time has come and that were not reminded."""
    return _candidates(session, FollowUp.remind_at <= now, FollowUp.reminded_at, limit)


def lead_notices_due(session: Session, now: datetime, limit: int = 1000) -> list[FollowUp]:
    """DMed follow-ups with no outcome whose lead time has come and whose lead was not told."""
    return _candidates(session, FollowUp.lead_at <= now, FollowUp.lead_notified_at, limit)


def _claim(
    session: Session, ids: Sequence[int], stamp: InstrumentedAttribute[Any], now: datetime
) -> list[int]:
    if not ids:
        return []
    statement = (
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "sent", stamp.is_(None))
        .values({stamp.key: now, "updated_at": now})
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(statement))


def _unclaim(
    session: Session, ids: Sequence[int], stamp: InstrumentedAttribute[Any], claimed_at: datetime
) -> int:
    if not ids:
        return 0
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), stamp == claimed_at)
        .values({stamp.key: None})
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def claim_reminders(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Stamp `reminded_at` on those of `ids` nobody reminded yet; return the ones this call won."""
    return _claim(session, ids, FollowUp.reminded_at, now)


def unclaim_reminders(session: Session, ids: Sequence[int], claimed_at: datetime) -> int:
    """Undo this pass's claim after Slack refused the reminder, so a later pass retries it."""
    return _unclaim(session, ids, FollowUp.reminded_at, claimed_at)


def claim_lead_notices(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Stamp `lead_notified_at` on those of `ids` whose lead was not told yet; return the won."""
    return _claim(session, ids, FollowUp.lead_notified_at, now)


def unclaim_lead_notices(session: Session, ids: Sequence[int], claimed_at: datetime) -> int:
    """Undo this pass's lead-notice claim after Slack refused the DM."""
    return _unclaim(session, ids, FollowUp.lead_notified_at, claimed_at)
