"""The digest's CSV export: every follow-up of a team's week, one row each.

A follow-up is in the week when it was due, answered or missed in it; the team and missed
filters are the figures' own (db/digest.py), so the CSV and the digest count the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from db.digest import in_team, missed_where
from db.models import Agent, Case, FollowUp, Outcome


@dataclass(frozen=True)
class ExportRow:
    """One follow-up of the week for the CSV: due in it, answered in it, or missed in it."""

    followup_id: int
    reference: str
    subject: str
    agent: str | None
    role: str
    touch: int
    state: str
    due_at: datetime
    missed_at: datetime | None
    result: str | None
    recorded_at: datetime | None
    root_cause: str | None
    customer_said: str | None
    review_asked: bool
    review_given: bool
    referral_asked: bool
    referral_given: bool
    draft_flags: list[str]
    reopened_since: bool = False
    """The case was reopened in the helpdesk after this outcome was recorded."""


def export_rows(session: Session, team_id: int, start: datetime, end: datetime) -> list[ExportRow]:
    """Every follow-up of the team that was due, answered, or missed during the week."""
    ids = union(
        select(FollowUp.id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.due_at >= start,
            FollowUp.due_at < end,
            FollowUp.state != "cancelled",
            in_team(team_id),
        ),
        select(FollowUp.id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(*missed_where(team_id, start, end)),
        select(Outcome.follow_up_id)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(Outcome.recorded_at >= start, Outcome.recorded_at < end, in_team(team_id)),
    ).subquery()
    rows = session.execute(
        select(
            FollowUp, Case.source, Case.external_id, Case.subject, Case.reopened_at, Agent, Outcome
        )
        .join(Case, Case.id == FollowUp.case_id)
        .outerjoin(Agent, Agent.id == FollowUp.assignee_id)
        .outerjoin(Outcome, Outcome.follow_up_id == FollowUp.id)
        .where(FollowUp.id.in_(select(ids.c[0])))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    found: list[ExportRow] = []
    for followup, source, external_id, subject, reopened_at, agent, outcome in rows:
        found.append(
            ExportRow(
                followup_id=followup.id,
                reference=f"{source}:{external_id}",
                subject=subject,
                agent=(agent.display_name or agent.slack_user_id) if agent else None,
                role=followup.role,
                touch=followup.touch,
                state=followup.state,
                due_at=followup.due_at,
                missed_at=followup.missed_at,
                result=outcome.result if outcome else None,
                recorded_at=outcome.recorded_at if outcome else None,
                root_cause=outcome.root_cause if outcome else None,
                customer_said=outcome.customer_said if outcome else None,
                review_asked=bool(outcome and outcome.review_asked),
                review_given=bool(outcome and outcome.review_given),
                referral_asked=bool(outcome and outcome.referral_asked),
                referral_given=bool(outcome and outcome.referral_given),
                draft_flags=list(followup.draft_flags or []),
                reopened_since=bool(
                    outcome and reopened_at is not None and reopened_at > outcome.recorded_at
                ),
            )
        )
    return found
