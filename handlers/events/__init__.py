"""Events API listeners. Only events the bot subscribes to in app.yaml, and all of them."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from handlers.events import app_home_opened, message, user_change


def register(app: App) -> None:
    app.event("app_home_opened")(app_home_opened.handle_app_home_opened)
    # message.channels and message.groups both arrive as the `message` event type.
    app.event("message")(message.handle_channel_message)
    app.event(ids.EVENT_USER_CHANGE)(user_change.handle_user_change)
    app.event(ids.EVENT_TEAM_JOIN)(user_change.handle_user_change)
