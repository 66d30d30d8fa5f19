"""Shared fixtures: a real SQLite file, a real PostgreSQL database, the Slack sandbox, a bot."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import SlackDriver, SlackSandbox
from bot.sandbox.helpdesks import HelpdeskSandbox
from tests.posting import GENERIC_SECRET, post_generic

SIGNING_SECRET = "sandbox-signing-secret-0123456789"
BOT_TOKEN = "xoxb-sandbox"
PG_ADMIN_URL = os.environ.get(
    "FOLLOWUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'followup.db'}"


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """The PostgreSQL server's admin URL. The one place that decides: outside CI, no server
    answering skips the test; with CI set, it fails it (CI must run the PostgreSQL tests)."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_URL}; CI must run these tests")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


@contextlib.contextmanager
def _fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on the way out."""
    name = f"followup_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(pg_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with _fresh_postgres_database(pg_admin) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(pg_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by one module's tests (a module-scoped bot,
    e.g. the fuzz tests', whose examples accumulate), dropped after the module."""
    with _fresh_postgres_database(pg_admin) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sandbox() -> Iterator[SlackSandbox]:
    with SlackSandbox(bot_token=BOT_TOKEN) as box:
        yield box


@pytest.fixture(scope="session")
def _helpdesk_server() -> Iterator[HelpdeskSandbox]:
    with HelpdeskSandbox() as box:
        yield box


@pytest.fixture
def helpdesk(_helpdesk_server: HelpdeskSandbox) -> HelpdeskSandbox:
    """The helpdesk sandbox, empty: no tickets, calls or faults from an earlier test."""
    _helpdesk_server.reset()
    return _helpdesk_server


@pytest.fixture
def clock() -> ManualClock:
    # A Friday, 10:00 UTC: the acceptance scenario of the policy issue starts here.
    return ManualClock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))


def bot_env(database_url: str, sandbox: SlackSandbox, **extra: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "PORT": "0",
        "HOST": "127.0.0.1",
        "WEBHOOK_SECRET_GENERIC": GENERIC_SECRET,
        "ESCALATION_CHANNEL": "C0ESCALATE",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "WATCHED_CHANNELS": "C0HELPDESK:B0HELPDESK",
        "DIGEST_CHANNEL": "C0DIGEST",
    }
    env.update(extra)
    return env


def dispatcher_deps(database_url: str, sandbox: SlackSandbox, clock: ManualClock) -> Any:
    """Deps of a dispatcher (no HTTP server) on a migrated database, talking to `sandbox`."""
    from dataclasses import replace

    from bot.runtime.start import build_deps, ensure_schema
    from db import migrate

    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": sandbox.api_url,
            "DATABASE_URL": database_url,
            "TRIAGE_CHANNEL": "C0TRIAGE",
        }
    )
    migrate.upgrade(settings.database_url)
    deps = replace(build_deps(settings, clock), worker="dispatcher")
    ensure_schema(deps)
    return deps


@dataclass
class BotUnderTest:
    """A running bot (HTTP mode, no scheduler) wired to the sandbox, and its driver."""

    running: object
    deps: object
    driver: SlackDriver
    sandbox: SlackSandbox
    clock: ManualClock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.http.port}"  # type: ignore[attr-defined]

    def post_generic(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A case through the signed generic webhook, as a helpdesk automation sends it."""
        return post_generic(self, payload)


@pytest.fixture
def bot(sqlite_url: str, sandbox: SlackSandbox, clock: ManualClock) -> Iterator[BotUnderTest]:
    yield from _start_bot(sqlite_url, sandbox, clock)


def _start_bot(
    database_url: str, sandbox: SlackSandbox, clock: ManualClock, **extra: str
) -> Iterator[BotUnderTest]:
    from bot.runtime.start import build_deps, ensure_schema, start
    from db import migrate

    sandbox.add_user(
        "U0AGENT", name="ada", real_name="Ada Lovelace", email="ada@example.com", tz="Europe/London"
    )
    sandbox.add_user(
        "U0LEAD",
        name="grace",
        real_name="Grace Hopper",
        email="grace@example.com",
        tz="America/New_York",
    )
    sandbox.add_user(
        "U0OTHER", name="linus", real_name="Linus T", email="linus@example.com", tz="Asia/Tokyo"
    )
    for channel in ("C0ESCALATE", "C0TRIAGE", "C0DIGEST"):
        sandbox.add_channel(channel, channel.lower().removeprefix("c0"))
    settings = Settings.from_env(bot_env(database_url, sandbox, **extra))
    migrate.upgrade(settings.database_url)
    deps = build_deps(settings, clock)
    ensure_schema(deps)
    running = start(deps, with_scheduler=False)
    driver = SlackDriver(
        f"http://127.0.0.1:{running.http.port}/slack/events", SIGNING_SECRET, sandbox
    )
    try:
        yield BotUnderTest(running, deps, driver, sandbox, clock)
    finally:
        running.stop()


@pytest.fixture
def bot_on_each_db(
    database_url: str, sandbox: SlackSandbox, clock: ManualClock
) -> Iterator[BotUnderTest]:
    """The bot on a SQLite file, then on PostgreSQL."""
    yield from _start_bot(database_url, sandbox, clock)


@pytest.fixture
def make_bot(sqlite_url: str, sandbox: SlackSandbox, clock: ManualClock) -> Iterator[Any]:
    """Start a bot with extra environment variables (e.g. another webhook secret)."""
    started: list[Iterator[BotUnderTest]] = []

    def start(**extra: str) -> BotUnderTest:
        generator = _start_bot(sqlite_url, sandbox, clock, **extra)
        started.append(generator)
        return next(generator)

    yield start
    for generator in started:
        with contextlib.suppress(StopIteration):
            next(generator)


@pytest.fixture(autouse=True)
def _real_clock_is_declared(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test that reads the real clock in-process (bot.clock.SystemClock) must be marked
    `realclock`: CI runs those again under faketime on a Saturday night, a Sunday morning and
    New Year's Eve, so a test that only passes on a weekday cannot hide."""
    from bot.clock import SystemClock

    if request.node.get_closest_marker("realclock") is not None:
        yield
        return
    real_now = SystemClock.now
    readers: list[str] = []

    def now(self: SystemClock) -> datetime:
        readers.append(threading.current_thread().name)
        return real_now(self)

    monkeypatch.setattr(SystemClock, "now", now)
    yield
    if readers:
        pytest.fail(
            f"{request.node.nodeid} reads the real clock (SystemClock, in {readers[0]}) but is "
            "not marked @pytest.mark.realclock: mark it, so CI runs it under faketime"
        )
