"""Snoozing a follow-up: every option lands inside the agent's working hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.deps import Deps
from bot.loop import views as ov
from bot.loop.access import load_followup, why_not
from bot.loop.outcomes import Done, Errors, audit_action, done_for
from bot.planning.plan import calendar_of
from bot.rules.working_hours import WorkingCalendar

SNOOZE_LIMIT_YEARS = 1
"""A snooze may go at most this far ahead (a date beyond is a typo, or a loop never closed)."""


def latest_snooze_day(today: date) -> date:
    """The last date a snooze may pick: the same date one year on (29 February: 28 February)."""
    try:
        return today.replace(year=today.year + SNOOZE_LIMIT_YEARS)
    except ValueError:
        return today.replace(year=today.year + SNOOZE_LIMIT_YEARS, day=28)


def too_far_text(latest: date) -> str:
    return f"That is more than one year ahead: pick a date up to {latest:%a} {latest.isoformat()}."


def shown_moment(moment: datetime, now: datetime) -> str:
    """ "Tue 01 Dec 09:00", with the year when it is not the year of `now` (in `moment`'s zone)."""
    if moment.year != now.astimezone(moment.tzinfo).year:
        return f"{moment:%a %d %b %Y %H:%M}"
    return f"{moment:%a %d %b %H:%M}"


def snooze_until(
    option: str, picked: date | None, now: datetime, calendar: WorkingCalendar
) -> datetime:
    """When a snooze option lands, always at a moment inside the agent's working hours."""
    if option == "later_today":
        return calendar.add_working_hours(calendar.next_window_start(now), 3)
    if option == "next_morning":
        return calendar.next_working_morning(now)
    if option == "next_day":
        return calendar.next_working_day(now)
    if option == "three_days":
        return calendar.next_window_start(now + timedelta(days=3))
    if option == "pick_date" and picked is not None:
        midnight = datetime.combine(picked, time(0, 0), tzinfo=calendar.zone)
        return calendar.next_window_start(max(midnight, now))
    raise ValueError(f"unknown snooze option {option!r}")


def record_snooze(
    deps: Deps, user_id: str, meta: ov.ModalMeta, form: ov.SnoozeForm
) -> tuple[Errors | None, Done | None]:
    """ "Snooze" from the modal: the option and, for "pick a date", the date."""
    return apply_snooze(deps, user_id, meta, form.option, form.picked)


def apply_snooze(
    deps: Deps, user_id: str, meta: ov.ModalMeta, option: str | None, picked: date | None
) -> tuple[Errors | None, Done | None]:
    """Plan the follow-up again for the chosen working moment; errors keyed by field ("when",
    "date")."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, meta.followup_id, lock=True)
        refusal = why_not(session, followup, user_id)
        if refusal is not None:
            return {"when": refusal}, None
        calendar = calendar_of(deps, followup.case.team, followup.assignee)
        if option is None or option not in ov.SNOOZES:
            return {"when": "Choose when to be reminded."}, None
        if option == "pick_date":
            if picked is None:
                return {"date": "Pick a date."}, None
            today = now.astimezone(calendar.zone).date()
            if picked < today:
                return {"date": "That date has passed: pick today or later."}, None
            # Checked before any arithmetic: 9999-12-31 plus a day would overflow.
            if picked > latest_snooze_day(today):
                return {"date": too_far_text(latest_snooze_day(today))}, None
        until = snooze_until(option, picked, now, calendar)
        followup.state = "planned"
        followup.due_at = until
        followup.snoozed_until = until
        # A fresh delivery: the earlier DM is not a crashed send to reconcile against.
        followup.attempts = 0
        followup.claimed_by = None
        followup.lease_until = None
        followup.version += 1
        followup.updated_at = now
        audit_action(
            session,
            now,
            user_id,
            meta.surface,
            followup,
            "snoozed",
            {"until": until.isoformat(), "option": option},
        )
        done = done_for(followup)
        local = until.astimezone(calendar.zone)
        done.confirmation = f"Snoozed until {shown_moment(local, now)} ({calendar.tz})."
        return None, done
