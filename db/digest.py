"""Digest figures: aggregates and case lists over one week's range (the (team, week) row's
life is db/digest_runs.py; the week's CSV export is db/digest_export.py).

Every figure reads a time range through an index (`outcomes.recorded_at`, `follow_ups.due_at`,
`follow_ups.missed_at`, `audit_log.at`) or the few follow-ups open now (`state`), so building a
digest costs what the week holds, never what the history holds. Team scope is the case's team.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from db.models import AuditEntry, Case, FollowUp, Outcome, Team

RESULTS = ("resolved", "not_resolved", "no_reply", "unreachable", "no_response", "skipped")
"""Outcome kinds in the order the digest lists them."""
TOUCHED = ("resolved", "not_resolved", "no_reply", "unreachable", "no_response")
"""Outcomes of a follow-up that was actually made (skipped is not one)."""


def teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.id)))


def team_has_cases(session: Session, team_id: int) -> bool:
    return bool(session.scalar(select(exists().where(in_team(team_id)))))


# -- figures ----------------------------------------------------------------------------------


def in_team(team_id: int) -> ColumnElement[bool]:
    """The case's team, written so no index can serve it (`team_id + 0`).

    Without statistics SQLite takes an indexed equality as the most selective filter and would
    walk every case the team ever had; unindexed, it starts from the week's time range instead.
    PostgreSQL plans from its statistics either way.
    """
    return (Case.team_id + 0) == team_id


def _bucket(column: Any, bounds: Sequence[datetime]) -> Any:
    """0 for the first week in `bounds`, 1 for the next, ...: which week a moment falls in."""
    whens = [(column < upper, index) for index, upper in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2)


def _on_time() -> ColumnElement[bool]:
    # The same rule as db.outcomes.loop_figures: an outcome recorded by the policy's cut-off.
    return and_(FollowUp.missed_at.is_not(None), Outcome.recorded_at <= FollowUp.missed_at)


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


@dataclass
class WeekCounts:
    """One week's outcome counts (by `recorded_at`) and follow-ups due (by `due_at`)."""

    closed: int = 0
    on_time: int = 0
    results: dict[str, int] = field(default_factory=dict)
    review_asked: int = 0
    review_given: int = 0
    referral_asked: int = 0
    referral_given: int = 0
    due: int = 0
    flagged_drafts: int = 0

    def result(self, name: str) -> int:
        return self.results.get(name, 0)


def week_counts(session: Session, team_id: int, bounds: Sequence[datetime]) -> list[WeekCounts]:
    """Counts for each week between consecutive `bounds` (oldest first): two grouped passes."""
    weeks = [WeekCounts() for _ in bounds[:-1]]
    bucket = _bucket(Outcome.recorded_at, bounds).label("bucket")
    outcome_rows = session.execute(
        select(
            bucket,
            Outcome.result,
            func.count(),
            _flag(_on_time()),
            _flag(Outcome.review_asked),
            _flag(Outcome.review_given),
            _flag(Outcome.referral_asked),
            _flag(Outcome.referral_given),
        )
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= bounds[0],
            Outcome.recorded_at < bounds[-1],
            in_team(team_id),
        )
        .group_by(bucket, Outcome.result)
    )
    for index, result, count, on_time, r_asked, r_given, f_asked, f_given in outcome_rows:
        week = weeks[int(index)]
        week.closed += int(count)
        week.on_time += int(on_time or 0)
        week.results[str(result)] = week.results.get(str(result), 0) + int(count)
        week.review_asked += int(r_asked or 0)
        week.review_given += int(r_given or 0)
        week.referral_asked += int(f_asked or 0)
        week.referral_given += int(f_given or 0)
    due_bucket = _bucket(FollowUp.due_at, bounds).label("bucket")
    due_rows = session.execute(
        select(due_bucket, func.count(), _flag(func.json_array_length(FollowUp.draft_flags) > 0))
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.due_at >= bounds[0],
            FollowUp.due_at < bounds[-1],
            FollowUp.state != "cancelled",
            in_team(team_id),
        )
        .group_by(due_bucket)
    )
    for index, count, flagged in due_rows:
        weeks[int(index)].due = int(count)
        weeks[int(index)].flagged_drafts = int(flagged or 0)
    return weeks


def _hours(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Outcome.recorded_at - Case.closed_at) / 3600.0
    return (func.julianday(Outcome.recorded_at) - func.julianday(Case.closed_at)) * 24.0


def median_hours_to_done(
    session: Session, team_id: int, start: datetime, end: datetime, touched: int
) -> float | None:
    """Median hours from case closed to follow-up done, over the week's `touched` outcomes."""
    if touched <= 0:
        return None
    hours = _hours(session).label("hours")
    middle = list(
        session.scalars(
            select(hours)
            .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
            .join(Case, Case.id == FollowUp.case_id)
            .where(
                Outcome.recorded_at >= start,
                Outcome.recorded_at < end,
                Outcome.result.in_(TOUCHED),
                in_team(team_id),
            )
            .order_by(hours)
            .offset((touched - 1) // 2)
            .limit(2 - touched % 2)
        )
    )
    if not middle:
        return None
    return sum(float(h) for h in middle) / len(middle)


def top_root_causes(
    session: Session, team_id: int, start: datetime, end: datetime, limit: int = 5
) -> list[tuple[str, int]]:
    """The week's most frequent root causes with their counts, most frequent first."""
    count = func.count().label("n")
    rows = session.execute(
        select(Outcome.root_cause, count)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= start,
            Outcome.recorded_at < end,
            Outcome.root_cause.is_not(None),
            Outcome.root_cause != "",
            in_team(team_id),
        )
        .group_by(Outcome.root_cause)
        .order_by(count.desc(), Outcome.root_cause)
        .limit(limit)
    )
    return [(str(cause), int(n)) for cause, n in rows]


def quotes(
    session: Session, team_id: int, start: datetime, end: datetime, cause: str, limit: int
) -> list[str]:
    """What customers said for one root cause this week, most recent first."""
    return [
        str(said)
        for said in session.scalars(
            select(Outcome.customer_said)
            .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
            .join(Case, Case.id == FollowUp.case_id)
            .where(
                Outcome.recorded_at >= start,
                Outcome.recorded_at < end,
                Outcome.root_cause == cause,
                Outcome.customer_said.is_not(None),
                Outcome.customer_said != "",
                in_team(team_id),
            )
            .order_by(Outcome.recorded_at.desc(), Outcome.id.desc())
            .limit(limit)
        )
    ]


@dataclass(frozen=True)
class CaseRow:
    """One follow-up as the digest lists it (raw outside text: escape before showing)."""

    followup_id: int
    source: str
    external_id: str
    subject: str
    url: str | None
    due_at: datetime
    result: str | None = None
    root_cause: str | None = None
    customer_said: str | None = None
    recorded_at: datetime | None = None

    @property
    def reference(self) -> str:
        return f"{self.source}:{self.external_id}"


def _case_rows(rows: Any) -> list[CaseRow]:
    return [
        CaseRow(
            followup_id=r.id,
            source=r.source,
            external_id=r.external_id,
            subject=r.subject,
            url=r.url,
            due_at=r.due_at,
            result=getattr(r, "result", None),
            root_cause=getattr(r, "root_cause", None),
            customer_said=getattr(r, "customer_said", None),
            recorded_at=getattr(r, "recorded_at", None),
        )
        for r in rows
    ]


_CASE_COLUMNS = (
    FollowUp.id,
    Case.source,
    Case.external_id,
    Case.subject,
    Case.url,
    FollowUp.due_at,
)
_OUTCOME_COLUMNS = (
    Outcome.result,
    Outcome.root_cause,
    Outcome.customer_said,
    Outcome.recorded_at,
)


def outcome_cases(
    session: Session,
    team_id: int,
    start: datetime,
    end: datetime,
    *,
    result: str | None = None,
    with_root_cause: bool = False,
    limit: int | None = None,
) -> list[CaseRow]:
    """The week's outcomes (optionally one result, or only those with a root cause)."""
    statement = (
        select(*_CASE_COLUMNS, *_OUTCOME_COLUMNS)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(Outcome.recorded_at >= start, Outcome.recorded_at < end, in_team(team_id))
    )
    if result is not None:
        statement = statement.where(Outcome.result == result)
    if with_root_cause:
        statement = statement.where(Outcome.root_cause.is_not(None), Outcome.root_cause != "")
        statement = statement.order_by(Outcome.root_cause, Outcome.recorded_at, Outcome.id)
    else:
        statement = statement.order_by(Outcome.recorded_at, Outcome.id)
    if limit is not None:
        statement = statement.limit(limit)
    return _case_rows(session.execute(statement))


def _overdue_where(team_id: int, now: datetime) -> list[Any]:
    # DMed, no outcome, and past the moment its owner is reminded: what a lead would chase.
    return [
        FollowUp.state == "sent",
        func.coalesce(FollowUp.remind_at, FollowUp.due_at) <= now,
        in_team(team_id),
    ]


def count_overdue(session: Session, team_id: int, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .join(Case, Case.id == FollowUp.case_id)
            .where(*_overdue_where(team_id, now))
        )
        or 0
    )


def overdue_cases(
    session: Session, team_id: int, now: datetime, limit: int | None = None
) -> list[CaseRow]:
    statement = (
        select(*_CASE_COLUMNS)
        .select_from(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(*_overdue_where(team_id, now))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return _case_rows(session.execute(statement))


def missed_where(team_id: int, start: datetime, end: datetime) -> list[Any]:
    late = aliased(Outcome)
    answered_in_time = exists().where(
        late.follow_up_id == FollowUp.id, late.recorded_at <= FollowUp.missed_at
    )
    return [
        FollowUp.missed_at >= start,
        FollowUp.missed_at < end,
        FollowUp.state.not_in(("cancelled", "triage")),
        ~answered_in_time,
        in_team(team_id),
    ]


def count_missed(session: Session, team_id: int, start: datetime, end: datetime) -> int:
    """Follow-ups whose cut-off fell in the week with no outcome recorded by then."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .join(Case, Case.id == FollowUp.case_id)
            .where(*missed_where(team_id, start, end))
        )
        or 0
    )


def missed_cases(
    session: Session, team_id: int, start: datetime, end: datetime, limit: int | None = None
) -> list[CaseRow]:
    statement = (
        select(*_CASE_COLUMNS)
        .select_from(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(*missed_where(team_id, start, end))
        .order_by(FollowUp.missed_at, FollowUp.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return _case_rows(session.execute(statement))


def triage_counts(
    session: Session, team_id: int, start: datetime, end: datetime
) -> tuple[int, int]:
    """(follow-ups sent to triage during the week, follow-ups of the team waiting there now)."""
    sent = session.scalar(
        select(func.count(func.distinct(AuditEntry.entity_id)))
        .join(FollowUp, FollowUp.id == AuditEntry.entity_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            AuditEntry.at >= start,
            AuditEntry.at < end,
            AuditEntry.entity == "follow_up",
            AuditEntry.action == "sent_to_triage",
            in_team(team_id),
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.state == "triage", in_team(team_id))
    )
    return int(sent or 0), int(waiting or 0)
