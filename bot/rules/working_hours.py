"""Working calendars: when a person may be nudged, in their own time zone.

A calendar has one working window per working day (local `start` to `end`, never across
midnight; `end` "24:00" works to the end of the day, so a mon-sun 00:00-24:00 calendar is at
work at every instant, as a round-the-clock team is). Every method takes and returns
time-zone aware datetimes; results are in UTC.
Local times that a DST change skips or repeats follow zoneinfo's `fold=0` reading: a
repeated time means its first occurrence, a skipped one is read with the offset in force
before the change (so a window "starting" at a skipped 02:30 starts at 03:30 new time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_SEARCH_DAYS = 400
"""How many consecutive days without a working window a search crosses before giving up."""

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
END_OF_DAY = time.max
"""A window's `end` that runs to local midnight: written "24:00" in a policy or on a team."""

Window = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A calendar that cannot be built, or a search that found no working time."""


def _day_number(name: str, text: str) -> int:
    key = name.strip().lower()
    for names in (DAY_NAMES, _FULL_DAY_NAMES):
        if key in names:
            return names.index(key)
    raise CalendarError(
        f"days: unknown day {name.strip()!r} in {text!r} (use {', '.join(DAY_NAMES)})"
    )


def parse_days(value: str | Iterable[str]) -> frozenset[int]:
    """Working days from "mon-fri", "sun-thu", "mon,wed,fri" or a list of day names (Mon=0)."""
    if not isinstance(value, str | list | tuple | set | frozenset):
        raise CalendarError(f"days: expected text like mon-fri or a list of days, got {value!r}")
    parts = value.split(",") if isinstance(value, str) else list(value)
    text = value if isinstance(value, str) else ",".join(parts)
    days: set[int] = set()
    for part in parts:
        if not isinstance(part, str) or not part.strip():
            raise CalendarError(f"days: empty day name in {text!r}")
        if "-" in part:
            first, _, last = part.partition("-")
            low, high = _day_number(first, text), _day_number(last, text)
            span = (high - low) % 7  # "sun-thu" wraps round the week end
            days.update((low + step) % 7 for step in range(span + 1))
        else:
            days.add(_day_number(part, text))
    return frozenset(days)


def parse_clock_time(value: str | time, name: str) -> time:
    """A local time of day from "09:00" (or a `time`), naming `name` when malformed.

    "24:00" (the end of the day) is accepted for `end` only, as `END_OF_DAY`.
    """
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise CalendarError(f"{name}: a local time of day carries no time zone")
        return value
    if name == "end" and isinstance(value, str) and value.strip() == "24:00":
        return END_OF_DAY
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise CalendarError(f"{name}: expected a time of day like 09:00, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_holidays(values: Iterable[str | date]) -> frozenset[date]:
    """Local dates off work, from dates or "YYYY-MM-DD" strings."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise CalendarError(f"holidays: expected a list of dates, got {values!r}")
    holidays: set[date] = set()
    for index, value in enumerate(values):
        if isinstance(value, date) and not isinstance(value, datetime):
            holidays.add(value)
            continue
        if isinstance(value, str):
            try:
                holidays.add(date.fromisoformat(value.strip()))
                continue
            except ValueError:
                pass
        raise CalendarError(f"holidays[{index}]: expected a date like 2026-12-25, got {value!r}")
    return frozenset(holidays)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} needs a time zone (working-hours maths needs aware times)")
    return moment.astimezone(UTC)


def clock_text(moment: time) -> str:
    """A time of day as the policy file writes it: "09:00", and "24:00" for `END_OF_DAY`."""
    return "24:00" if moment == END_OF_DAY else f"{moment:%H:%M}"


def _fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


@dataclass(frozen=True)
class WorkingCalendar:
    """When one person (or a team by default) works: zone, days (Mon=0), hours, holidays."""

    tz: str
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarError(f"tz: unknown time zone {self.tz!r}") from None
        if not self.days:
            raise CalendarError("days: a calendar needs at least one working day")
        if not self.days <= set(range(7)):
            raise CalendarError(f"days: expected day numbers 0 (Mon) to 6 (Sun), got {self.days}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise CalendarError(f"{name}: expected a local time of day, got {value!r}")
        if self.start >= self.end:
            raise CalendarError(
                f"end: the working day must end after it starts ({clock_text(self.start)} to "
                f"{clock_text(self.end)}); windows across midnight are not supported (use "
                f"24:00 for a day that runs to midnight)"
            )
        for day in self.holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise CalendarError(f"holidays: expected local dates, got {day!r}")

    @classmethod
    def parse(
        cls,
        tz: str = "UTC",
        days: str | Iterable[str] = "mon-fri",
        start: str | time = "09:00",
        end: str | time = "17:30",
        holidays: Iterable[str | date] = (),
    ) -> WorkingCalendar:
        """Build from text as written in the policy file; errors name the bad part."""
        return cls(
            tz=tz,
            days=parse_days(days),
            start=parse_clock_time(start, "start"),
            end=parse_clock_time(end, "end"),
            holidays=parse_holidays(holidays),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # zoneinfo caches instances per key

    def local(self, moment: datetime) -> datetime:
        """`moment` as this calendar's wall-clock time."""
        return _aware(moment).astimezone(self.zone)

    def window_on(self, day: date) -> Window | None:
        """The working window (UTC start, UTC end) of a local date, or None on a day off."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        start = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        if self.end == END_OF_DAY:
            end_local = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)
        else:
            end_local = datetime.combine(day, self.end, tzinfo=self.zone)
        end = end_local.astimezone(UTC)
        return (start, end) if start < end else None

    def _windows_after(self, moment: datetime) -> Iterator[Window]:
        """Working windows that end after `moment`, earliest first."""
        day = self.local(moment).date() - timedelta(days=1)
        days_without = 0
        while True:
            window = self.window_on(day)
            if window is None:
                days_without += 1
                if days_without > MAX_SEARCH_DAYS:
                    raise CalendarError(
                        f"no working window in {MAX_SEARCH_DAYS} days after {_fmt_day(day)} "
                        f"in calendar {self.tz}: check its working days and holidays"
                    )
            else:
                days_without = 0
                if window[1] > moment:
                    yield window
            day += timedelta(days=1)

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` falls inside a working window."""
        moment = _aware(moment)
        start, _ = next(self._windows_after(moment))
        return start <= moment

    def next_window_start(self, moment: datetime) -> datetime:
        """`moment` itself when inside working hours, else the start of the next window."""
        moment = _aware(moment)
        start, _ = next(self._windows_after(moment))
        return max(start, moment)

    def window_end(self, moment: datetime) -> datetime:
        """The end of the window containing `moment` (or, outside hours, of the next one)."""
        return next(self._windows_after(_aware(moment)))[1]

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `moment`, counting only working windows.

        The result always lies inside a window: time that runs out exactly at a window's
        end lands at the start of the next one.
        """
        moment = _aware(moment)
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours: expected a finite number of hours >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        for start, end in self._windows_after(moment):
            begin = max(start, moment)
            available = end - begin
            if remaining < available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _windows_after never ends")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from `start` to `end`, counting only working windows (zero when
        `end` is not after `start`): how late a DM was in its assignee's own hours."""
        start, end = _aware(start), _aware(end)
        total = timedelta()
        if end <= start:
            return total
        for window_start, window_end in self._windows_after(start):
            if window_start >= end:
                return total
            total += min(window_end, end) - max(window_start, start)
        raise AssertionError("unreachable: _windows_after never ends")  # pragma: no cover

    def due_and_later(
        self, moment: datetime, first_hours: float, second_hours: float
    ) -> tuple[datetime, datetime, datetime]:
        """`next_window_start(moment)`, then `first_hours` and `second_hours` of working time
        after it: a touch's due, reminder and lead times (a tabled calendar finds all three
        from one lookup)."""
        due = self.next_window_start(moment)
        return (
            due,
            self.add_working_hours(due, first_hours),
            self.add_working_hours(due, second_hours),
        )

    def next_working_morning(self, moment: datetime) -> datetime:
        """The start of the first working window that begins after `moment` (today if early)."""
        moment = _aware(moment)
        for start, _ in self._windows_after(moment):
            if start > moment:
                return start
        raise AssertionError("unreachable")  # pragma: no cover

    def next_working_day(self, moment: datetime) -> datetime:
        """The start of the working window on the first working date after `moment`'s date."""
        today = self.local(moment).date()
        for start, _ in self._windows_after(_aware(moment)):
            if self.local(start).date() > today:
                return start
        raise AssertionError("unreachable")  # pragma: no cover

    def off_hours_reason(self, moment: datetime) -> str | None:
        """Why `moment` is outside working hours, in words ("on Sunday, not a working day")."""
        if self.is_working(moment):
            return None
        local = self.local(moment)
        if local.weekday() not in self.days:
            return f"on {local:%A}, not a working day"
        if local.date() in self.holidays:
            return f"on a holiday ({_fmt_day(local.date())})"
        if local.time() < self.start:
            return f"at {local:%H:%M} local time, before working hours"
        return f"at {local:%H:%M} local time, after working hours"
