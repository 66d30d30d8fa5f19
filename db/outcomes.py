"""Queries for outcomes: a case's open follow-up and the loop-closing figures."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from db.models import Agent, Case, FollowUp, Outcome

OPEN = ("sent", "planned", "claimed", "snoozed")


def open_followup_for_case(session: Session, case_id: int) -> FollowUp | None:
    """The case's follow-up waiting for an outcome: sent ones first, then the earliest due."""
    return session.scalar(
        select(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.state.in_(OPEN))
        .order_by(case((FollowUp.state == "sent", 0), else_=1), FollowUp.due_at)
        .limit(1)
    )


@dataclass(frozen=True)
class LoopFigures:
    """Closed loops and how they went, over one period."""

    closed: int
    on_time: int
    resolved: int
    not_resolved: int
    skipped: int
    open_now: int
    overdue_now: int

    @property
    def hold_rate(self) -> float | None:
        """Confirmed resolved / (confirmed + still not right); None with no answers yet."""
        answered = self.resolved + self.not_resolved
        return self.resolved / answered if answered else None


def loop_figures(
    session: Session,
    since: datetime,
    now: datetime,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
) -> LoopFigures:
    """Figures for one agent, or one team, from `since` to `now` (one aggregate query each)."""
    scope = []
    if agent_id is not None:
        scope.append(FollowUp.assignee_id == agent_id)
    if team_id is not None:
        scope.append(FollowUp.assignee_id.in_(select(Agent.id).where(Agent.team_id == team_id)))
    recorded = session.execute(
        select(
            func.count(Outcome.id),
            func.sum(
                case(
                    (
                        and_(
                            FollowUp.missed_at.is_not(None),
                            Outcome.recorded_at <= FollowUp.missed_at,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((Outcome.result == "resolved", 1), else_=0)),
            func.sum(case((Outcome.result == "not_resolved", 1), else_=0)),
            func.sum(case((Outcome.result == "skipped", 1), else_=0)),
        )
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .where(Outcome.recorded_at >= since, Outcome.recorded_at <= now, *scope)
    ).one()
    pending = session.execute(
        select(
            func.count(FollowUp.id),
            func.sum(
                case((and_(FollowUp.missed_at.is_not(None), FollowUp.missed_at < now), 1), else_=0)
            ),
        ).where(FollowUp.state == "sent", *scope)
    ).one()
    return LoopFigures(
        closed=int(recorded[0] or 0),
        on_time=int(recorded[1] or 0),
        resolved=int(recorded[2] or 0),
        not_resolved=int(recorded[3] or 0),
        skipped=int(recorded[4] or 0),
        open_now=int(pending[0] or 0),
        overdue_now=int(pending[1] or 0),
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


def customers_invited_to_review_since(
    session: Session, emails: Collection[str], since: datetime, excluding: Collection[int]
) -> set[str]:
    """Which of these customers were sent a public review invitation since `since` (by a
    follow-up other than those in `excluding`)."""

    if not emails:
        return set()
    return set(
        session.scalars(
            select(Case.customer_email)
            .join(FollowUp, FollowUp.case_id == Case.id)
            .where(
                Case.customer_email.in_(list(emails)),
                FollowUp.review_offered.is_(True),
                FollowUp.sent_at.is_not(None),
                FollowUp.sent_at >= since,
                FollowUp.id.not_in(list(excluding)),
            )
            .distinct()
        )
    )


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
