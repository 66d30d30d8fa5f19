"""Working time between two instants: what the DM lateness metric measures (bot/metrics.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.working_hours import WorkingCalendar

LONDON = WorkingCalendar.parse(tz="Europe/London", days="mon-fri", start="09:00", end="17:30")
NEW_YORK = WorkingCalendar.parse(tz="America/New_York")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/London"))


def test_inside_one_window_it_is_the_plain_difference() -> None:
    assert LONDON.working_time_between(london(2026, 6, 8, 10), london(2026, 6, 8, 11, 15)) == (
        timedelta(hours=1, minutes=15)
    )


def test_nights_and_weekends_do_not_count() -> None:
    # Friday 16:30 to Monday 10:00: one hour on Friday, one on Monday.
    friday, monday = london(2026, 6, 5, 16, 30), london(2026, 6, 8, 10)
    assert LONDON.working_time_between(friday, monday) == timedelta(hours=2)


def test_a_start_outside_hours_counts_from_the_next_window() -> None:
    saturday, monday = london(2026, 6, 6, 12), london(2026, 6, 8, 9, 30)
    assert LONDON.working_time_between(saturday, monday) == timedelta(minutes=30)


def test_an_end_outside_hours_stops_at_the_last_window() -> None:
    monday, night = london(2026, 6, 8, 17), london(2026, 6, 8, 23)
    assert LONDON.working_time_between(monday, night) == timedelta(minutes=30)


def test_no_working_time_between_an_instant_and_an_earlier_or_the_same_one() -> None:
    moment = london(2026, 6, 8, 10)
    assert LONDON.working_time_between(moment, moment) == timedelta()
    assert LONDON.working_time_between(moment, moment - timedelta(hours=3)) == timedelta()


def test_a_weekend_with_a_dst_change_counts_each_window_in_its_own_offset() -> None:
    # New York, Friday 6 March 2026 16:00 EST to Monday 9 March 10:00 EDT: 1.5 h + 1 h.
    friday = datetime(2026, 3, 6, 16, tzinfo=ZoneInfo("America/New_York"))
    monday = datetime(2026, 3, 9, 10, tzinfo=ZoneInfo("America/New_York"))
    assert NEW_YORK.working_time_between(friday, monday) == timedelta(hours=2.5)


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    hours=st.floats(min_value=0, max_value=200),
)
def test_it_undoes_add_working_hours(start: datetime, hours: float) -> None:
    """`add_working_hours(start, h)` lies `h` hours of working time after `start` (counted
    from the next window when `start` is outside hours)."""
    moment = start.replace(tzinfo=ZoneInfo("Europe/London"))
    later = LONDON.add_working_hours(moment, hours)
    measured = LONDON.working_time_between(moment, later)
    assert abs(measured - timedelta(hours=hours)) < timedelta(microseconds=2)
