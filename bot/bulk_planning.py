"""Planning thousands of cases at once: exact, memoised stand-ins for the policy and calendars.

`plan_touches` is pure, so a backfill can call it per row; what makes that slow is re-matching
the same facts against every rule and re-deriving the same working windows day after day. These
subclasses answer the same questions from tables built once, and fall back to the originals
outside them, so a plan is identical to the one `accept_case` would make (a test checks it).
"""

from __future__ import annotations

import bisect
import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.policy import CaseFacts, Match, Policy
from bot.working_hours import WorkingCalendar

TABLE_DAYS_BEFORE = 7
TABLE_DAYS_AFTER = 120
"""Windows tabled around a moment first asked about; beyond them the table is extended."""


class MemoPolicy(Policy):
    """A policy whose `match` remembers the rule per distinct set of case facts."""

    _memo: dict[tuple[Any, ...], Match]

    @classmethod
    def of(cls, policy: Policy) -> MemoPolicy:
        memo = cls(**{f.name: getattr(policy, f.name) for f in dataclasses.fields(policy)})
        object.__setattr__(memo, "_memo", {})
        return memo

    def match(self, case: CaseFacts) -> Match:
        key = (
            case.kind,
            case.severity,
            case.channel,
            case.b2b,
            case.senior_involved,
            tuple(case.tags),
            case.team,
        )
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = super().match(case)
        return found


class TabledCalendar(WorkingCalendar):
    """A calendar answering `next_window_start` and `add_working_hours` by binary search.

    The windows of a span of local dates are computed once (with `window_on`, so DST and
    holidays are the original's), with the working time before each; a moment outside the
    span extends it.
    """

    _starts: list[datetime]
    _ends: list[datetime]
    _worked: list[timedelta]
    _span: tuple[date, date] | None
    _bounds: tuple[datetime, datetime] | None

    @classmethod
    def of(cls, calendar: WorkingCalendar) -> TabledCalendar:
        tabled = cls(**{f.name: getattr(calendar, f.name) for f in dataclasses.fields(calendar)})
        empty: tuple[tuple[str, object], ...] = (
            ("_starts", []),
            ("_ends", []),
            ("_worked", []),
            ("_span", None),
            ("_bounds", None),
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
