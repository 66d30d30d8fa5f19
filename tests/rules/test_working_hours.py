"""Working calendars: windows in local time, across zones, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.working_hours import CalendarError, WorkingCalendar, parse_days

LONDON = WorkingCalendar.parse(tz="Europe/London", days="mon-fri", start="09:00", end="17:30")
NEW_YORK = WorkingCalendar.parse(tz="America/New_York")
TOKYO = WorkingCalendar.parse(tz="Asia/Tokyo", start="09:00", end="18:00")
KOLKATA = WorkingCalendar.parse(tz="Asia/Kolkata", start="09:30", end="18:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


# --- building a calendar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sun-thu", {6, 0, 1, 2, 3}),  # a range may wrap round the weekend
        ("Mon,Wed,fri", {0, 2, 4}),
        ("mon-wed, sat", {0, 1, 2, 5}),
        ("monday-tuesday", {0, 1}),
        (["tue", "thu"], {1, 3}),
    ],
)
def test_working_days_are_parsed_from_names_and_ranges(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


def test_parse_builds_the_calendar_from_text() -> None:
    calendar = WorkingCalendar.parse(
        tz="Europe/London", days="mon-fri", start="09:00", end="17:30", holidays=["2026-12-25"]
    )
    assert calendar == WorkingCalendar(
        tz="Europe/London",
        days=frozenset(range(5)),
        start=time(9),
        end=time(17, 30),
        holidays=frozenset({date(2026, 12, 25)}),
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tz": "Europe/Lodnon"}, "tz: unknown time zone 'Europe/Lodnon'"),
        ({"days": "mon-fry"}, "days: unknown day 'fry' in 'mon-fry'"),
        ({"days": []}, "days: a calendar needs at least one working day"),
        ({"start": "9am"}, "start: expected a time of day like 09:00, got '9am'"),
        ({"end": "25:00"}, "end: expected a time of day like 09:00, got '25:00'"),
        ({"start": "18:00", "end": "09:00"}, "end: the working day must end after it starts"),
        ({"holidays": ["25/12/2026"]}, "holidays[0]: expected a date like 2026-12-25"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_bad_part(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(CalendarError) as error:
        WorkingCalendar.parse(**arguments)  # type: ignore[arg-type]
    assert str(error.value).startswith(message)


def test_a_calendar_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one working day"):
        WorkingCalendar(tz="UTC", days=frozenset(), start=time(9), end=time(17))


# --- inside or outside working hours ----------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (local("Europe/London", 2026, 6, 8, 8, 59), False),  # Monday, before the day starts
        (local("Europe/London", 2026, 6, 8, 9, 0), True),  # the first minute
        (local("Europe/London", 2026, 6, 8, 17, 29), True),
        (local("Europe/London", 2026, 6, 8, 17, 30), False),  # the end is not part of the day
        (local("Europe/London", 2026, 6, 6, 12, 0), False),  # Saturday
        (local("Europe/London", 2026, 6, 7, 12, 0), False),  # Sunday
        (utc(2026, 6, 8, 8, 30), True),  # 09:30 BST: the zone of the input does not matter
    ],
)
def test_is_working_in_london(moment: datetime, working: bool) -> None:
    assert LONDON.is_working(moment) is working


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        LONDON.is_working(datetime(2026, 6, 8, 10, 0))


def test_inside_working_hours_the_window_starts_now_and_the_result_is_utc() -> None:
    moment = local("Europe/London", 2026, 6, 8, 10, 15)
    start = LONDON.next_window_start(moment)
    assert start == moment
    assert start.tzinfo is UTC


def test_friday_evening_moves_to_monday_morning() -> None:
    friday_evening = local("Europe/London", 2026, 6, 5, 18, 0)
    assert LONDON.next_window_start(friday_evening) == local("Europe/London", 2026, 6, 8, 9, 0)


def test_before_hours_moves_to_the_same_morning() -> None:
    early = local("Europe/London", 2026, 6, 9, 6, 45)
    assert LONDON.next_window_start(early) == local("Europe/London", 2026, 6, 9, 9, 0)


def test_window_end_is_the_end_of_the_current_or_next_window() -> None:
    assert LONDON.window_end(local("Europe/London", 2026, 6, 8, 10, 0)) == local(
        "Europe/London", 2026, 6, 8, 17, 30
    )
    assert LONDON.window_end(local("Europe/London", 2026, 6, 6, 10, 0)) == local(
        "Europe/London", 2026, 6, 8, 17, 30
    )


# --- time zones -------------------------------------------------------------------------------


def test_new_york_works_in_its_own_zone() -> None:
    # Friday 22:00 UTC is 18:00 in New York (EDT, UTC-4): after hours, so Monday 09:00 EDT.
    assert NEW_YORK.next_window_start(utc(2026, 6, 5, 22, 0)) == utc(2026, 6, 8, 13, 0)
    assert NEW_YORK.is_working(utc(2026, 6, 5, 20, 0))  # 16:00 EDT
    assert not LONDON.is_working(utc(2026, 6, 5, 20, 0))  # 21:00 BST


def test_tokyo_monday_starts_on_sunday_in_utc() -> None:
    # 09:00 JST (UTC+9, no DST) on Monday is 00:00 UTC on Monday; Sunday 23:59 UTC is too early.
    assert TOKYO.next_window_start(utc(2026, 6, 7, 12, 0)) == utc(2026, 6, 8, 0, 0)
    assert not TOKYO.is_working(utc(2026, 6, 7, 23, 59))
    assert TOKYO.is_working(utc(2026, 6, 8, 8, 59))  # 17:59 JST


def test_kolkata_half_hour_offset() -> None:
    # Asia/Kolkata is UTC+05:30: 09:30 IST is 04:00 UTC.
    assert not KOLKATA.is_working(utc(2026, 6, 8, 3, 59))
    assert KOLKATA.is_working(utc(2026, 6, 8, 4, 0))
    assert KOLKATA.next_window_start(utc(2026, 6, 8, 1, 0)) == utc(2026, 6, 8, 4, 0)


def test_a_sunday_to_thursday_week() -> None:
    dubai = WorkingCalendar.parse(tz="Asia/Dubai", days="sun-thu", start="08:00", end="17:00")
    friday = local("Asia/Dubai", 2026, 6, 5, 10, 0)
    assert not dubai.is_working(friday)
    assert dubai.next_window_start(friday) == local("Asia/Dubai", 2026, 6, 7, 8, 0)  # Sunday


# --- holidays ---------------------------------------------------------------------------------


def test_holidays_are_skipped_as_local_dates() -> None:
    christmas = WorkingCalendar.parse(tz="Europe/London", holidays=["2026-12-25", "2026-12-28"])
    thursday_evening = local("Europe/London", 2026, 12, 24, 18, 0)
    # Fri 25 and Mon 28 are bank holidays, Sat and Sun are off: Tuesday 29 Dec.
    assert christmas.next_window_start(thursday_evening) == utc(2026, 12, 29, 9, 0)
    assert not christmas.is_working(local("Europe/London", 2026, 12, 25, 11, 0))


def test_a_search_is_capped_when_holidays_swallow_every_working_day() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(120)]
    hopeless = WorkingCalendar.parse(tz="UTC", days="mon", holidays=mondays)
    with pytest.raises(CalendarError, match="no working window in 400 days"):
        hopeless.next_window_start(utc(2026, 1, 1))


# --- daylight saving --------------------------------------------------------------------------


def test_london_spring_forward_keeps_nine_oclock_local() -> None:
    # Clocks go forward on Sunday 29 March 2026: Friday 09:00 is GMT, Monday 09:00 is BST.
    saturday = utc(2026, 3, 28, 12, 0)
    assert LONDON.next_window_start(saturday) == utc(2026, 3, 30, 8, 0)
    assert LONDON.window_end(utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 27, 17, 30)


def test_london_fall_back_keeps_nine_oclock_local() -> None:
    # Clocks go back on Sunday 25 October 2026: Friday 09:00 is BST, Monday 09:00 is GMT.
    assert LONDON.next_window_start(utc(2026, 10, 23, 7, 0)) == utc(2026, 10, 23, 8, 0)
    assert LONDON.next_window_start(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 26, 9, 0)


def test_new_york_dst_changes() -> None:
    # Forward on Sunday 8 March 2026 (EST UTC-5 to EDT UTC-4); back on Sunday 1 November.
    assert NEW_YORK.next_window_start(utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 9, 13, 0)
    assert NEW_YORK.next_window_start(utc(2026, 10, 31, 12, 0)) == utc(2026, 11, 2, 14, 0)


def test_a_window_across_the_missing_hour_is_an_hour_shorter() -> None:
    night = WorkingCalendar.parse(tz="Europe/London", days="mon-sun", start="00:00", end="06:00")
    start, end = night.window_on(date(2026, 3, 29)) or (None, None)
    assert (start, end) == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 5, 0))
    # Five real hours of work that Sunday night, then Monday's window.
    assert night.add_working_hours(utc(2026, 3, 29, 0, 0), 5) == utc(2026, 3, 29, 23, 0)


def test_a_start_in_the_repeated_hour_means_its_first_occurrence() -> None:
    # 01:30 happens twice on 25 October 2026 in London: first in BST (00:30 UTC), then in GMT.
    early = WorkingCalendar.parse(tz="Europe/London", days="mon-sun", start="01:30", end="06:00")
    assert early.next_window_start(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)


def test_a_start_in_the_skipped_hour_reads_with_the_offset_before_the_change() -> None:
    # 01:30 does not exist on 29 March 2026 in London; fold=0 reads it as GMT: 02:30 BST.
    early = WorkingCalendar.parse(tz="Europe/London", days="mon-sun", start="01:30", end="06:00")
    assert early.next_window_start(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 30)


# --- counting working hours -------------------------------------------------------------------


def test_add_working_hours_within_a_day() -> None:
    monday = local("Europe/London", 2026, 6, 8, 10, 0)
    assert LONDON.add_working_hours(monday, 4) == local("Europe/London", 2026, 6, 8, 14, 0)


def test_add_working_hours_across_a_weekend() -> None:
    # Friday 15:30: two hours left that day, the other two on Monday from 09:00.
    friday = local("Europe/London", 2026, 6, 5, 15, 30)
    assert LONDON.add_working_hours(friday, 4) == local("Europe/London", 2026, 6, 8, 11, 0)


def test_add_working_hours_across_a_weekend_and_a_dst_change() -> None:
    # New York, Friday 6 March 16:00 EST: 1.5 h left, then 0.5 h on Monday 9 March (EDT).
    friday = local("America/New_York", 2026, 3, 6, 16, 0)
    assert NEW_YORK.add_working_hours(friday, 2) == utc(2026, 3, 9, 13, 30)


def test_add_working_hours_from_outside_hours_starts_counting_at_the_next_window() -> None:
    saturday = local("Europe/London", 2026, 6, 6, 12, 0)
    assert LONDON.add_working_hours(saturday, 1) == local("Europe/London", 2026, 6, 8, 10, 0)
    assert LONDON.add_working_hours(saturday, 0) == local("Europe/London", 2026, 6, 8, 9, 0)


def test_time_that_runs_out_at_the_end_of_the_day_lands_on_the_next_morning() -> None:
    friday = local("Europe/London", 2026, 6, 5, 13, 30)
    assert LONDON.add_working_hours(friday, 4) == local("Europe/London", 2026, 6, 8, 9, 0)


def test_add_working_hours_over_several_days() -> None:
    monday = local("Europe/London", 2026, 6, 8, 9, 0)
    # 8.5 h a day: 17 h is exactly Monday and Tuesday, so Wednesday 09:00.
    assert LONDON.add_working_hours(monday, 17) == local("Europe/London", 2026, 6, 10, 9, 0)


@pytest.mark.parametrize("hours", [-1, float("nan"), float("inf")])
def test_add_working_hours_refuses_nonsense(hours: float) -> None:
    with pytest.raises(ValueError, match="hours"):
        LONDON.add_working_hours(utc(2026, 6, 8, 10), hours)


# --- snooze targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "morning", "next_day"),
    [
        # Monday before work: this morning; the next working day is Tuesday.
        ((2026, 6, 8, 8, 0), (2026, 6, 8, 9, 0), (2026, 6, 9, 9, 0)),
        # Monday during work: both are Tuesday morning.
        ((2026, 6, 8, 10, 0), (2026, 6, 9, 9, 0), (2026, 6, 9, 9, 0)),
        # Friday afternoon: Monday.
        ((2026, 6, 5, 15, 0), (2026, 6, 8, 9, 0), (2026, 6, 8, 9, 0)),
        # Saturday: Monday.
        ((2026, 6, 6, 15, 0), (2026, 6, 8, 9, 0), (2026, 6, 8, 9, 0)),
    ],
)
def test_next_working_morning_and_day(
    moment: tuple[int, ...], morning: tuple[int, ...], next_day: tuple[int, ...]
) -> None:
    at = local("Europe/London", *moment)
    assert LONDON.next_working_morning(at) == local("Europe/London", *morning)
    assert LONDON.next_working_day(at) == local("Europe/London", *next_day)


def test_off_hours_reason_in_words() -> None:
    holidays = WorkingCalendar.parse(tz="Europe/London", holidays=["2026-12-25"])
    assert holidays.off_hours_reason(local("Europe/London", 2026, 6, 8, 10)) is None
    assert holidays.off_hours_reason(local("Europe/London", 2026, 6, 7, 10)) == (
        "on Sunday, not a working day"
    )
    assert holidays.off_hours_reason(local("Europe/London", 2026, 12, 25, 10)) == (
        "on a holiday (Fri 25 Dec 2026)"
    )
    assert holidays.off_hours_reason(local("Europe/London", 2026, 6, 8, 7, 15)) == (
        "at 07:15 local time, before working hours"
    )
    assert holidays.off_hours_reason(local("Europe/London", 2026, 6, 8, 19, 0)) == (
        "at 19:00 local time, after working hours"
    )


# --- a round-the-clock calendar (end "24:00") --------------------------------------------------

ALWAYS_LONDON = WorkingCalendar.parse(
    tz="Europe/London", days="mon-sun", start="00:00", end="24:00"
)


@pytest.mark.parametrize(
    "moment",
    [
        utc(2026, 12, 5, 23, 5),  # a Saturday evening
        utc(2026, 12, 6, 3, 0),  # a Sunday night
        utc(2026, 12, 31, 23, 59, 30),  # New Year's Eve, ISO week 53
        utc(2027, 1, 1, 0, 0),  # midnight exactly: one window ends as the next starts
        utc(2026, 3, 29, 1, 0),  # London's clocks go forward (01:00 UTC)
        utc(2026, 10, 25, 1, 0),  # and back (01:00 UTC is 01:00 GMT, the repeated hour)
        utc(2026, 10, 25, 0, 30),  # inside the first reading of the repeated hour
        utc(2026, 11, 30, 23, 59, 59),  # a month's last second
    ],
)
def test_a_24_hour_calendar_is_at_work_at_every_instant(moment: datetime) -> None:
    assert ALWAYS_LONDON.is_working(moment)
    assert ALWAYS_LONDON.next_window_start(moment) == moment
    assert ALWAYS_LONDON.off_hours_reason(moment) is None


def test_24_00_ends_the_window_at_the_next_local_midnight_across_dst() -> None:
    # 29 March 2026 in London has 23 hours, 25 October 25.
    assert ALWAYS_LONDON.window_on(date(2026, 3, 29)) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))
    assert ALWAYS_LONDON.window_on(date(2026, 10, 25)) == (
        utc(2026, 10, 24, 23),
        utc(2026, 10, 26, 0),
    )


def test_working_hours_on_a_24_hour_calendar_are_wall_time() -> None:
    assert ALWAYS_LONDON.add_working_hours(utc(2026, 12, 31, 23, 0), 2) == utc(2027, 1, 1, 1, 0)
    assert ALWAYS_LONDON.add_working_hours(utc(2026, 10, 24, 22, 0), 4) == utc(2026, 10, 25, 2, 0)


def test_24_00_is_only_an_end_and_never_a_start() -> None:
    with pytest.raises(CalendarError, match="start: expected a time of day like 09:00"):
        WorkingCalendar.parse(start="24:00")
    with pytest.raises(CalendarError, match="end: expected a time of day like 09:00"):
        WorkingCalendar.parse(end="24:30")


def test_a_24_hour_calendar_survives_the_team_row_as_text() -> None:
    from bot.planning.plan import team_calendar_fields

    fields = team_calendar_fields(ALWAYS_LONDON)
    assert (fields["work_start"], fields["work_end"]) == ("00:00", "24:00")
    again = WorkingCalendar.parse(
        tz=fields["timezone"],
        days=fields["working_days"],
        start=fields["work_start"],
        end=fields["work_end"],
    )
    assert again == ALWAYS_LONDON
