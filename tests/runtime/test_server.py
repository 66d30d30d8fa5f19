"""The bot in HTTP mode over real HTTP: Slack requests, signatures, health."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from bot.sandbox.waiting import wait_for
from tests.idle import wait_idle


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_help_is_acked_within_3_seconds_and_the_reply_arrives_through_the_sandbox(
    bot: Any,
) -> None:
    started = time.monotonic()
    response = bot.driver.command("U0AGENT", "help")
    assert response.status == 200
    assert time.monotonic() - started < 3
    replies = wait_for(lambda: bot.sandbox.responses)
    assert replies, "the help reply never reached the response_url"
    reply = replies[-1]
    assert reply.body["response_type"] == "ephemeral"
    assert "/followup due" in reply.body["text"]


def test_an_unknown_subcommand_gets_a_helpful_reply(bot: Any) -> None:
    bot.driver.command("U0AGENT", "<!channel> now")
    reply = wait_for(lambda: bot.sandbox.responses)[-1]
    assert "`/followup &lt;!channel&gt;`" in reply.body["text"]
    assert "/followup help" in reply.body["text"]


def test_unsigned_wrongly_signed_and_stale_requests_are_refused(bot: Any) -> None:
    assert bot.driver.command("U0AGENT", "help", unsigned=True).status == 401
    assert bot.driver.command("U0AGENT", "help", signature="v0=" + "0" * 64).status == 401
    stale = int(time.time()) - 6 * 60
    assert bot.driver.command("U0AGENT", "help", timestamp=stale).status == 401
    wait_idle(bot)
    assert bot.sandbox.responses == []


def test_healthz_is_200_when_the_database_answers(bot: Any) -> None:
    status, body = get(f"{bot.url}/healthz")
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "mode": "http"}


def test_healthz_is_503_when_the_database_is_unreachable(bot: Any) -> None:
    from sqlalchemy import create_engine

    deps: Any = bot.deps
    deps.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    status, body = get(f"{bot.url}/healthz")
    assert status == 503
    assert body["database"] == "unreachable"


def test_unknown_paths_are_404(bot: Any) -> None:
    status, _ = get(f"{bot.url}/nothing-here")
    assert status == 404


def test_a_delivery_the_database_refuses_is_a_400_not_a_retry(bot: Any) -> None:
    """A 503 makes a helpdesk retry for days; a value the database refuses is refused again."""
    from io import BytesIO

    from sqlalchemy.exc import DataError

    from bot.runtime.server import FollowupWSGI

    def refuse(deps: Any, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raise DataError("INSERT ...", {}, ValueError("value too long for type character(32)"))

    wsgi = FollowupWSGI(bot.deps, None, refuse)
    answers: list[str] = []
    environ = {
        "PATH_INFO": "/webhooks/generic",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": "2",
        "wsgi.input": BytesIO(b"{}"),
    }
    body = b"".join(wsgi(environ, lambda status, headers: answers.append(status)))
    assert answers == ["400 Bad Request"]
    assert "cannot be stored" in json.loads(body)["error"]
