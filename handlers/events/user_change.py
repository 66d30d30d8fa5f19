"""`user_change` and `team_join`: a member's new profile (time zone, email, name, deactivated)
into the directory, so the bot never looks them up before a DM (Slack's event reference: both
carry the full user object; scope users:read). A member of another organisation (seen through
a shared channel) is not one of ours and is ignored: the directory must never resolve a
helpdesk owner's email to an outsider."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.people.directory import user_changed


def handle_user_change(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    user = event.get("user")
    if not isinstance(user, dict):
        return
    home, theirs = body.get("team_id"), user.get("team_id")
    if home and theirs and theirs != home:
        return
    user_changed(deps, user)
