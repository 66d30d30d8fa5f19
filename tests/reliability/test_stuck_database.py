"""A stuck database (a table locked by someone else) bounds every wait: `/healthz` answers
within a second, a signed command within Slack's 3 seconds, a webhook is told to retry.

On SQLite the lock is another connection holding the single writer's lock (BEGIN IMMEDIATE);
on PostgreSQL, `LOCK TABLE follow_ups IN ACCESS EXCLUSIVE MODE` in another session. Either is
held for the whole test (far longer than any of the answers below may take).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from bot.runtime.app import FRIENDLY_ERROR
from bot.sandbox.waiting import wait_for
from db.models import FollowUp
from tests.reliability.test_database_outage import (
    WEBHOOK_SECRET,
    closed_case_body,
    get,
    post,
)

HELD_SECONDS = 15


@contextmanager
def table_locked(database_url: str) -> Iterator[None]:
    """Someone else holds a lock on the follow-ups table until the block ends."""
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        if database_url.startswith("sqlite"):
            connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=5)
            connection.isolation_level = None
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(f"UPDATE {FollowUp.__tablename__} SET id = id")
        else:
            url = database_url.replace("postgresql+psycopg://", "postgresql://")
            connection = psycopg.connect(url)  # type: ignore[assignment]
            connection.execute(  # type: ignore[attr-defined]
                f"LOCK TABLE {FollowUp.__tablename__} IN ACCESS EXCLUSIVE MODE"
            )
        locked.set()
        release.wait(HELD_SECONDS)
        connection.rollback()
        connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(5), "could not take the lock"
    try:
        yield
    finally:
        release.set()
        holder.join(5)


def timed(call: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def test_a_locked_table_leaves_health_commands_and_webhooks_answering(
    bot_on_each_db: Any,
) -> None:
    bot = bot_on_each_db
    with table_locked(bot.deps.settings.database_url):
        seconds, (status, body) = timed(lambda: get(f"{bot.url}/healthz"))
        assert seconds < 1.5
        assert status in (200, 503)
        assert body["database"] in ("ok", "slow")

        seconds, response = timed(lambda: bot.driver.command("U0AGENT", "due"))
        assert response.status == 200
        assert seconds < 3
        reply = wait_for(lambda: bot.sandbox.responses, timeout=4)
        assert reply, "the command was never answered"

        from handlers.webhooks.generic import sign_generic

        body_bytes = closed_case_body()
        headers = sign_generic(WEBHOOK_SECRET, body_bytes, bot.clock.now())
        seconds, (status, answer_headers, _) = timed(
            lambda: post(f"{bot.url}/webhooks/generic", body_bytes, headers)
        )
        assert seconds < 3
        assert status == 503
        assert "Retry-After" in answer_headers


def test_on_sqlite_reads_run_beside_a_writer_holding_the_lock(bot: Any) -> None:
    """A read (health, `/followup due`) begins DEFERRED: the writer's lock does not stop it."""
    with table_locked(bot.deps.settings.database_url):
        seconds, (status, body) = timed(lambda: get(f"{bot.url}/healthz"))
        assert (status, body["database"]) == (200, "ok")
        assert seconds < 1
        bot.driver.command("U0AGENT", "due")
        reply = wait_for(lambda: bot.sandbox.responses, timeout=3)
        assert reply
        assert reply[-1].body["text"] != FRIENDLY_ERROR


@pytest.mark.parametrize("stuck_for", [3.0])
def test_healthz_answers_within_a_second_while_the_check_itself_hangs(
    bot: Any, stuck_for: float
) -> None:
    from bot.runtime import server

    probe = server.HealthProbe(lambda: time.sleep(stuck_for) or True, wait=1.0)
    seconds, answer = timed(probe)
    assert answer == "slow"
    assert seconds < 1.5
    seconds, answer = timed(probe)  # one check at a time: the hung one is not doubled
    assert answer == "slow"
    assert wait_for(lambda: probe() == "ok", timeout=stuck_for + 1)
