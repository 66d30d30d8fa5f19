"""How far ahead a snooze may go: at most one year; a date in another year is shown with its year.

Driven both ways an agent snoozes: `/followup snooze <case> <date>` and the DM's Snooze button
with its modal ("Pick a date"). Ada works in Europe/London; it is Monday 23 Nov 2026, 10:00 UTC.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import ids
from bot.sandbox.waiting import wait_for
from db.models import FollowUp
from tests.idle import wait_idle
from tests.nudging import nudge

LIMIT = "2027-11-23"  # one year after Monday 23 Nov 2026, in Ada's time zone


@pytest.fixture
def nudged(bot: Any) -> dict[str, Any]:
    """Case generic:ZD-77, closed Friday and DMed to Ada on Monday: the DM and its follow-up."""
    return nudge(bot)


def command(bot: Any, text: str) -> str:
    """Ada's `/followup <text>`, and the bot's reply."""
    before = len(bot.sandbox.responses)
    assert bot.driver.command("U0AGENT", text).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    return str(got[-1].body["text"]) if got else ""


def snooze_modal(bot: Any, nudged: dict[str, Any]) -> dict[str, Any]:
    """Ada clicks Snooze on the DM: the modal that opens."""
    bot.driver.block_action_from_message(
        "U0AGENT", nudged["channel"], nudged["ts"], ids.ACTION_SNOOZE, str(nudged["id"])
    )
    found = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v.get("callback_id") == ids.VIEW_SNOOZE
        ]
    )
    assert found, "no snooze modal opened"
    return dict(found[-1])


def state(bot: Any, followup_id: int) -> tuple[str, Any]:
    with bot.deps.session_factory() as session:
        row = session.get(FollowUp, followup_id)
        assert row is not None
        return row.state, row.snoozed_until


# --- the slash command ------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "2027-11-24"])
def test_a_snooze_beyond_one_year_is_refused_naming_the_limit(
    bot: Any, nudged: dict[str, Any], day: str
) -> None:
    said = command(bot, f"snooze ZD-77 {day}")

    assert "one year" in said and LIMIT in said, said
    assert state(bot, nudged["id"]) == ("sent", None)


def test_a_snooze_exactly_one_year_ahead_is_accepted_and_shows_its_year(
    bot: Any, nudged: dict[str, Any]
) -> None:
    said = command(bot, f"snooze ZD-77 {LIMIT}")

    assert "Snoozed until Tue 23 Nov 2027 09:00 (Europe/London)" in said, said
    assert state(bot, nudged["id"])[0] == "planned"


def test_a_snooze_into_next_year_shows_the_year(bot: Any, nudged: dict[str, Any]) -> None:
    assert "Snoozed until Mon 04 Jan 2027 09:00" in command(bot, "snooze ZD-77 2027-01-04")


def test_a_snooze_within_this_year_shows_no_year(bot: Any, nudged: dict[str, Any]) -> None:
    assert "Snoozed until Tue 01 Dec 09:00 (Europe/London)" in command(
        bot, "snooze ZD-77 2026-12-01"
    )


# --- the DM's Snooze button and its modal -----------------------------------------------------


def test_the_modal_refuses_a_date_beyond_one_year_naming_the_limit(
    bot: Any, nudged: dict[str, Any]
) -> None:
    modal = snooze_modal(bot, nudged)

    answer = bot.driver.submit_view(
        "U0AGENT", modal["id"], {"when": "pick_date", "date": "9999-12-31"}
    ).json()

    assert answer["response_action"] == "errors"
    said = answer["errors"]["snooze_date"]
    assert "one year" in said and LIMIT in said, said
    wait_idle(bot)
    assert state(bot, nudged["id"]) == ("sent", None)


def test_the_modal_accepts_a_date_exactly_one_year_ahead(bot: Any, nudged: dict[str, Any]) -> None:
    modal = snooze_modal(bot, nudged)

    bot.driver.submit_view("U0AGENT", modal["id"], {"when": "pick_date", "date": LIMIT})

    followup_state, until = state(bot, nudged["id"])
    assert followup_state == "planned"
    assert until is not None and until.date().isoformat() == LIMIT
