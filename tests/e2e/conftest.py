"""The bot running in either mode against the sandbox, and helpers shared by the e2e suite.

`bot_any_mode` runs each test twice: once in HTTP mode (signed POSTs to /slack/events) and once
in Socket Mode (SLACK_APP_TOKEN set; envelopes over the WebSocket the bot opens to the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.deps import Deps
from bot.runtime.start import Running
from bot.sandbox import SlackDriver, SlackSandbox
from tests.posting import post_generic

SIGNING_SECRET = "e2e-signing-secret-0123456789"
WEBHOOK_SECRET = "e2e-generic-webhook-secret"
FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# Short pings make the Socket Mode client notice a dropped connection within a few seconds.
PING_SECONDS = 0.3


@dataclass
class E2EBot:
    """A running bot (no scheduler), its sandbox, clock and a driver for its mode."""

    mode: str
    running: Running
    deps: Deps
    driver: SlackDriver
    sandbox: SlackSandbox
    clock: ManualClock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.http.port}"


def _start(mode: str, database_url: str, sandbox: SlackSandbox, clock: ManualClock) -> E2EBot:
    from bot.runtime.start import build_deps, ensure_schema, start

    sandbox.add_user("U0AGENT", name="ada", real_name="Ada Lovelace", email="ada@example.com")
    sandbox.add_user(
        "U0LEAD", name="grace", real_name="Grace Hopper", email="grace@example.com",
        tz="America/New_York",
    )  # fmt: skip
    for channel in ("C0ESCALATE", "C0TRIAGE", "C0DIGEST"):
        sandbox.add_channel(channel, channel.lower().removeprefix("c0"))
    sandbox.add_channel("C0HELPDESK", "helpdesk-feed")
    env = {
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "PORT": "0",
        "HOST": "127.0.0.1",
        "WEBHOOK_SECRET_GENERIC": WEBHOOK_SECRET,
        "ESCALATION_CHANNEL": "C0ESCALATE",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "WATCHED_CHANNELS": "C0HELPDESK:B0HELPDESK",
        "DIGEST_CHANNEL": "C0DIGEST",
    }
    if mode == "socket":
        env["SLACK_APP_TOKEN"] = sandbox.app_token
    settings = Settings.from_env(env)
    assert settings.socket_mode == (mode == "socket")
    deps = build_deps(settings, clock)
    ensure_schema(deps)
    running = start(deps, with_scheduler=False, socket_ping_seconds=PING_SECONDS)
    if mode == "socket":
        sandbox.socket_mode.wait_connected(timeout=10)
        driver = SlackDriver.over_socket(sandbox)
    else:
        events_url = f"http://127.0.0.1:{running.http.port}/slack/events"
        driver = SlackDriver(events_url, SIGNING_SECRET, sandbox)
    return E2EBot(mode, running, deps, driver, sandbox, clock)


@pytest.fixture(params=["http", "socket"])
def bot_any_mode(
    request: pytest.FixtureRequest, sqlite_url: str, sandbox: SlackSandbox, clock: ManualClock
) -> Iterator[E2EBot]:
    """The bot in HTTP mode, then in Socket Mode; the same test runs against both."""
    bot = _start(str(request.param), sqlite_url, sandbox, clock)
    try:
        yield bot
    finally:
        bot.running.stop()


@pytest.fixture
def socket_bot(sqlite_url: str, sandbox: SlackSandbox, clock: ManualClock) -> Iterator[E2EBot]:
    """The bot in Socket Mode only (for connection faults, which HTTP mode does not have)."""
    bot = _start("socket", sqlite_url, sandbox, clock)
    try:
        yield bot
    finally:
        bot.running.stop()


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """Poll `predicate` until it returns something truthy (or `timeout` passes); return that."""
    from bot.sandbox.waiting import wait_for as wait

    return wait


@pytest.fixture
def post_case() -> Callable[..., tuple[int, dict[str, Any]]]:
    """Send one closed case to the bot's signed generic webhook; return (status, body)."""

    def post(bot: E2EBot, **fields: Any) -> tuple[int, dict[str, Any]]:
        payload = {
            "case_id": "1001",
            "subject": "Refund not showing on the March invoice",
            "resolution": "Re-issued the credit note and confirmed it posted to the account",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
            "customer_name": "Priya Shah",
            "channel": "email",
            **fields,
        }
        return post_generic(bot, payload, secret=WEBHOOK_SECRET)

    return post
