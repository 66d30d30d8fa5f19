"""Slash command listeners."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from handlers.commands import followup


def register(app: App) -> None:
    app.command(ids.COMMAND)(followup.handle_followup_command)
