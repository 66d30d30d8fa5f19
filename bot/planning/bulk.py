"""Planning thousands of cases at once: exact, memoised stand-ins for the policy and calendars.

`plan_touches` is pure, so a backfill could call it per row; what makes that slow is re-matching
the same facts against every rule, working out the same touches for every case alike, and
re-deriving the same working windows day after day. The planner works out each kind of case's
touches once (`touch_steps`) and per case only their times (`touch_times`), and these subclasses
answer the same questions from tables built once, falling back to the originals outside them:
a plan is identical to the one `accept_case` would make (tests check it).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.cases import ClosedCase
from bot.planning.plan import calendar_of, row_head, team_defaults
from bot.rules.policy import (
    CaseFacts,
    Match,
    Overdue,
    Policy,
    Role,
    Rule,
)
from bot.rules.touch_plan import TouchStep, touch_steps, touch_times
from bot.rules.working_hours import WorkingCalendar
from db import cases as store
from db.models import Agent, Team

if TYPE_CHECKING:
    from bot.deps import Deps

TABLE_DAYS_BEFORE = 7
TABLE_DAYS_AFTER = 120
"""Windows tabled around a moment first asked about; beyond them the table is extended."""


def _facts_key(case: CaseFacts) -> tuple[Any, ...]:
    """The facts of a case that policy rules match and plan on."""
    return (
        case.kind,
        case.severity,
        case.channel,
        case.b2b,
        case.senior_involved,
        tuple(case.tags),
        case.team,
    )


class MemoPolicy(Policy):
    """A policy whose `match` remembers the rule per distinct set of case facts."""

    _memo: dict[tuple[Any, ...], Match]

    @classmethod
    def of(cls, policy: Policy) -> MemoPolicy:
        memo = cls(**{f.name: getattr(policy, f.name) for f in dataclasses.fields(policy)})
        object.__setattr__(memo, "_memo", {})
        return memo

    def match(self, case: CaseFacts) -> Match:
        key = _facts_key(case)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = super().match(case)
        return found


class TabledCalendar(WorkingCalendar):
    """A calendar answering `next_window_start`, `add_working_hours` and `due_and_later` by
    binary search.

    The windows of a span of local dates are computed once (with `window_on`, so DST and
    holidays are the original's), with the working time before each; a moment outside the
    span extends it.
    """

    _starts: list[datetime]
    _ends: list[datetime]
    _worked: list[timedelta]
    _span: tuple[date, date] | None
    _bounds: tuple[datetime, datetime] | None
    _spans: dict[tuple[float, float], tuple[timedelta, timedelta, timedelta, float]]
    """Per pair of hours asked of `due_and_later`: both as spans, the table's reach, the max."""

    @classmethod
    def of(cls, calendar: WorkingCalendar) -> TabledCalendar:
        tabled = cls(**{f.name: getattr(calendar, f.name) for f in dataclasses.fields(calendar)})
        empty: tuple[tuple[str, object], ...] = (
            ("_starts", []),
            ("_ends", []),
            ("_worked", []),
            ("_span", None),
            ("_bounds", None),
            ("_spans", {}),
        )
        for name, value in empty:
            object.__setattr__(tabled, name, value)
        return tabled

    def _cover(self, moment: datetime, hours: float) -> None:
        """Make sure the table reaches well before `moment` and `hours` of work after it."""
        reach = timedelta(days=TABLE_DAYS_AFTER // 2 + int(hours // 2))
        bounds = self._bounds
        if bounds is not None and bounds[0] <= moment and moment + reach <= bounds[1]:
            return
        day = moment.astimezone(self.zone).date()
        first = day - timedelta(days=TABLE_DAYS_BEFORE)
        last = day + timedelta(days=TABLE_DAYS_AFTER + int(hours // 2))
        if self._span is not None:
            first, last = min(first, self._span[0]), max(last, self._span[1])
        starts: list[datetime] = []
        ends: list[datetime] = []
        worked = [timedelta()]
        current = first
        while current <= last:
            window = self.window_on(current)
            if window is not None:
                starts.append(window[0])
                ends.append(window[1])
                worked.append(worked[-1] + (window[1] - window[0]))
            current += timedelta(days=1)
        low = datetime.combine(first + timedelta(days=2), time(), tzinfo=UTC)
        high = datetime.combine(last - timedelta(days=2), time(), tzinfo=UTC)
        for name, value in (
            ("_starts", starts),
            ("_ends", ends),
            ("_worked", worked),
            ("_span", (first, last)),
            ("_bounds", (low, high)),
        ):
            object.__setattr__(self, name, value)

    def next_window_start(self, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        self._cover(moment, 0)
        index = bisect.bisect_right(self._ends, moment)
        if index >= len(self._starts) - 1:
            return super().next_window_start(moment)
        return max(self._starts[index], moment)

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        moment = moment.astimezone(UTC)
        if hours < 0 or hours != hours or hours == float("inf"):
            return super().add_working_hours(moment, hours)
        self._cover(moment, hours)
        index = bisect.bisect_right(self._ends, moment)
        if index >= len(self._starts) - 1:
            return super().add_working_hours(moment, hours)
        begin = max(self._starts[index], moment)
        target = self._worked[index] + (begin - self._starts[index]) + timedelta(hours=hours)
        # The window where the working time runs out; ending exactly at a window's end means
        # the start of the next one, as in WorkingCalendar.add_working_hours.
        found = bisect.bisect_right(self._worked, target) - 1
        if found >= len(self._starts) - 1:
            return super().add_working_hours(moment, hours)
        return self._starts[found] + (target - self._worked[found])

    def due_and_later(
        self, moment: datetime, first_hours: float, second_hours: float
    ) -> tuple[datetime, datetime, datetime]:
        spans = self._spans.get((first_hours, second_hours))
        if spans is None:
            hours = (first_hours, second_hours)
            if not all(math.isfinite(h) and h >= 0 for h in hours):
                return super().due_and_later(moment, first_hours, second_hours)
            longest = max(hours)
            reach = timedelta(days=TABLE_DAYS_AFTER // 2 + int(longest // 2))
            spans = (timedelta(hours=first_hours), timedelta(hours=second_hours), reach, longest)
            self._spans[hours] = spans
        first, second, reach, longest = spans
        moment = moment.astimezone(UTC)
        bounds = self._bounds
        if bounds is None or not (bounds[0] <= moment and moment + reach <= bounds[1]):
            self._cover(moment, longest)
        starts, worked, last = self._starts, self._worked, len(self._starts) - 1
        # The same lookups as next_window_start and add_working_hours, shared: the due time
        # lies in the window `index`, so both spans start counting from it.
        index = bisect.bisect_right(self._ends, moment)
        if index < last:
            start = starts[index]
            due = start if start > moment else moment
            done = worked[index] + (due - start)
            first_at, second_at = done + first, done + second
            one = bisect.bisect_right(worked, first_at) - 1
            two = bisect.bisect_right(worked, second_at) - 1
            if one < last and two < last:
                return (
                    due,
                    starts[one] + (first_at - worked[one]),
                    starts[two] + (second_at - worked[two]),
                )
        return super().due_and_later(moment, first_hours, second_hours)


# --- planning many cases ------------------------------------------------------------------

MAX_WINDOW_SHIFT = timedelta(days=31)
"""No calendar moves a touch further than this to its working window (a month off work)."""


def late_after(rule: Rule) -> timedelta:
    """How long after close every touch of `rule` is surely past its cut-off: a case closed
    longer ago than that has nothing to plan (a backfill of old history skips planning).

    A touch's cut-off is its due time plus the missed days, and its due time is at most
    MAX_WINDOW_SHIFT after close + offset.
    """
    if not rule.touches:
        return timedelta()
    latest = max(t.after.delta for t in rule.touches)
    return latest + MAX_WINDOW_SHIFT + rule.overdue.missed_after


@dataclass(frozen=True, slots=True)
class _Steps:
    """How every case alike (same facts, same people) is planned, but for its times."""

    touches: int
    late_after: timedelta
    lead_calendar: WorkingCalendar | None
    overdue: Overdue
    steps: tuple[tuple[TouchStep, tuple[object, ...]], ...]
    """Each touch with the first values of its follow_ups row (planning.row_head)."""


class Planner:
    """Teams, agents and calendars loaded once per batch; rows planned without round trips.

    The CSV import loads the whole roster once; the webhook writer loads, per batch, only the
    agents its cases name (and the leads of their teams). Either way a plan is the one
    `plan_case` would make for the same case (tests compare them): the same `touch_steps`
    and `touch_times`, the steps worked out once per kind of case.
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.policy = MemoPolicy.of(deps.policy)
        self.teams: dict[str, Team] = {}
        self.calendars: dict[tuple[int, int | None], WorkingCalendar] = {}
        self.agents: dict[int, Agent] = {}
        self.by_email: dict[str, int] = {}
        self.by_slack: dict[str, int] = {}
        self.by_link: dict[tuple[str, str], int] = {}
        self.first_lead: dict[int, int] = {}
        self._steps: dict[tuple[object, ...], _Steps] = {}
        self._team_as_written: dict[str | None, Team] = {}
        """Teams by the slug as cases spell it: one lookup per case, without normalising."""

    def load(self, agents: Iterable[Agent]) -> None:
        for agent in sorted(agents, key=lambda a: a.id):
            if agent.id in self.agents:
                continue
            self.agents[agent.id] = agent
            self.by_slack[agent.slack_user_id] = agent.id
            if agent.email:
                self.by_email.setdefault(agent.email.lower(), agent.id)
            if agent.is_lead and agent.team_id is not None:
                self.first_lead.setdefault(agent.team_id, agent.id)

    def team(self, session: Any, slug: str | None) -> Team:
        found = self._team_as_written.get(slug)
        if found is None:
            key = (slug or "default").strip().lower()[:80] or "default"
            found = self.teams.get(key)
            if found is None:
                now = self.deps.clock.now()
                found = store.team_for(session, key, team_defaults(self.deps), now)
                self.teams[key] = found
            self._team_as_written[slug] = found
        return found

    def calendar(self, team: Team, agent_id: int | None) -> WorkingCalendar:
        key = (team.id, agent_id)
        found = self.calendars.get(key)
        if found is None:
            agent = self.agents.get(agent_id) if agent_id is not None else None
            found = TabledCalendar.of(calendar_of(self.deps, team, agent))
            self.calendars[key] = found
        return found

    def owner_of(self, case: ClosedCase) -> int | None:
        """The owner as `plan_case` finds them: Slack id, else email, else the vendor's id."""
        if case.owner_slack_id:
            return self.by_slack.get(case.owner_slack_id)
        found = self.by_email.get(case.owner_email.lower()) if case.owner_email else None
        if found is None and case.owner_external_id:
            found = self.by_link.get((case.source, case.owner_external_id))
        return found

    def manager_of(self, case: ClosedCase) -> int | None:
        email = case.account_manager_email
        return self.by_email.get(email.lower()) if email else None

    def touches(
        self,
        case: ClosedCase,
        case_id: int,
        team: Team,
        owner_id: int | None,
        now: datetime,
        *,
        skip_late: bool = True,
    ) -> tuple[list[tuple[object, ...]], int]:
        """Follow-up rows (bulk.FOLLOWUP_COLUMNS) for one new case, and how many touches
        were already too late.

        With `skip_late` (a backfill), touches already past their cut-off are not planned;
        without it (a webhook) every touch is, as `plan_case` does.
        """
        manager_id = self.manager_of(case)
        owner = self.agents.get(owner_id) if owner_id is not None else None
        lead_id = owner.lead_id if owner is not None and owner.lead_id else None
        lead_id = lead_id or self.first_lead.get(team.id)
        # Everything the steps depend on: the facts rules match and plan on, the team, and
        # who the people are (their calendars are the planner's, one per team and person).
        key = (
            *_facts_key(case),
            team.id,
            owner_id,
            bool(case.account_manager_email),
            manager_id,
            lead_id,
        )
        plan = self._steps.get(key)
        if plan is None:
            plan = self._steps[key] = self._work_out(case, team, owner_id, manager_id, lead_id)
        closed_at = case.closed_at.astimezone(UTC)
        if skip_late and closed_at + plan.late_after <= now:
            return [], plan.touches
        rows: list[tuple[object, ...]] = []
        late = 0
        lead_calendar, overdue = plan.lead_calendar, plan.overdue
        for step, head in plan.steps:
            due, remind_at, lead_at, missed_at = touch_times(
                step.calendar, closed_at + step.after.delta, lead_calendar, overdue
            )
            if skip_late and missed_at <= now:
                late += 1  # weeks late reads as admin, not care: history only
                continue
            rows.append((*head, now, now, case_id, due, remind_at, lead_at, missed_at))
        return rows, late

    def _work_out(
        self,
        case: ClosedCase,
        team: Team,
        owner_id: int | None,
        manager_id: int | None,
        lead_id: int | None,
    ) -> _Steps:
        def calendar_for(role: str) -> WorkingCalendar | None:
            if role == Role.ACCOUNT_MANAGER:
                if not case.account_manager_email:
                    return None
                return self.calendar(team, manager_id)
            if role == Role.LEAD:
                return self.calendar(team, lead_id) if lead_id else None
            return self.calendar(team, owner_id)

        rule = self.policy.match(case).rule
        ids = {Role.OWNER: owner_id, Role.ACCOUNT_MANAGER: manager_id, Role.LEAD: lead_id}
        steps = touch_steps(case, rule, self.policy, calendar_for)
        return _Steps(
            touches=len(rule.touches),
            late_after=late_after(rule),
            lead_calendar=calendar_for(Role.LEAD.value),
            overdue=rule.overdue,
            # The draft_flags list in each head is shared by the rows built from it: rows
            # are only ever inserted, never changed in place.
            steps=tuple((step, row_head(step, 1, ids.get(step.role))) for step in steps),
        )
