"""No `/followup` reply ever carries a live mention or link typed by the user."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.commands.followup import ROUTES
from tests.idle import wait_idle

HOSTILE = "<!channel> <!here> <@U0LEAD> <https://evil.example|click me>"
LIVE = ("<!channel>", "<!here>", "<@U0LEAD>", "<https://evil.example")


@pytest.mark.parametrize("subcommand", sorted(ROUTES))
def test_every_subcommand_escapes_what_the_user_typed(bot: Any, subcommand: str) -> None:
    before = len(bot.sandbox.responses)
    for text in (
        f"{subcommand} {HOSTILE}",
        f"{subcommand} until {HOSTILE}",
        f"{subcommand} x {HOSTILE}",
    ):
        assert bot.driver.command("U0AGENT", text).status == 200
    wait_idle(bot)  # every reply the listeners were going to send is sent
    shown = json.dumps([r.body for r in bot.sandbox.responses[before:]])
    shown += json.dumps([m for m in bot.sandbox.ephemeral("U0AGENT")])
    for live in LIVE:
        assert live not in shown, f"/followup {subcommand} echoed {live} unescaped"
