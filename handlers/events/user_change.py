"""`user_change` and `team_join`: a member's new profile (time zone, email, name, deactivated)
into the directory, so the bot never looks them up before a DM (docs: api.slack.com/events/
user_change and team_join; both carry the full user object, scope users:read)."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.people.directory import user_changed


def handle_user_change(event: dict[str, Any], deps: Deps) -> None:
    user = event.get("user")
    if isinstance(user, dict):
        user_changed(deps, user)
