"""`/followup done`, `snooze` and `stats`: the DM's actions from the command line, and figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox.waiting import wait_for
from db.models import FollowUp
from tests.idle import wait_idle

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def sent(bot: Any) -> int:
    """Case generic:ZD-9 closed Friday and DMed to Ada Monday; its follow-up id."""
    bot.post_generic(
        {
            "case_id": "ZD-9",
            "subject": "Export stuck at 99%",
            "resolution": "Cleared the queue",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
        }
    )
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    return int(
        bot.sandbox.dm_messages("U0AGENT")[0]["metadata"]["event_payload"]["followup_ids"][0]
    )


def reply(bot: Any, user: str, text: str) -> str:
    before = len(bot.sandbox.responses)
    assert bot.driver.command(user, text).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    return str(got[-1].body["text"]) if got else ""


def state(bot: Any, followup_id: int) -> str:
    with bot.deps.session_factory() as session:
        row = session.get(FollowUp, followup_id)
        assert row is not None
        return row.state


def test_done_opens_the_outcome_modal_and_closes_the_loop(bot: Any, sent: int) -> None:
    assert bot.driver.command("U0AGENT", "done generic:ZD-9").status == 200
    modal = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v["callback_id"] == ids.VIEW_OUTCOME
        ]
    )
    assert modal
    bot.driver.submit_view("U0AGENT", modal[-1]["id"], {"result": "resolved"})
    assert state(bot, sent) == "done"
    # The DM is updated after the submission is acknowledged, not before.
    assert wait_for(
        lambda: "Loop closed" in json.dumps(bot.sandbox.dm_messages("U0AGENT")[0]["blocks"])
    )


def test_done_with_an_unknown_case_says_so(bot: Any, sent: int) -> None:
    assert "can't find a case `nope:1`" in reply(bot, "U0AGENT", "done nope:1")
    assert "Which case?" in reply(bot, "U0AGENT", "done")


def test_done_by_a_stranger_is_refused(bot: Any, sent: int) -> None:
    assert "Nothing was changed" in reply(bot, "U0OTHER", "done ZD-9")
    wait_idle(bot)
    assert bot.sandbox.views("U0OTHER", open_only=True) == []


def test_snooze_by_word_and_by_date(bot: Any, sent: int) -> None:
    assert "Snoozed until Tue 24 Nov 09:00 (Europe/London)" in reply(
        bot, "U0AGENT", "snooze generic:ZD-9 tomorrow"
    )
    assert state(bot, sent) == "planned"
    assert "Snoozed until Tue 01 Dec 09:00" in reply(bot, "U0AGENT", "snooze ZD-9 2026-12-01")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("snooze ZD-9", "Say when"),
        ("snooze ZD-9 someday", "I don't understand `someday`"),
        ("snooze ZD-9 2026-02-30", "not a real date"),
        ("snooze ZD-9 2020-01-01", "That date has passed"),
        ("stats everyone", "I don't know `everyone`"),
    ],
)
def test_bad_arguments_get_a_helpful_reply_and_change_nothing(
    bot: Any, sent: int, text: str, says: str
) -> None:
    assert says in reply(bot, "U0AGENT", text)
    assert state(bot, sent) == "sent"


def test_stats_count_my_closed_loops_and_the_hold_rate(bot: Any, sent: int) -> None:
    bot.driver.command("U0AGENT", "done ZD-9")
    modal = wait_for(lambda: bot.sandbox.views("U0AGENT", open_only=True))
    bot.driver.submit_view("U0AGENT", modal[-1]["id"], {"result": "resolved"})
    bot.clock.advance(timedelta(hours=1))
    text = reply(bot, "U0AGENT", "stats me week")
    assert "Closed on time: 1 of 1 due (100%)" in text
    assert "Resolutions that held: 1 of 1 answered (100%)" in text
    assert "still open: 0" in text
    assert "No follow-ups for you yet" in reply(bot, "U0OTHER", "stats")


def test_a_loop_can_be_closed_from_the_followup_due_reply(bot: Any, sent: int) -> None:
    before = len(bot.sandbox.responses)
    bot.driver.command("U0AGENT", "due")
    [due] = wait_for(lambda: bot.sandbox.responses[before:])
    assert ids.ACTION_FOLLOWED_UP in json.dumps(due.body["blocks"])
    ephemeral = {
        "type": "message",
        "ts": "1795424400.000200",
        "blocks": due.body["blocks"],
        "is_ephemeral": True,
    }
    response = bot.driver.block_action(
        "U0AGENT", ids.ACTION_FOLLOWED_UP, str(sent), message=ephemeral, channel_id=due.channel_id
    )
    assert response.status == 200
    modal = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v["callback_id"] == ids.VIEW_OUTCOME
        ]
    )
    bot.driver.submit_view("U0AGENT", modal[-1]["id"], {"result": "resolved"})
    assert state(bot, sent) == "done"


def test_due_shows_the_first_five_with_drafts_and_lists_the_rest(bot: Any) -> None:
    for n in range(12):
        bot.post_generic(
            {
                "case_id": f"Q-{n:02}",
                "subject": f"Queue case {n:02}",
                "resolution": "Fixed",
                "closed_at": FRIDAY_10_UTC.isoformat(),
                "owner_email": "ada@example.com",
                "severity": "urgent" if n in (3, 7) else "normal",
            }
        )
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 12
    before = len(bot.sandbox.responses)
    bot.driver.command("U0AGENT", "due")
    [reply] = wait_for(lambda: bot.sandbox.responses[before:])
    blocks = json.dumps(reply.body["blocks"])
    assert blocks.count("Draft email") == 5, "five shown in full, each with its draft"
    assert blocks.index("Queue case 03") < blocks.index("Queue case 00"), "urgent ones first"
    for n in range(12):
        assert f"Queue case {n:02}" in blocks, "the rest are listed by subject"
