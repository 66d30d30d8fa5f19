"""The workspace directory: Slack members as users.list showed them, and the agents they are.
The caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.cases import dialect_insert
from db.models import Agent, SlackUser


@dataclass(frozen=True)
class Member:
    """One workspace member, as the bot needs them."""

    slack_user_id: str
    email: str | None
    display_name: str | None
    timezone: str | None
    deleted: bool
    is_bot: bool


CHUNK = 500
"""Rows per statement: 7 parameters each stays far inside SQLite's and PostgreSQL's limits."""


def save_members(
    session: Session,
    members: Sequence[Member],
    now: datetime,
    *,
    read_since: datetime | None = None,
) -> None:
    """Insert or update each member. `read_since`: the members come from a read that began
    then, so a member stored later (by a user_change during the read) keeps the newer word."""
    rows = [
        {
            "slack_user_id": m.slack_user_id,
            "email": m.email,
            "display_name": m.display_name,
            "timezone": m.timezone,
            "deleted": m.deleted,
            "is_bot": m.is_bot,
            "seen_at": now,
        }
        for m in members
    ]
    for start in range(0, len(rows), CHUNK):
        statement = dialect_insert(session, SlackUser)
        updated = {name: statement.excluded[name] for name in rows[0] if name != "slack_user_id"}
        newer = SlackUser.seen_at <= read_since if read_since is not None else None
        session.execute(
            statement.values(rows[start : start + CHUNK]).on_conflict_do_update(
                index_elements=["slack_user_id"], set_=updated, where=newer
            )
        )


def refresh_agents(
    session: Session, now: datetime, slack_user_ids: Sequence[str] | None = None
) -> int:
    """Bring agents up to date from the directory (time zone, name, email, deactivated): every
    agent it knows, or those with these user ids; how many it updated."""
    query = select(Agent, SlackUser).join(SlackUser, SlackUser.slack_user_id == Agent.slack_user_id)
    if slack_user_ids is not None:
        query = query.where(Agent.slack_user_id.in_(list(slack_user_ids)))
    count = 0
    for agent, member in session.execute(query):
        agent.timezone = member.timezone or agent.timezone
        agent.timezone_fetched_at = now
        agent.display_name = member.display_name or agent.display_name
        agent.email = member.email or agent.email
        agent.deactivated = member.deleted
        count += 1
    return count


def member_by_email(session: Session, email: str) -> SlackUser | None:
    """The active, human member with this email (lower case), if the directory has one."""
    return session.scalars(
        select(SlackUser)
        .where(
            SlackUser.email == email,
            SlackUser.deleted.is_(False),
            SlackUser.is_bot.is_(False),
        )
        .limit(1)
    ).first()


def last_seen(session: Session) -> datetime | None:
    """When the directory last heard from Slack about anyone."""
    return session.scalar(select(func.max(SlackUser.seen_at)))


def refresh_agent(session: Session, agent: Agent, now: datetime) -> None:
    """Bring one agent up to date from the directory, when it has them."""
    refresh_agents(session, now, [agent.slack_user_id])


def display_name(session: Session, slack_user_id: str) -> str | None:
    """A person's name as the roster or, failing that, the workspace directory knows it."""
    agent = session.scalar(select(Agent).where(Agent.slack_user_id == slack_user_id))
    if agent is not None and agent.display_name:
        return agent.display_name
    member = session.get(SlackUser, slack_user_id)
    return member.display_name if member is not None else None
