"""Publish the App Home tab when a user opens it."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.queue import publish_home


def handle_app_home_opened(event: dict[str, Any], deps: Deps) -> None:
    if event.get("tab", "home") != "home":
        return
    publish_home(deps, event["user"])
