"""`/followup away until <date>` and `/followup away off`: who covers while an agent is away.

"Away until Dec 1" means back on Dec 1: `away_until` is the start (local midnight) of that
date in the agent's own Slack time zone. Midnight rather than the start of that day's working
window, so a touch due early on the day of return waits a few hours for its own agent (the
dispatcher defers it to their working window) instead of being handed to the backup.

While away, the dispatcher hands the agent's due touches to `cover_for`: their backup, else
their lead, else the team's lead (anyone of those who is away too is passed over). With nobody
to cover, the touches wait until the agent is back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.commands import Invocation, Reply
from bot.people.profiles import ensure_profile
from bot.people.roster import UNKNOWN_CALLER, known_caller
from bot.planning.plan import team_lead
from bot.slack.text import escape
from db import cases as store
from db.models import Agent

MAX_AWAY_DAYS = 366
EXAMPLES = "`2026-12-01`, `dec 1`, `1 december`, `tomorrow` or `monday`"
USAGE = (
    "Use `/followup away until &lt;date&gt;` (for example "
    f"{EXAMPLES}) for the day you are back, or `/followup away off`."
)

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_YEAR = re.compile(r"^\d{4}$")


class AwayDateError(ValueError):
    """A return date that cannot be used; the message says what is wrong, for the agent."""


def _month(word: str) -> int | None:
    word = word.rstrip(".")
    if len(word) < 3:
        return None
    for number, name in enumerate(_MONTHS, start=1):
        if name.startswith(word):
            return number
    return None


def _weekday(word: str) -> int | None:
    if len(word) < 3:
        return None
    for number, name in enumerate(_WEEKDAYS):
        if name.startswith(word):
            return number
    return None


def _make_date(year: int, month: int, day: int, shown: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            raise AwayDateError(f"`{shown}` has no month {month}.") from None
        raise AwayDateError(
            f"`{shown}`: {_MONTHS[month - 1].capitalize()} {year} has no day {day}."
        ) from None


def parse_return_date(words: list[str], today: date) -> date:
    """The day the agent is back, from the words after `until`; `today` is their local date."""
    text = " ".join(words).strip()
    tokens = [t for t in re.split(r"[\s,]+", text.lower()) if t]
    if tokens and tokens[0] in ("next", "on", "this"):
        tokens = tokens[1:]
    if not tokens:
        raise AwayDateError(f"Tell me the day you are back. {USAGE}")
    day: date | None = None
    if len(tokens) == 1 and (iso := _ISO.match(tokens[0])):
        year, month, number = (int(g) for g in iso.groups())
        day = _make_date(year, month, number, text)
    elif tokens == ["tomorrow"]:
        day = today + timedelta(days=1)
    elif tokens == ["today"]:
        raise AwayDateError("`today`: give the day you are *back*, after today (e.g. `tomorrow`).")
    elif len(tokens) == 1 and (weekday := _weekday(tokens[0])) is not None:
        ahead = (weekday - today.weekday()) % 7 or 7  # "monday" on a Monday means next week's
        day = today + timedelta(days=ahead)
    elif len(tokens) in (2, 3):
        day = _month_and_day(tokens, today, text)
    if day is None:
        raise AwayDateError(f"I can't read `{text}` as a date. Try {EXAMPLES}.")
    if day <= today:
        raise AwayDateError(
            f"`{text}` is {_long(day)}, which is not after today ({_long(today)}): "
            "give the day you are back."
        )
    if day > today + timedelta(days=MAX_AWAY_DAYS):
        raise AwayDateError(
            f"`{text}` is {_long(day)}, more than a year away: pick a nearer return date."
        )
    return day


def _month_and_day(tokens: list[str], today: date, text: str) -> date | None:
    """`dec 1`, `1 dec`, `december 1st`, optionally followed by a year."""
    year: int | None = None
    if len(tokens) == 3:
        if not _YEAR.match(tokens[2]):
            return None
        year = int(tokens[2])
    first, second = tokens[0], tokens[1]
    month, number = _month(first), _DAY.match(second)
    if month is None or number is None:
        month, number = _month(second), _DAY.match(first)
    if month is None or number is None:
        return None
    day_of_month = int(number.group(1))
    if year is not None:
        return _make_date(year, month, day_of_month, text)
    for year in range(today.year, today.year + 9):  # the next such date ("dec 1" in December)
        try:
            candidate = date(year, month, day_of_month)
        except ValueError:
            continue
        if candidate > today:
            return candidate
    return _make_date(today.year, month, day_of_month, text)  # raises: no such day


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def return_instant(day: date, tz: str) -> datetime:
    """The moment an agent is back: local midnight starting `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def is_away(agent: Agent, now: datetime) -> bool:
    """Away now, or deactivated in Slack (away for good: someone else covers)."""
    return agent.deactivated or (agent.away_until is not None and agent.away_until > now)


def cover_for(session: Session, agent: Agent, now: datetime) -> Agent | None:
    """Who takes an away agent's touches: backup, else their lead, else the team's lead."""
    candidates = [agent.backup, agent.lead, team_lead(session, agent.team, None)]
    for candidate in candidates:
        if candidate is not None and candidate.id != agent.id and not is_away(candidate, now):
            return candidate
    return None


def _mention(agent: Agent) -> str:
    return f"<@{agent.slack_user_id}>"


def away_command(call: Invocation) -> Reply:
    """`/followup away until <date>`, `/followup away off`, or `/followup away` for the status."""
    deps, now = call.deps, call.deps.clock.now()
    caller = known_caller(deps, call.user_id)
    if caller is None:  # nobody the bot knows: no row is made for them
        return Reply(text=UNKNOWN_CALLER)
    agent_id = caller.id
    agent = ensure_profile(deps, agent_id)  # their own time zone, fresh from users.info
    tz = agent.timezone or deps.policy.calendar.tz
    words = list(call.args)
    verb = words[0].lower() if words else ""
    if verb in ("off", "back", "cancel", "stop"):
        return _back(call, agent_id)
    if not words:
        return _status(call, agent_id, tz)
    if verb == "until":
        words = words[1:]
    today = now.astimezone(ZoneInfo(tz)).date()
    try:
        day = parse_return_date(words, today)
    except AwayDateError as error:
        # The message quotes what the user typed: escaped, so it can never ping anyone.
        return Reply(text=f":warning: {escape(str(error))}")
    until = return_instant(day, tz)
    with deps.session_factory.begin() as session:
        stored = session.get(Agent, agent_id)
        assert stored is not None
        stored.away_until = until
        cover = cover_for(session, stored, now)
        covered_by = _mention(cover) if cover else None
        store.audit(
            session,
            at=now,
            actor=call.user_id,
            surface="command",
            entity="agent",
            entity_id=agent_id,
            action="away",
            detail={"until": until.isoformat(), "cover": cover.slack_user_id if cover else None},
        )
    who = (
        f"{covered_by} gets the follow-ups that fall due while you are away; "
        "you will both get a note of what was handed over."
        if covered_by
        else "Nobody is configured to cover for you (no backup or lead): your follow-ups "
        "will wait until you are back. Ask your lead to set a backup."
    )
    return Reply(
        text=f":palm_tree: You are away until {_long(day)} (back from the start of that day, "
        f"{tz} time). {who} `/followup away off` when you are back early."
    )


def _back(call: Invocation, agent_id: int) -> Reply:
    deps, now = call.deps, call.deps.clock.now()
    with deps.session_factory.begin() as session:
        stored = session.get(Agent, agent_id)
        assert stored is not None
        was_away = is_away(stored, now)
        stored.away_until = None
        if was_away:
            store.audit(
                session,
                at=now,
                actor=call.user_id,
                surface="command",
                entity="agent",
                entity_id=agent_id,
                action="back",
                detail={},
            )
    if not was_away:
        return Reply(text=f"You were not marked away. {USAGE}")
    return Reply(text=":wave: Welcome back: your follow-ups come to you again.")


def _status(call: Invocation, agent_id: int, tz: str) -> Reply:
    deps, now = call.deps, call.deps.clock.now()
    with deps.session_factory() as session:
        stored = session.get(Agent, agent_id)
        assert stored is not None
        if not is_away(stored, now) or stored.away_until is None:
            return Reply(text=f"You are not marked away. {USAGE}")
        back = stored.away_until.astimezone(ZoneInfo(tz)).date()
        cover = cover_for(session, stored, now)
        covered = f"{_mention(cover)} covers for you." if cover else "Nobody covers for you."
    return Reply(
        text=f"You are away until {_long(back)}. {covered} `/followup away off` when you are back."
    )
