"""Watched channels trust only the helpdesk's app: a "ticket solved" message counts as a closed
case only when a bot or app id listed for that channel in WATCHED_CHANNELS posted it. Anyone
else typing "Ticket #X solved by victim@…" makes nothing (and one warning per channel)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings, SettingsError
from bot.dispatch.dispatcher import dispatch_pass
from bot.intake import watched
from bot.sandbox.waiting import wait_for
from db.models import Case
from tests.conftest import bot_env
from tests.idle import wait_idle

FORGED = "Ticket #666 solved by ada@example.com: Your refund is approved, reply with your card"


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no channel warned about yet (the memory is per process)."""
    monkeypatch.setattr(watched, "_warned", set(), raising=False)


def cases(bot: Any) -> list[Case]:
    with bot.deps.session_factory() as session:
        return list(session.scalars(select(Case)))


def channels(bot: Any, *ids: str) -> None:
    for channel in ids:
        bot.sandbox.add_channel(channel, channel.lower().removeprefix("c0"))


def test_a_person_posting_a_solved_message_makes_no_case_and_no_dm(bot: Any) -> None:
    channels(bot, "C0HELPDESK")
    assert bot.driver.channel_message("C0HELPDESK", FORGED, user_id="U0OTHER").status == 200
    wait_idle(bot)
    assert cases(bot) == []
    bot.clock.advance(timedelta(days=4))
    assert dispatch_pass(bot.deps).delivered == 0
    assert bot.sandbox.dm_messages("U0AGENT") == []


def test_the_listed_helpdesk_app_still_makes_a_case(bot: Any) -> None:
    channels(bot, "C0HELPDESK")
    text = "Ticket #123 solved by <@U0AGENT>: Password reset email never arrives"
    assert bot.driver.channel_message("C0HELPDESK", text, bot_id="B0HELPDESK").status == 200
    [case] = wait_for(lambda: cases(bot))
    assert (case.source, case.external_id) == ("slack:C0HELPDESK", "123")


def test_an_unlisted_bot_or_a_listed_bot_in_another_channel_is_ignored(bot: Any) -> None:
    channels(bot, "C0HELPDESK", "C0RANDOM")
    assert bot.driver.channel_message("C0HELPDESK", FORGED, bot_id="B0SOMEAPP").status == 200
    assert bot.driver.channel_message("C0RANDOM", FORGED, bot_id="B0HELPDESK").status == 200
    wait_idle(bot)
    assert cases(bot) == []


def test_an_app_id_can_be_listed_instead_of_a_bot_id(make_bot: Any) -> None:
    bot = make_bot(WATCHED_CHANNELS="C0HELPDESK:A0ZENDESK|B0OTHERBOT")
    channels(bot, "C0HELPDESK")
    event = {
        "type": "message",
        "subtype": "bot_message",
        "text": "Ticket #77 solved by <@U0AGENT>: Invoice address fixed",
        "bot_id": "B0UNLISTED",
        "app_id": "A0ZENDESK",
        "channel": "C0HELPDESK",
        "ts": f"{time.time():.6f}",
        "channel_type": "channel",
    }
    assert bot.driver.event(event).status == 200
    [case] = wait_for(lambda: cases(bot))
    assert case.external_id == "77"


def test_ignored_messages_are_logged_once_per_channel(
    bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    channels(bot, "C0HELPDESK", "C0RANDOM")
    with caplog.at_level(logging.WARNING, logger="followup.watched"):
        for _ in range(3):
            bot.driver.channel_message("C0HELPDESK", FORGED, user_id="U0OTHER")
            bot.driver.channel_message("C0RANDOM", FORGED, user_id="U0OTHER")
        wait_idle(bot)
    warned = [r.getMessage() for r in caplog.records if r.name == "followup.watched"]
    assert len(warned) == 2, warned
    assert any("C0HELPDESK" in m for m in warned) and any("C0RANDOM" in m for m in warned)
    assert all("WATCHED_CHANNELS" in m for m in warned)


@pytest.mark.parametrize(
    "value",
    [
        "C0HELPDESK",  # no sender
        "C0HELPDESK:",  # an empty list of senders
        "#helpdesk:B0ZENDESK",  # events carry channel ids, never names
        "C0HELPDESK:U0PERSON",  # a person is exactly what must not be trusted
        "C0HELPDESK:B0ZENDESK,,C0OTHER",
    ],
)
def test_a_malformed_watched_channels_setting_is_one_line_naming_it(
    value: str, sandbox: Any, sqlite_url: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(bot_env(sqlite_url, sandbox, WATCHED_CHANNELS=value))
    message = str(error.value)
    assert message.startswith("WATCHED_CHANNELS is malformed") and "\n" not in message


def test_watched_channels_are_read_with_their_senders(sandbox: Any, sqlite_url: str) -> None:
    env = bot_env(sqlite_url, sandbox, WATCHED_CHANNELS=" C0A1:B0Z|A0Z , G0PRIVATE:B0Y ")
    assert Settings.from_env(env).watched_channels == {
        "C0A1": frozenset({"B0Z", "A0Z"}),
        "G0PRIVATE": frozenset({"B0Y"}),
    }
    unset = Settings.from_env(bot_env(sqlite_url, sandbox, WATCHED_CHANNELS=""))
    assert unset.watched_channels == {}
