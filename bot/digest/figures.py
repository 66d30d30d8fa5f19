"""One definition for each loop figure, worded once: the digest, `/followup stats`, App Home
and the CSV export all count and say them this way.

Counts (db/digest.py, `DueCounts` and `HoldCounts`):

- loops due: follow-ups due in the period (not cancelled); each is exactly one of
  closed on time, closed late, missed (cut-off passed with no outcome) or still open,
  so "2 of 5 due closed on time" never sits beside a larger "missed";
- resolutions that held: outcomes recorded in the period saying the fix held
  ("resolved", or "unhappy": resolved, but unhappy with how it went) and whose case was
  not reopened since, out of those plus the ones that did not hold ("still not right", or
  said to hold and reopened in the helpdesk since). "Unhappy" counts as held (the fix held)
  and is shown beside the rate, because the experience did not.

A change against earlier weeks is given as a percentage only when the earlier weeks' average
is at least MIN_CHANGE_BASE; below that a percentage of a near-zero base says nothing
("+1900%" over an average of 0.2), so the digest gives both numbers instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from db import digest as digest_store
from db.digest import DueCounts, HoldCounts

MIN_CHANGE_BASE = 5.0
"""The smallest previous-period average a percentage change is computed against."""


def rate_text(part: int, whole: int, what: str) -> str:
    """ "2 of 5 due closed on time (40%)"; "none due" with no denominator."""
    if whole == 0:
        return f"none {what.split(' ', 1)[0]}"
    return f"{part} of {whole} {what} ({part / whole:.0%})"


def change_text(now: int, previous: Sequence[int]) -> str:
    """`now` against the average of `previous`: a percentage only over a base that means
    something (MIN_CHANGE_BASE), otherwise the two absolute numbers."""
    if not previous:
        return f"{now}"
    average = sum(previous) / len(previous)
    shown = f"{average:.1f}".removesuffix(".0")
    weeks = f"the previous {len(previous)} weeks" if len(previous) > 1 else "the week before"
    if average < MIN_CHANGE_BASE:
        return f"{now}, against an average of {shown} over {weeks}"
    change = (now - average) / average
    return f"{now}, against an average of {shown} over {weeks} ({change:+.0%})"


def hold_text(hold: HoldCounts) -> str:
    """ "3 of 5 answered (60%)", or "no answers yet"."""
    if hold.answered == 0:
        return "no answers yet"
    return rate_text(hold.held, hold.answered, "answered")


def hold_rate(hold: HoldCounts) -> float | None:
    return hold.held / hold.answered if hold.answered else None


def due_lines(due: DueCounts) -> list[str]:
    """The loop figures as bullet lines (without bullets), each with its denominator."""
    if due.due == 0:
        return ["Follow-ups due: 0"]
    return [
        f"Follow-ups due: {due.due}",
        f"Closed on time: {rate_text(due.on_time, due.due, 'due')}",
        f"Closed late: {due.late} · missed (cut-off passed, no outcome): {due.missed}"
        f" · still open: {due.still_open}",
    ]


@dataclass(frozen=True)
class PeriodFigures:
    """One agent's or one team's figures over a period (stats and App Home)."""

    due: DueCounts
    hold: HoldCounts


def period_figures(
    session: Session,
    start: datetime,
    now: datetime,
    *,
    team_id: int | None = None,
    agent_id: int | None = None,
) -> PeriodFigures:
    """Follow-ups due from `start` to `now` and the outcomes recorded in that time (`now`
    included: an outcome recorded this instant already counts)."""
    bounds = [start, now + timedelta(microseconds=1)]
    [due] = digest_store.due_counts(session, bounds, now, team_id=team_id, agent_id=agent_id)
    [hold] = digest_store.hold_counts(session, bounds, team_id=team_id, agent_id=agent_id)
    return PeriodFigures(due, hold)


def loop_state(
    missed_at: datetime | None, recorded_at: datetime | None, state: str, now: datetime
) -> str:
    """One follow-up as `DueCounts` counts it: on time, late, missed or open (the CSV's
    per-row form of the same rule; tests/digest check the two agree)."""
    if recorded_at is not None and recorded_at <= now:
        return "late" if missed_at is not None and recorded_at > missed_at else "on time"
    if missed_at is not None and missed_at <= now and state != "triage":
        return "missed"
    return "open"


def held(result: str | None, reopened_since: bool) -> bool | None:
    """Whether an outcome says the fix held, as `HoldCounts` counts it (None: says nothing)."""
    if result == "not_resolved":
        return False
    if result in digest_store.HELD_RESULTS:
        return not reopened_since
    return None
