"""Digest figures: aggregates and case lists over one week's range (the (team, week) row's
life is db/digest_runs.py; the week's CSV export is db/digest_export.py).

Every figure reads a time range through an index (`outcomes.recorded_at`, `follow_ups.due_at`,
`follow_ups.missed_at`, `audit_log.at`) or the few follow-ups open now (`state`), so building a
digest costs what the week holds, never what the history holds. Team scope is the case's team.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from db.models import AuditEntry, Case, FollowUp, Outcome, Team

RESULTS = (
    "resolved",
    "unhappy",
    "not_resolved",
    "no_reply",
    "unreachable",
    "no_response",
    "skipped",
)
"""Outcome kinds in the order the digest lists them."""
TOUCHED = ("resolved", "unhappy", "not_resolved", "no_reply", "unreachable", "no_response")
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
    return case(*whens, else_=len(bounds) - 2) if whens else literal(0)


def _on_time() -> ColumnElement[bool]:
    # On time: an outcome recorded by the policy's cut-off (bot/digest/figures.py words it).
    return and_(FollowUp.missed_at.is_not(None), Outcome.recorded_at <= FollowUp.missed_at)


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


@dataclass
class WeekCounts:
    """One week's outcomes (by `recorded_at`); what was due is `DueCounts`."""

    closed: int = 0
    on_time: int = 0
    results: dict[str, int] = field(default_factory=dict)
    review_asked: int = 0
    review_given: int = 0
    referral_asked: int = 0
    referral_given: int = 0
    reopened: dict[str, int] = field(default_factory=dict)
    """Result -> how many of them had their case reopened in the helpdesk since."""
    causes: dict[str, int] = field(default_factory=dict)

    def result(self, name: str) -> int:
        return self.results.get(name, 0)

    @property
    def hold(self) -> HoldCounts:
        """The week's answers by whether the fix held (the one place that rule is counted)."""
        claimed = sum(self.result(r) for r in HELD_RESULTS)
        reopened = sum(self.reopened.get(r, 0) for r in HELD_RESULTS)
        return HoldCounts(
            held=claimed - reopened,
            not_held=self.result("not_resolved") + reopened,
            reopened=reopened,
            unhappy=self.result("unhappy") - self.reopened.get("unhappy", 0),
            recorded=self.closed,
        )


def week_counts(
    session: Session,
    bounds: Sequence[datetime],
    *,
    team_id: int | None = None,
    agent_id: int | None = None,
) -> list[WeekCounts]:
    """Outcome counts for each week between consecutive `bounds` (oldest first), by result and
    root cause: one grouped pass over the weeks' outcomes."""
    weeks = [WeekCounts() for _ in bounds[:-1]]
    bucket = _bucket(Outcome.recorded_at, bounds).label("bucket")
    outcome_rows = session.execute(
        select(
            bucket,
            Outcome.result,
            Outcome.root_cause,
            func.count(),
            _flag(_on_time()),
            _flag(Outcome.review_asked),
            _flag(Outcome.review_given),
            _flag(Outcome.referral_asked),
            _flag(Outcome.referral_given),
            _flag(reopened_after()),
        )
        .select_from(Outcome)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= bounds[0],
            Outcome.recorded_at < bounds[-1],
            *_scope(team_id, agent_id),
        )
        .group_by(bucket, Outcome.result, Outcome.root_cause)
    )
    for row in outcome_rows:
        index, result, cause, count, on_time, r_asked, r_given, f_asked, f_given, again = row
        week, result, count = weeks[int(index)], str(result), int(count)
        week.closed += count
        week.on_time += int(on_time or 0)
        week.results[result] = week.results.get(result, 0) + count
        week.review_asked += int(r_asked or 0)
        week.review_given += int(r_given or 0)
        week.referral_asked += int(f_asked or 0)
        week.referral_given += int(f_given or 0)
        week.reopened[result] = week.reopened.get(result, 0) + int(again or 0)
        if cause:
            week.causes[str(cause)] = week.causes.get(str(cause), 0) + count
    return weeks


def _hours(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Outcome.recorded_at - Case.closed_at) / 3600.0
    return (func.julianday(Outcome.recorded_at) - func.julianday(Case.closed_at)) * 24.0


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
    insight: str | None = None

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
            insight=getattr(r, "insight", None),
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


# -- one definition per figure (bot/digest/figures.py words them) -----------------------------


def _scope(team_id: int | None, agent_id: int | None) -> list[Any]:
    where: list[Any] = []
    if team_id is not None:
        where.append(in_team(team_id))
    if agent_id is not None:
        where.append(FollowUp.assignee_id == agent_id)
    return where


@dataclass
class DueCounts:
    """The follow-ups due in one period (by `due_at`, not cancelled), each in exactly one of
    on time, late, missed or still open, so the four always add up to `due`:

    - on time: an outcome recorded by the follow-up's cut-off (`missed_at`; none: on time);
    - late: an outcome recorded after the cut-off;
    - missed: no outcome, and the cut-off has passed (`now`); triage rows are never "missed"
      (nobody owned them), they stay open;
    - still open: no outcome yet, cut-off still ahead (or waiting in triage).
    """

    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    flagged_drafts: int = 0

    @property
    def closed(self) -> int:
        return self.on_time + self.late

    @property
    def still_open(self) -> int:
        return self.due - self.on_time - self.late - self.missed


def due_counts(
    session: Session,
    bounds: Sequence[datetime],
    now: datetime,
    *,
    team_id: int | None = None,
    agent_id: int | None = None,
) -> list[DueCounts]:
    """`DueCounts` for each period between consecutive `bounds` (oldest first): one pass."""
    weeks = [DueCounts() for _ in bounds[:-1]]
    bucket = _bucket(FollowUp.due_at, bounds).label("bucket")
    answered = and_(Outcome.id.is_not(None), Outcome.recorded_at <= now)
    cut_off_passed = and_(FollowUp.missed_at.is_not(None), FollowUp.missed_at <= now)
    late = and_(answered, FollowUp.missed_at.is_not(None), Outcome.recorded_at > FollowUp.missed_at)
    rows = session.execute(
        select(
            bucket,
            func.count(),
            _flag(and_(answered, ~late)),
            _flag(late),
            _flag(and_(~answered, cut_off_passed, FollowUp.state != "triage")),
            _flag(func.json_array_length(FollowUp.draft_flags) > 0),
        )
        .select_from(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .outerjoin(Outcome, Outcome.follow_up_id == FollowUp.id)
        .where(
            FollowUp.due_at >= bounds[0],
            FollowUp.due_at < bounds[-1],
            FollowUp.state != "cancelled",
            *_scope(team_id, agent_id),
        )
        .group_by(bucket)
    )
    for index, due, on_time, late_n, missed, flagged in rows:
        week = weeks[int(index)]
        week.due, week.on_time, week.late = int(due), int(on_time or 0), int(late_n or 0)
        week.missed, week.flagged_drafts = int(missed or 0), int(flagged or 0)
    return weeks


HELD_RESULTS = ("resolved", "unhappy")
"""Outcomes that say the fix held ("unhappy": it held, the experience did not)."""


def reopened_after() -> ColumnElement[bool]:
    """The case was reopened in the helpdesk after this outcome was recorded."""
    return and_(Case.reopened_at.is_not(None), Case.reopened_at > Outcome.recorded_at)


def did_not_hold() -> ColumnElement[bool]:
    """ "Still not right", or said to hold and the case reopened since."""
    return (Outcome.result == "not_resolved") | and_(
        Outcome.result.in_(HELD_RESULTS), reopened_after()
    )


@dataclass
class HoldCounts:
    """Outcomes recorded in one period, by what they say about the fix."""

    held: int = 0
    """Resolved or unhappy, and the case not reopened since."""
    not_held: int = 0
    """Still not right, or reopened after a resolved/unhappy outcome."""
    reopened: int = 0
    """Of `not_held`: the reopened ones."""
    unhappy: int = 0
    """Of `held`: resolved, but unhappy with how it went."""
    recorded: int = 0
    """Every outcome recorded in the period (no reply, skipped... too)."""

    @property
    def answered(self) -> int:
        return self.held + self.not_held


def hold_counts(
    session: Session,
    bounds: Sequence[datetime],
    *,
    team_id: int | None = None,
    agent_id: int | None = None,
) -> list[HoldCounts]:
    """`HoldCounts` for each period between consecutive `bounds`, by `recorded_at`."""
    return [w.hold for w in week_counts(session, bounds, team_id=team_id, agent_id=agent_id)]


def not_held_cases(
    session: Session,
    team_id: int,
    start: datetime,
    end: datetime,
    limit: int | None = None,
    *,
    reopened: bool = True,
) -> list[CaseRow]:
    """The period's outcomes that did not hold, grouped by root cause (none last).

    `reopened=False` (the caller knows none was reopened since, from `HoldCounts`) lists only
    "still not right", a filter on the outcome alone, so only those rows are joined."""
    statement = (
        select(*_CASE_COLUMNS, *_OUTCOME_COLUMNS, Outcome.insight)
        .select_from(Outcome)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= start,
            Outcome.recorded_at < end,
            did_not_hold() if reopened else Outcome.result == "not_resolved",
            in_team(team_id),
        )
        .order_by(Outcome.root_cause.is_(None), Outcome.root_cause, Outcome.recorded_at, Outcome.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return _case_rows(session.execute(statement))


TOUCH_KINDS = {"fix_held": "30-day check", "no_reply_nudge": "retry after no reply"}
"""Template -> kind of touch for the medians; every other template is a first check-in."""
FIRST_CHECK_IN = "first check-in"
CONFIRMATION_QUOTE = 60
"""The shortest customer's words on a confirmed resolution that may illustrate a cause."""


def _touch_kind() -> Any:
    whens = [(FollowUp.template == template, kind) for template, kind in TOUCH_KINDS.items()]
    return case(*whens, else_=FIRST_CHECK_IN)


def median_hours_by_kind(
    session: Session, team_id: int, start: datetime, end: datetime
) -> dict[str, float]:
    """Median hours from case closed to follow-up done, per kind of touch (made touches only).

    One pass that reads each row's kind and hours and takes the middle in Python: measured on
    the digest's benchmark (50,000 in the week), a quarter of the time of SQLite's
    `row_number()`/`count(*) OVER` doing the same in the query (docs/performance.md)."""
    rows = session.execute(
        select(_touch_kind(), _hours(session))
        .select_from(Outcome)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= start,
            Outcome.recorded_at < end,
            Outcome.result.in_(TOUCHED),
            in_team(team_id),
        )
    )
    by_kind: dict[str, list[float]] = {}
    for name, value in rows:
        # Negative when the case was closed again since (closed_at is the latest close): that
        # follow-up belongs to an earlier cycle, whose close time is no longer kept.
        if value is not None and value >= 0:
            by_kind.setdefault(str(name), []).append(float(value))
    return {name: statistics.median(values) for name, values in by_kind.items()}


def quote_candidates(
    session: Session,
    team_id: int,
    start: datetime,
    end: datetime,
    cause: str,
    column: str,
    limit: int,
) -> list[str]:
    """Up to `limit` texts of one column (`insight` or `customer_said`) for one root cause in
    the period, longest first (the specific ones; bot/digest/causes.py chooses among them).

    A customer's words on a confirmed resolution ("Deliveries are instant again.") confirm the
    fix and say nothing of the cause: only the long ones (CONFIRMATION_QUOTE characters) are
    candidates, after every "still not right" or "unhappy" one."""
    text = Outcome.insight if column == "insight" else Outcome.customer_said
    confirmation = Outcome.result == "resolved"
    where = [text.is_not(None), text != ""]
    if column != "insight":
        where.append(~confirmation | (func.length(text) >= CONFIRMATION_QUOTE))
    return [
        str(value)
        for value in session.scalars(
            select(text)
            .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
            .join(Case, Case.id == FollowUp.case_id)
            .where(
                Outcome.recorded_at >= start,
                Outcome.recorded_at < end,
                Outcome.root_cause == cause,
                *where,
                in_team(team_id),
            )
            .order_by(confirmation, func.length(text).desc(), Outcome.id.desc())
            .limit(limit)
        )
    ]


def cause_cases(
    session: Session,
    team_id: int,
    start: datetime,
    end: datetime,
    causes: Sequence[str],
    limit: int | None = None,
) -> list[CaseRow]:
    """The outcomes naming one of `causes` in the period, by cause then time (drill-down)."""
    statement = (
        select(*_CASE_COLUMNS, *_OUTCOME_COLUMNS, Outcome.insight)
        .join(FollowUp, FollowUp.id == Outcome.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            Outcome.recorded_at >= start,
            Outcome.recorded_at < end,
            Outcome.root_cause.in_(list(causes)),
            in_team(team_id),
        )
        .order_by(Outcome.root_cause, Outcome.recorded_at, Outcome.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return _case_rows(session.execute(statement))
