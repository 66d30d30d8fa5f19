"""A PostgreSQL outage while the bot runs: the helpdesk is told to retry, Slack users get a
friendly word, nothing is lost, and the bot recovers by itself.

The outage is real: the database refuses new connections (`ALLOW_CONNECTIONS false`) and
every open connection is terminated, so the pool holds dead connections. It lasts a few
seconds here (as long as the requests below take); the behaviour does not depend on its
length, since every request during it fails fast with a connection error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.runtime.app import FRIENDLY_ERROR
from db.models import Case, FollowUp
from handlers.webhooks.generic import sign_generic
from tests.idle import wait_idle

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WEBHOOK_SECRET = "generic-webhook-secret"


def closed_case_body() -> bytes:
    return json.dumps(
        {
            "case_id": "5001",
            "subject": "Refund not showing on the March invoice",
            "resolution": "Re-issued the credit note and confirmed it posted to the account",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
            "channel": "email",
        }
    ).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def responses_once_settled(bot: Any) -> list[Any]:
    """The response_url posts, once every listener has run (they answer after the ack)."""
    wait_idle(bot)
    return list(bot.sandbox.responses)


def deliver_webhook(bot: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
    headers = sign_generic(WEBHOOK_SECRET, body, bot.clock.now())
    return post(f"{bot.url}/webhooks/generic", body, headers)


def test_a_database_outage_loses_nothing_and_heals_without_a_restart(pg_bot: Any) -> None:
    body = closed_case_body()
    assert get(f"{pg_bot.url}/healthz")[0] == 200
    pg_bot.outage.begin()
    try:
        # The helpdesk is told to come back later, not that its payload was bad.
        status, headers, answer = deliver_webhook(pg_bot, body)
        assert status == 503, answer
        assert int(headers["Retry-After"]) > 0
        assert "retry" in answer["error"]
        # A Slack user's command is acknowledged at once, then gets the friendly ephemeral
        # reply at its response_url: no stack trace, no silence.
        ack = pg_bot.driver.command("U0AGENT", "due")
        assert ack.status == 200
        replies = responses_once_settled(pg_bot)
        assert [r.body["text"] for r in replies] == [FRIENDLY_ERROR]
        assert replies[0].body["response_type"] == "ephemeral"
        assert replies[0].user_id == "U0AGENT"
        assert "Traceback" not in json.dumps([r.body for r in replies])
        status, health = get(f"{pg_bot.url}/healthz")
        assert (status, health["database"]) == (503, "unreachable")
    finally:
        pg_bot.outage.end()

    # Same process, same engine and pool: dead connections are replaced (pool_pre_ping).
    status, health = get(f"{pg_bot.url}/healthz")
    assert (status, health["database"]) == (200, "ok")
    # The helpdesk's retry of the refused delivery is accepted: nothing was lost, and
    # nothing was half-written during the outage (it is new, not a duplicate).
    status, _, answer = deliver_webhook(pg_bot, body)
    assert status == 202, answer
    with pg_bot.deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        planned = list(session.scalars(select(FollowUp.state)))
    assert planned and set(planned) == {"planned"}
    # Slash commands work again.
    assert pg_bot.driver.command("U0AGENT", "due").status == 200
    replies = responses_once_settled(pg_bot)
    assert len(replies) == 2
    assert replies[-1].body["text"] != FRIENDLY_ERROR
    # And dispatch delivers the case's follow-up on Monday, exactly once.
    pg_bot.clock.set(MONDAY_10_UTC)
    report = dispatch_pass(pg_bot.deps)
    assert report.delivered == 1, report.summary()
    nudges = [
        m
        for m in pg_bot.sandbox.dm_messages("U0AGENT")
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_NUDGE
    ]
    assert len(nudges) == 1


def test_a_dispatch_pass_during_an_outage_fails_then_the_next_one_delivers(pg_bot: Any) -> None:
    status, _, answer = deliver_webhook(pg_bot, closed_case_body())
    assert status == 202, answer
    pg_bot.clock.set(MONDAY_10_UTC)
    pg_bot.outage.begin()
    try:
        failed = False
        try:
            dispatch_pass(pg_bot.deps)
        except Exception as error:  # the scheduler logs it and runs the next pass
            failed = "OperationalError" in type(error).__name__
        assert failed
    finally:
        pg_bot.outage.end()
    assert pg_bot.sandbox.dm_messages("U0AGENT") == []
    assert dispatch_pass(pg_bot.deps).delivered == 1
