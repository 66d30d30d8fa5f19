"""Stopping the bot lets the work it has already acknowledged finish before anything closes."""

from __future__ import annotations

import time
from typing import Any

from bot import ids
from tests.nudging import nudge


def test_a_click_acknowledged_before_the_stop_still_opens_its_modal(bot: Any) -> None:
    dm = nudge(bot, case_id="ZD-5", kind="complaint")
    # Slack is slow to open the modal: the click is acknowledged long before it opens.
    bot.sandbox.fail_next("views.open", status=None, error=None, delay=0.8)
    started = time.monotonic()
    response = bot.driver.block_action_from_message(
        "U0AGENT", dm["channel"], dm["ts"], ids.ACTION_FOLLOWED_UP, str(dm["id"])
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
