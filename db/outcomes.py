"""Queries for outcomes: a case's open follow-up and what was recorded for a follow-up."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.models import Agent, FollowUp, Outcome

OPEN = ("sent", "planned", "claimed", "snoozed")


def open_followup_for_case(session: Session, case_id: int) -> FollowUp | None:
    """The case's follow-up waiting for an outcome: sent ones first, then the earliest due."""
    return session.scalar(
        select(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.state.in_(OPEN))
        .order_by(case((FollowUp.state == "sent", 0), else_=1), FollowUp.due_at)
        .limit(1)
    )


def team_attention(
    session: Session, team_id: int, now: datetime, limit: int = 15
) -> tuple[list[FollowUp], list[FollowUp]]:
    """For a lead: (overdue follow-ups past the lead's threshold, escalations waiting)."""
    from sqlalchemy.orm import joinedload

    in_team = FollowUp.assignee_id.in_(select(Agent.id).where(Agent.team_id == team_id))
    overdue = (
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case), joinedload(FollowUp.assignee))
            .where(
                in_team,
                FollowUp.state == "sent",
                FollowUp.lead_at.is_not(None),
                FollowUp.lead_at <= now,
            )
            .order_by(FollowUp.due_at)
            .limit(limit)
        )
        .unique()
        .all()
    )
    escalated = (
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case), joinedload(FollowUp.assignee))
            .where(in_team, FollowUp.state == "escalated")
            .order_by(FollowUp.updated_at)
            .limit(limit)
        )
        .unique()
        .all()
    )
    return list(overdue), list(escalated)


def first_confirmed_touches(
    session: Session, case_ids: Collection[int]
) -> dict[tuple[int, int], int]:
    """(case, cycle) → the first touch at which the customer confirmed a good outcome."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(FollowUp.case_id, FollowUp.cycle, func.min(FollowUp.touch))
        .join(Outcome, Outcome.follow_up_id == FollowUp.id)
        .where(FollowUp.case_id.in_(list(case_ids)), Outcome.result == "resolved")
        .group_by(FollowUp.case_id, FollowUp.cycle)
    )
    return {(case_id, cycle): touch for case_id, cycle, touch in rows}


def for_followup(session: Session, followup_id: int) -> Outcome | None:
    """The outcome recorded for this follow-up, if any."""
    return session.scalar(select(Outcome).where(Outcome.follow_up_id == followup_id))
