"""`/followup away`: return dates in the agent's own zone, who covers, and the hand-off at dispatch.

The clock starts on Friday 20 Nov 2026 10:00 UTC. Ada is in London, Grace (lead) in New York,
Linus in Tokyo.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.people.away import AwayDateError, parse_return_date, return_instant
from bot.planning.plan import team_defaults
from bot.sandbox.waiting import wait_for
from db import cases as store
from db.models import Agent, FollowUp
from handlers.commands.followup import run_command

FRIDAY = date(2026, 11, 20)
FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "back"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("dec 1", date(2026, 12, 1)),
        ("Dec 1st", date(2026, 12, 1)),
        ("1 December", date(2026, 12, 1)),
        ("december 1, 2026", date(2026, 12, 1)),
        ("tomorrow", date(2026, 11, 21)),
        ("monday", date(2026, 11, 23)),
        ("next tue", date(2026, 11, 24)),
        ("friday", date(2026, 11, 27)),  # on a Friday, "friday" is next week's
        ("nov 19", date(2027, 11, 19)),  # a month and day already past means next year's
        ("jan 4", date(2027, 1, 4)),
    ],
)
def test_return_dates_people_write(words: str, back: date) -> None:
    assert parse_return_date(words.split(), FRIDAY) == back


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("", "Tell me the day you are back"),
        ("soonish", "can't read `soonish` as a date"),
        ("2026-02-30", "February 2026 has no day 30"),
        ("feb 30", "has no day 30"),
        ("2026-13-01", "no month 13"),
        ("2026-11-19", "not after today"),
        ("2026-11-20", "not after today"),
        ("today", "after today"),
        ("2028-01-05", "more than a year away"),
        ("dec 1 26", "can't read"),
    ],
)
def test_bad_return_dates_name_the_problem(words: str, problem: str) -> None:
    with pytest.raises(AwayDateError, match=problem):
        parse_return_date(words.split(), FRIDAY)


def test_back_on_a_day_means_from_local_midnight_of_that_day() -> None:
    assert return_instant(date(2026, 12, 1), "Asia/Tokyo") == datetime(
        2026, 11, 30, 15, 0, tzinfo=UTC
    )
    # Across the March DST change in London, midnight is still midnight local time.
    assert return_instant(date(2027, 3, 29), "Europe/London") == datetime(
        2027, 3, 28, 23, 0, tzinfo=UTC
    )


def agents(bot: Any, *, backup: str | None = None, lead: str | None = None) -> None:
    """Ada, Grace and Linus as agents of the default team; Ada's backup and lead as given."""
    deps, now = bot.deps, bot.clock.now()
    with deps.session_factory.begin() as session:
        team = store.team_for(session, None, team_defaults(deps), now)
        rows = {}
        for user, email in (
            ("U0AGENT", "ada@example.com"),
            ("U0LEAD", "grace@example.com"),
            ("U0OTHER", "linus@example.com"),
        ):
            rows[user] = store.agent_by_slack_id(session, user, now, team.id)
            rows[user].email = email
        session.flush()
        ada = rows["U0AGENT"]
        ada.backup_id = rows[backup].id if backup else None
        ada.lead_id = rows[lead].id if lead else None


def away(bot: Any, user: str, text: str) -> str:
    reply = run_command(
        bot.deps, user_id=user, channel_id="D0X", text=f"away {text}".strip(), trigger_id=None
    )
    assert reply is not None
    return reply.text


def away_until(bot: Any, user: str) -> datetime | None:
    with bot.deps.session_factory() as session:
        return session.scalar(select(Agent.away_until).where(Agent.slack_user_id == user))


def test_away_until_a_date_is_read_in_the_agents_own_time_zone(bot: Any) -> None:
    agents(bot)
    # Friday 20:00 UTC is already Saturday 05:00 in Tokyo: "tomorrow" there is Sunday 22nd.
    bot.clock.set(datetime(2026, 11, 20, 20, 0, tzinfo=UTC))
    text = away(bot, "U0OTHER", "until tomorrow")
    assert "Sunday 22 November 2026" in text
    assert "Asia/Tokyo" in text
    assert away_until(bot, "U0OTHER") == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    # The same words from London mean Saturday 21st.
    away(bot, "U0AGENT", "until tomorrow")
    assert away_until(bot, "U0AGENT") == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("backup", "lead", "team_lead", "covers"),
    [
        ("U0OTHER", "U0LEAD", False, "<@U0OTHER> gets the follow-ups"),
        (None, "U0LEAD", False, "<@U0LEAD> gets the follow-ups"),
        (None, None, True, "<@U0LEAD> gets the follow-ups"),
        (None, None, False, "Nobody is configured to cover for you"),
    ],
)
def test_the_reply_says_who_covers(
    bot: Any, backup: str | None, lead: str | None, team_lead: bool, covers: str
) -> None:
    agents(bot, backup=backup, lead=lead)
    if team_lead:
        with bot.deps.session_factory.begin() as session:
            grace = session.scalar(select(Agent).where(Agent.slack_user_id == "U0LEAD"))
            assert grace is not None
            grace.is_lead = True
    text = away(bot, "U0AGENT", "until dec 1")
    assert "You are away until Tuesday 1 December 2026" in text
    assert covers in text
    if covers.startswith("Nobody"):
        assert "will wait until you are back" in text


def test_a_backup_who_is_away_too_is_passed_over_for_the_lead(bot: Any) -> None:
    agents(bot, backup="U0OTHER", lead="U0LEAD")
    away(bot, "U0OTHER", "until dec 3")
    assert "<@U0LEAD> gets the follow-ups" in away(bot, "U0AGENT", "until dec 1")


def test_a_bad_date_changes_nothing_and_says_why(bot: Any) -> None:
    agents(bot)
    text = away(bot, "U0AGENT", "until 2026-02-30")
    assert "February 2026 has no day 30" in text
    assert away_until(bot, "U0AGENT") is None


def test_away_off_and_status(bot: Any) -> None:
    agents(bot, backup="U0OTHER")
    assert "not marked away" in away(bot, "U0AGENT", "")
    away(bot, "U0AGENT", "until monday")
    status = away(bot, "U0AGENT", "")
    assert "away until Monday 23 November 2026" in status
    assert "<@U0OTHER> covers for you" in status
    assert "Welcome back" in away(bot, "U0AGENT", "off")
    assert away_until(bot, "U0AGENT") is None
    assert "were not marked away" in away(bot, "U0AGENT", "off")


def test_away_through_slack_replies_ephemerally(bot: Any) -> None:
    agents(bot, backup="U0OTHER")
    assert bot.driver.command("U0AGENT", "away until dec 1").status == 200
    [reply] = wait_for(lambda: bot.sandbox.responses)
    assert reply.body["response_type"] == "ephemeral"
    assert "Tuesday 1 December 2026" in reply.body["text"]
    assert "<@U0OTHER>" in reply.body["text"]
    assert bot.driver.command("U0AGENT", "away until someday").status == 200
    replies = wait_for(lambda: bot.sandbox.responses[1:])
    assert "can't read `someday` as a date" in replies[-1].body["text"]
    assert replies[-1].body["response_type"] == "ephemeral"


def post_case(bot: Any, **fields: Any) -> None:
    payload = {
        "case_id": "1001",
        "subject": "Refund not showing on the March invoice",
        "resolution": "Re-issued the credit note and confirmed it posted to the account",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "kind": "request",
        **fields,
    }
    status, reply = bot.post_generic(payload)
    assert status == 202, reply


def nudges(bot: Any, user: str) -> list[dict[str, Any]]:
    return [
        m
        for m in bot.sandbox.dm_messages(user)
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_NUDGE
    ]


def notes(bot: Any, user: str) -> list[dict[str, Any]]:
    return [m for m in bot.sandbox.dm_messages(user) if "metadata" not in m]


def test_away_hands_due_touches_to_the_backup_and_both_see_it(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    agents(bot, backup="U0LEAD")
    post_case(bot)
    post_case(bot, case_id="1002", subject="Login loop on the mobile app")
    away(bot, "U0AGENT", "until dec 1")
    # Monday 10:00 UTC is 05:00 in New York: handed to Grace, then deferred to her morning.
    report = at(bot, MONDAY_10_UTC)
    assert (report.delivered, report.deferred) == (0, 2)
    assert nudges(bot, "U0AGENT") == nudges(bot, "U0LEAD") == []
    grace_morning = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 in New York
    assert at(bot, grace_morning).delivered == 2
    [dm] = nudges(bot, "U0LEAD")
    assert "Handed over to you from" in json.dumps(dm["blocks"])
    with bot.deps.session_factory() as session:
        ada = session.scalar(select(Agent.display_name).where(Agent.slack_user_id == "U0AGENT"))
    assert ada and f"Handed over to you from {ada}" in json.dumps(dm["blocks"])
    assert nudges(bot, "U0AGENT") == []
    [note] = notes(bot, "U0AGENT")
    assert "I handed 2 follow-ups to" in note["text"]
    assert "Refund not showing on the March invoice" in note["text"]
    assert "Login loop on the mobile app" in note["text"]
    assert at(bot, grace_morning + timedelta(hours=1)).delivered == 0
    assert len(notes(bot, "U0AGENT")) == 1
    with bot.deps.session_factory() as session:
        rows = list(session.scalars(select(FollowUp)))
        assert {r.assignee.slack_user_id for r in rows if r.assignee} == {"U0LEAD"}
        assert {r.state for r in rows} == {"sent"}


def at(bot: Any, moment: datetime) -> Any:
    bot.clock.set(moment)
    return dispatch_pass(bot.deps)


def test_with_nobody_to_cover_the_touches_wait_for_the_agents_return(bot: Any) -> None:
    agents(bot)
    post_case(bot)
    away(bot, "U0AGENT", "until dec 1")
    report = at(bot, MONDAY_10_UTC)
    assert (report.delivered, report.deferred) == (0, 1)
    assert at(bot, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)).delivered == 0
    assert at(bot, datetime(2026, 12, 1, 0, 0, tzinfo=UTC)).delivered == 0  # back, but 00:00
    assert at(bot, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)).delivered == 1
    assert len(nudges(bot, "U0AGENT")) == 1
    assert notes(bot, "U0AGENT") == []


def test_back_early_the_agent_gets_their_own_touches_again(bot: Any) -> None:
    agents(bot, backup="U0OTHER")
    post_case(bot)
    away(bot, "U0AGENT", "until dec 1")
    away(bot, "U0AGENT", "off")
    assert at(bot, MONDAY_10_UTC).delivered == 1
    assert len(nudges(bot, "U0AGENT")) == 1
    assert nudges(bot, "U0OTHER") == []
