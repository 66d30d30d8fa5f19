"""Publish the App Home tab when a user opens it."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.loop.queue import publish_home
from handlers.actions.common import SLACK_USER, slack_id


def handle_app_home_opened(event: dict[str, Any], deps: Deps) -> None:
    user = slack_id(event.get("user"), SLACK_USER)
    if event.get("tab", "home") != "home" or user is None:
        return
    publish_home(deps, user)
