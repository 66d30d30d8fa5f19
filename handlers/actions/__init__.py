"""Block action listeners (buttons, menus)."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from handlers.actions import triage_assign


def register(app: App) -> None:
    app.action(ids.ACTION_TRIAGE_ASSIGN)(triage_assign.handle_triage_assign)
