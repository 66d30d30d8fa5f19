"""The workspace directory: who everyone in Slack is, read in pages from users.list.

Read at start-up and refreshed daily (users.list is Tier 2, 200 members a page, so a
5,000-person workspace is 25 calls), and kept current in between by the `user_change` and
`team_join` events. A person's time zone, email, name and deactivation then come from here:
no DM waits on users.info or users.lookupByEmail, which are kept for someone the directory
has not seen yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.deps import Deps
from db import directory
from db.directory import Member

log = logging.getLogger("followup.people")

REFRESH = timedelta(hours=24)
"""How often users.list is read again: daily, to catch an event Slack never delivered (the
events keep it current in between; a read of a 5,000-person workspace is 25 Tier 2 calls)."""
PAGE = 200
"""Members per users.list page: Slack's recommended page size."""
MAX_PAGES = 500
"""A bound on one read (100,000 members), so a cursor that never ends cannot loop for ever."""


def name_of(user: dict[str, Any]) -> str | None:
    """The name a customer should see under a draft: the real name before the handle."""
    profile = user.get("profile") or {}
    return (
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
    )


def member_of(user: dict[str, Any]) -> Member | None:
    """A users.list, users.info or event user object as a `Member`; None without an id."""
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    email = (user.get("profile") or {}).get("email")
    return Member(
        slack_user_id=user_id,
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        display_name=name_of(user),
        timezone=user.get("tz") or None,
        deleted=bool(user.get("deleted")),
        is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
    )


def sync_directory(deps: Deps) -> int:
    """Read the whole directory from users.list and store it; the members read."""
    started = deps.clock.now()
    members: list[Member] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        response = deps.client.users_list(limit=PAGE, cursor=cursor)
        for user in response.get("members") or []:
            member = member_of(user)
            if member is not None:
                members.append(member)
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    save(deps, members, read_since=started)
    log.info("directory: %d members read from users.list", len(members))
    return len(members)


def sync_if_stale(deps: Deps) -> None:
    """Read the directory unless it was read within `REFRESH` (a one-shot command's start)."""
    with deps.session_factory() as session:
        seen = directory.last_seen(session)
    if seen is None or deps.clock.now() - seen > REFRESH:
        sync_directory(deps)


def save(deps: Deps, members: list[Member], *, read_since: datetime | None = None) -> None:
    """Store members and bring the agents among them up to date, in one transaction (a whole
    read: `read_since` its start, so an event stored meanwhile is not overwritten)."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        directory.save_members(session, members, now, read_since=read_since)
        if read_since is None:
            directory.refresh_agents(session, now, [m.slack_user_id for m in members])
        else:
            directory.refresh_agents(session, now)


def user_changed(deps: Deps, user: dict[str, Any]) -> None:
    """`user_change` or `team_join`: one member's new state, stored at once."""
    member = member_of(user)
    if member is not None:
        save(deps, [member])
