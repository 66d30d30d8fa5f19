"""Slack listeners, grouped by surface. `register` is the one visible, ordered routing list."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, events, views


def register(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
