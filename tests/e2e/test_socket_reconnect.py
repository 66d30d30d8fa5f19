"""Socket Mode connection faults in the middle of a run: nothing lost, nothing done twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox.socket_mode import EnvelopeNotAcknowledged
from db.models import Case, FollowUp, InboundDelivery

MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def count(bot: Any, model: Any, *where: Any) -> int:
    with bot.deps.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_after_a_dropped_connection_the_bot_reconnects_and_answers(
    socket_bot: Any, wait_for: Any, post_case: Any
) -> None:
    bot, hub = socket_bot, socket_bot.sandbox.socket_mode
    assert post_case(bot, case_id="R-1")[0] == 202
    assert bot.driver.command("U0AGENT", "help").status == 200
    assert wait_for(lambda: len(bot.sandbox.responses) == 1)

    assert hub.drop() == 1  # the network fails: no close frame
    hub.wait_connected(timeout=15, opened_at_least=2)
    assert hub.connection_count == 1, "the dead connection is gone, one new one is open"

    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1  # the scheduler's work never needed the socket
    assert bot.driver.command("U0AGENT", "due").status == 200
    replies = wait_for(lambda: len(bot.sandbox.responses) == 2 and bot.sandbox.responses)
    assert "Refund not showing on the March invoice" in json.dumps(replies[-1].body)


def test_an_event_whose_ack_was_lost_is_redelivered_and_stored_once(
    socket_bot: Any, wait_for: Any
) -> None:
    bot, hub = socket_bot, socket_bot.sandbox.socket_mode
    hub.drop_after_next_envelope()
    text = "Ticket #77 solved by <@U0AGENT>: VPN drops every hour"
    response = bot.driver.channel_message("C0HELPDESK", text, bot_id="B0HELPDESK")
    assert response.status == 200  # acknowledged: the second delivery, on the new connection

    [envelope] = [e for e in hub.envelopes if e.type == "events_api"]
    assert envelope.attempts == 2
    assert envelope.message()["retry_attempt"] == 1
    assert hub.connections_opened == 2
    # Events are acknowledged first and stored by their listener after.
    assert wait_for(lambda: count(bot, Case, Case.external_id == "77") == 1)
    assert wait_for(lambda: count(bot, FollowUp) == 1)
    event_id = envelope.payload["event_id"]
    assert count(bot, InboundDelivery, InboundDelivery.key == event_id) == 1


def test_an_event_sent_while_disconnected_waits_for_the_next_connection(
    socket_bot: Any, wait_for: Any
) -> None:
    bot, hub = socket_bot, socket_bot.sandbox.socket_mode
    hub.drop()
    text = "Case #88 resolved by <@U0AGENT>: Invoices show the wrong VAT rate"
    assert bot.driver.channel_message("C0HELPDESK", text, bot_id="B0HELPDESK").status == 200
    assert hub.connections_opened == 2
    assert wait_for(lambda: count(bot, Case, Case.external_id == "88") == 1)


def test_a_command_whose_ack_was_lost_runs_once_and_is_not_redelivered(
    socket_bot: Any, wait_for: Any
) -> None:
    bot, hub = socket_bot, socket_bot.sandbox.socket_mode
    hub.drop_after_next_envelope()
    # Slack shows the user a timeout; it does not send a slash command again.
    with pytest.raises(EnvelopeNotAcknowledged):
        bot.driver.command("U0AGENT", "help")
    assert wait_for(lambda: len(bot.sandbox.responses) == 1), "the command itself did run"
    hub.wait_connected(timeout=15, opened_at_least=2)
    assert bot.driver.command("U0AGENT", "help").status == 200
    assert wait_for(lambda: len(bot.sandbox.responses) == 2)
    assert [e.attempts for e in hub.envelopes] == [1, 1]
    assert len(bot.sandbox.responses) == 2


def test_a_refresh_request_moves_the_bot_to_a_new_connection(
    socket_bot: Any, wait_for: Any
) -> None:
    bot, hub = socket_bot, socket_bot.sandbox.socket_mode
    assert hub.request_refresh() == 1
    hub.wait_connected(timeout=10, opened_at_least=2)
    assert bot.driver.command("U0AGENT", "help").status == 200
    assert wait_for(lambda: bot.sandbox.responses)
