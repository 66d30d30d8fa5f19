"""Every Slack surface end to end, once over signed HTTP and once over Socket Mode."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from db.models import Agent, Case, FollowUp

MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def last_reply(bot: Any, wait_for: Any, count: int = 1) -> dict[str, Any]:
    replies = wait_for(lambda: len(bot.sandbox.responses) >= count and bot.sandbox.responses)
    assert replies, "no reply reached the response_url"
    return dict(replies[-1].body)


def test_help_is_acknowledged_and_answered(bot_any_mode: Any, wait_for: Any) -> None:
    response = bot_any_mode.driver.command("U0AGENT", "help")
    assert (response.status, response.body) == (200, "")
    reply = last_reply(bot_any_mode, wait_for)
    assert reply["response_type"] == "ephemeral"
    assert "/followup due" in reply["text"]


def test_an_unknown_subcommand_gets_an_escaped_helpful_reply(
    bot_any_mode: Any, wait_for: Any
) -> None:
    assert bot_any_mode.driver.command("U0AGENT", "<!channel> now").status == 200
    reply = last_reply(bot_any_mode, wait_for)
    assert "`/followup &lt;!channel&gt;`" in reply["text"]
    assert "/followup help" in reply["text"]


def test_due_is_calm_when_empty_and_lists_a_due_follow_up(
    bot_any_mode: Any, wait_for: Any, post_case: Any
) -> None:
    bot = bot_any_mode
    assert bot.driver.command("U0AGENT", "due").status == 200
    assert last_reply(bot, wait_for)["text"].startswith("Nothing due right now.")
    assert post_case(bot, case_id="D-1")[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    assert bot.driver.command("U0AGENT", "due").status == 200
    reply = last_reply(bot, wait_for, count=2)
    assert "Refund not showing on the March invoice" in json.dumps(reply)


def test_opening_app_home_publishes_the_agents_queue(
    bot_any_mode: Any, wait_for: Any, post_case: Any
) -> None:
    bot = bot_any_mode
    planned = post_case(
        bot, case_id="H-1", subject="Printer driver keeps crashing", owner_slack_id="U0AGENT"
    )
    assert planned[0] == 202
    assert bot.driver.app_home_opened("U0AGENT").status == 200
    published = wait_for(lambda: bot.sandbox.calls_to("views.publish"))
    assert [call.args["user_id"] for call in published] == ["U0AGENT"]
    home = bot.sandbox.home_view("U0AGENT")
    assert home is not None
    assert "Printer driver keeps crashing" in json.dumps(home["blocks"])


def test_a_solved_ticket_in_a_watched_channel_becomes_a_case(
    bot_any_mode: Any, wait_for: Any
) -> None:
    bot = bot_any_mode
    text = "Ticket #123 solved by <@U0AGENT>: Password reset email never arrives"
    response = bot.driver.channel_message("C0HELPDESK", text, bot_id="B0HELPDESK")
    assert response.status == 200

    def stored() -> list[Case]:
        with bot.deps.session_factory() as session:
            return list(session.scalars(select(Case).where(Case.external_id == "123")))

    [case] = wait_for(stored)
    assert case.source == "slack:C0HELPDESK"
    assert case.subject == "Password reset email never arrives"


def test_the_triage_picker_assigns_the_follow_up(
    bot_any_mode: Any, wait_for: Any, post_case: Any
) -> None:
    bot = bot_any_mode
    assert post_case(bot, case_id="T-1", owner_email="nobody@example.com")[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).triaged == 1
    [post] = bot.sandbox.messages("C0TRIAGE")
    response = bot.driver.block_action_from_message(
        "U0LEAD", "C0TRIAGE", post["ts"], ids.ACTION_TRIAGE_ASSIGN, "U0AGENT"
    )
    assert response.status == 200

    def assigned() -> str | None:
        with bot.deps.session_factory() as session:
            followup = session.scalars(select(FollowUp)).one()
            agent = session.get(Agent, followup.assignee_id) if followup.assignee_id else None
            return agent.slack_user_id if agent and followup.state == "planned" else None

    assert wait_for(assigned) == "U0AGENT"
    updated = wait_for(
        lambda: (
            "Assigned to <@U0AGENT>"
            in json.dumps(bot.sandbox.message("C0TRIAGE", post["ts"])["blocks"])
        )
    )
    assert updated, "the triage post still offers the picker"


def test_health_names_the_mode_and_slack_events_is_closed_in_socket_mode(
    bot_any_mode: Any,
) -> None:
    bot = bot_any_mode
    assert get(f"{bot.url}/healthz") == (200, {"status": "ok", "database": "ok", "mode": bot.mode})
    status, body = get(f"{bot.url}/slack/events")
    if bot.mode == "socket":
        assert status == 404
        assert "Socket Mode" in body["error"]
    else:
        assert status == 405  # the route is open, for POSTs from Slack


def test_a_command_is_acknowledged_while_every_listener_thread_is_busy(
    bot_any_mode: Any, wait_for: Any
) -> None:
    """The ack comes from the request thread: a saturated listener pool delays the answer,
    never the acknowledgement Slack needs within 3 seconds."""
    import threading
    import time

    pool = bot_any_mode.running.app.listener_runner.listener_executor
    release = threading.Event()
    busy = [pool.submit(release.wait, 30) for _ in range(pool.threads)]
    try:
        started = time.monotonic()
        response = bot_any_mode.driver.command("U0AGENT", "help")
        acked_in = time.monotonic() - started
        assert response.status == 200 and acked_in < 1.0
        assert not bot_any_mode.sandbox.responses  # the work itself still waits
    finally:
        release.set()
    for future in busy:
        future.result(timeout=5)
    assert "/followup due" in last_reply(bot_any_mode, wait_for)["text"]
