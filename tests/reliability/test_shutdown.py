"""Stopping the bot lets the work it has already acknowledged finish before anything closes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bot import ids
from bot.dispatch import dispatch_pass

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def nudge(bot: Any) -> tuple[str, str, int]:
    payload = {
        "case_id": "ZD-5",
        "subject": "Refund missing on the March invoice",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "kind": "complaint",
    }
    assert bot.post_generic(payload)[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    [dm] = bot.sandbox.dm_messages("U0AGENT")
    followup_id = dm["metadata"]["event_payload"]["followup_ids"][0]
    return bot.sandbox.im_channel("U0AGENT"), dm["ts"], followup_id


def test_a_click_acknowledged_before_the_stop_still_opens_its_modal(bot: Any) -> None:
    channel, ts, followup_id = nudge(bot)
    # Slack is slow to open the modal: the click is acknowledged long before it opens.
    bot.sandbox.fail_next("views.open", status=None, error=None, delay=0.8)
    started = time.monotonic()
    response = bot.driver.block_action_from_message(
        "U0AGENT", channel, ts, ids.ACTION_FOLLOWED_UP, str(followup_id)
    )
    assert response.status == 200 and time.monotonic() - started < 0.5
    bot.running.stop()  # as on SIGTERM, right after the ack
    opened = [
        v
        for v in bot.sandbox.views("U0AGENT", open_only=True)
        if v.get("callback_id") == ids.VIEW_OUTCOME
    ]
    assert opened, "the acknowledged click's modal was dropped by the stop"


def test_stopping_twice_is_harmless(bot: Any) -> None:
    bot.running.stop()
    bot.running.stop()
