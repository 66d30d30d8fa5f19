"""Waiting until the bot under test has nothing left to do: its listener pool and its intake
writer drained. A test asserting that something did NOT happen does the action, waits for
this, then asserts (a fixed sleep instead tests nothing on a machine slower than it).

An HTTP request to /slack/events (or an envelope acknowledged over Socket Mode) hands its
listener to the pool before the answer goes out, so once the request has returned, the work it
started is pending on the pool, and waiting for the pool waits for it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.runtime.listener_pool import ListenerPool

IDLE_TIMEOUT = 10.0
"""Generous: past this, the bot is stuck, and the test fails rather than passing unchecked."""


def wait_idle(bot: Any, timeout: float = IDLE_TIMEOUT) -> None:
    """Return once `bot` (anything with `running`, or a `Running`) is idle; fail the test if not
    within `timeout` seconds."""
    running = getattr(bot, "running", bot)
    pool = running.listeners
    writer = running.deps.intake
    assert isinstance(pool, ListenerPool), f"no listener pool to wait for: {pool!r}"
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        if pool.wait_idle(left) and writer.wait_idle(left) and pool.wait_idle(0):
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"the bot was still busy after {timeout:g} s", pytrace=False)
