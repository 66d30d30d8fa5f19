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


def save_members(session: Session, members: Sequence[Member], now: datetime) -> None:
    """Insert or update each member (the latest word from Slack wins)."""
    if not members:
        return
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
    statement = dialect_insert(session, SlackUser)
    updated = {name: statement.excluded[name] for name in rows[0] if name != "slack_user_id"}
    session.execute(
        statement.values(rows).on_conflict_do_update(index_elements=["slack_user_id"], set_=updated)
    )


def refresh_agents(session: Session, members: Sequence[Member], now: datetime) -> int:
    """Bring the agents among `members` up to date (time zone, name, email, deactivated);
    how many there were."""
    by_id = {m.slack_user_id: m for m in members}
    agents = session.scalars(select(Agent).where(Agent.slack_user_id.in_(list(by_id))))
    count = 0
    for agent in agents:
        member = by_id[agent.slack_user_id]
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
    member = session.get(SlackUser, agent.slack_user_id)
    if member is None:
        return
    refresh_agents(
        session,
        [
            Member(
                slack_user_id=member.slack_user_id,
                email=member.email,
                display_name=member.display_name,
                timezone=member.timezone,
                deleted=member.deleted,
                is_bot=member.is_bot,
            )
        ],
        now,
    )
