"""Fixtures of the reliability suite: a running bot on a fresh PostgreSQL database, and the
means to take that database away and give it back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import SlackDriver, SlackSandbox

SIGNING_SECRET = "sandbox-signing-secret-0123456789"
WEBHOOK_SECRET = "generic-webhook-secret"


@dataclass
class Outage:
    """Make one PostgreSQL database unreachable (as the server's superuser) and back."""

    admin_url: str
    name: str

    def _run(self, *statements: str) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            admin.dispose()

    def begin(self) -> None:
        """Refuse new connections and end every open one: the pool's connections are dead."""
        self._run(
            f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
        )

    def end(self) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


@dataclass
class PostgresBot:
    running: Any
    deps: Any
    driver: SlackDriver
    sandbox: SlackSandbox
    clock: ManualClock
    outage: Outage

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.http.port}"


@pytest.fixture
def pg_bot(
    pg_admin: str, postgres_url: str, sandbox: SlackSandbox, clock: ManualClock
) -> Iterator[PostgresBot]:
    """The bot (HTTP mode, no scheduler) on a fresh PostgreSQL database; user U0AGENT
    (ada@example.com, Europe/London) in the sandbox."""
    from bot.runtime.start import build_deps, ensure_schema, start
    from db import migrate

    sandbox.add_user(
        "U0AGENT", name="ada", real_name="Ada Lovelace", email="ada@example.com", tz="Europe/London"
    )
    sandbox.add_channel("C0TRIAGE", "triage")
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": sandbox.api_url,
            "DATABASE_URL": postgres_url,
            "PORT": "0",
            "HOST": "127.0.0.1",
            "WEBHOOK_SECRET_GENERIC": WEBHOOK_SECRET,
            "TRIAGE_CHANNEL": "C0TRIAGE",
            "WATCHED_CHANNELS": "C0HELPDESK:B0HELPDESK",
        }
    )
    migrate.upgrade(settings.database_url)
    deps = build_deps(settings, clock)
    ensure_schema(deps)
    running = start(deps, with_scheduler=False)
    driver = SlackDriver(
        f"http://127.0.0.1:{running.http.port}/slack/events", SIGNING_SECRET, sandbox
    )
    outage = Outage(pg_admin, postgres_url.rsplit("/", 1)[1])
    try:
        yield PostgresBot(running, deps, driver, sandbox, clock, outage)
    finally:
        outage.end()
        running.stop()
        deps.engine.dispose()
