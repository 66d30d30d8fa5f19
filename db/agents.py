"""Agent roster queries: helpdesk agent links, leads and backups. The caller commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, joinedload

from db.models import Agent, AgentLink, Case, Team


@dataclass(frozen=True)
class LinkRow:
    source: str
    external_agent_id: str
    slack_user_id: str


@dataclass(frozen=True)
class RosterRow:
    """One agent with a lead role, a lead of their own, or a backup."""

    slack_user_id: str
    is_lead: bool
    team: str | None
    lead: str | None
    backup: str | None


AnyTeam = int | None | Literal["all"]
"""A team id, None for agents in no team yet, or "all" (the operator's CLI)."""


def _in_team(team_id: AnyTeam) -> Any:
    if team_id == "all":
        return True
    return Agent.team_id.is_(None) if team_id is None else Agent.team_id == team_id


def by_slack_id(session: Session, slack_user_id: str) -> Agent | None:
    """The agent with this Slack user id, if the bot knows them."""
    return session.scalar(select(Agent).where(Agent.slack_user_id == slack_user_id))


def link_holder(session: Session, source: str, external_agent_id: str) -> Agent | None:
    """The agent a helpdesk's agent id is linked to now, if any."""
    return session.scalar(
        select(Agent)
        .join(AgentLink, AgentLink.agent_id == Agent.id)
        .where(AgentLink.source == source, AgentLink.external_agent_id == external_agent_id)
    )


def case_teams(session: Session, source: str, external_agent_id: str) -> set[int | None]:
    """The teams of the cases a helpdesk agent id owns (whose team may link it)."""
    return set(
        session.scalars(
            select(Case.team_id)
            .where(Case.source == source, Case.owner_external_id == external_agent_id)
            .distinct()
        )
    )


def links(session: Session, limit: int = 200, *, team_id: AnyTeam = "all") -> list[LinkRow]:
    """Helpdesk agent ids mapped to Slack users, by source then agent id."""
    rows = session.execute(
        select(AgentLink.source, AgentLink.external_agent_id, Agent.slack_user_id)
        .join(Agent, Agent.id == AgentLink.agent_id)
        .where(_in_team(team_id))
        .order_by(AgentLink.source, AgentLink.external_agent_id)
        .limit(limit)
    )
    return [LinkRow(*row) for row in rows]


def roster(session: Session, limit: int = 200, *, team_id: AnyTeam = "all") -> list[RosterRow]:
    """Agents that are leads, have a lead of their own, or have a backup."""
    lead, backup = aliased(Agent), aliased(Agent)
    rows = session.execute(
        select(
            Agent.slack_user_id,
            Agent.is_lead,
            Team.slug,
            lead.slack_user_id,
            backup.slack_user_id,
        )
        .outerjoin(Team, Team.id == Agent.team_id)
        .outerjoin(lead, lead.id == Agent.lead_id)
        .outerjoin(backup, backup.id == Agent.backup_id)
        .where(Agent.is_lead.is_(True) | Agent.lead_id.is_not(None) | Agent.backup_id.is_not(None))
        .where(_in_team(team_id))
        .order_by(Agent.slack_user_id)
        .limit(limit)
    )
    return [RosterRow(*row) for row in rows]


def with_teams(session: Session, ids: Iterable[int]) -> dict[int, Agent]:
    """These agents by id, each with their team loaded (what a calendar needs)."""
    wanted = set(ids)
    if not wanted:
        return {}
    found = session.scalars(
        select(Agent).options(joinedload(Agent.team)).where(Agent.id.in_(wanted))
    )
    return {agent.id: agent for agent in found}


def by_ids(session: Session, ids: Iterable[int]) -> list[Agent]:
    """These agents by id (no particular order)."""
    return list(session.scalars(select(Agent).where(Agent.id.in_(ids))))


def by_slack_ids(session: Session, slack_user_ids: Iterable[str]) -> list[Agent]:
    """The known agents with these Slack user ids (none created)."""
    return list(session.scalars(select(Agent).where(Agent.slack_user_id.in_(slack_user_ids))))


def by_emails(session: Session, emails: Iterable[str]) -> list[Agent]:
    """The agents with these emails (compared as given: the caller lowercases)."""
    return list(session.scalars(select(Agent).where(Agent.email.in_(emails))))


def linked(
    session: Session, source: str, external_agent_ids: Iterable[str]
) -> list[tuple[str, Agent]]:
    """(helpdesk agent id, agent) for each of these ids of `source` linked to an agent."""
    rows = session.execute(
        select(AgentLink.external_agent_id, Agent)
        .join(Agent, AgentLink.agent_id == Agent.id)
        .where(AgentLink.source == source, AgentLink.external_agent_id.in_(external_agent_ids))
    )
    return [(external, agent) for external, agent in rows]


def leads(session: Session) -> list[Agent]:
    """Every agent who is a lead, of any team."""
    return list(session.scalars(select(Agent).where(Agent.is_lead.is_(True))))


def first_lead(session: Session, team_id: int) -> Agent | None:
    """The team's lead with the lowest id still in Slack, if it has any."""
    return session.scalar(
        select(Agent)
        .where(Agent.team_id == team_id, Agent.is_lead.is_(True), Agent.deactivated.is_(False))
        .order_by(Agent.id)
        .limit(1)
    )


def timezone_of(session: Session, slack_user_id: str) -> str | None:
    """The time zone of the agent with this Slack user id; None when unknown or not set."""
    return session.scalar(select(Agent.timezone).where(Agent.slack_user_id == slack_user_id))


def everyone(session: Session) -> list[Agent]:
    """Every agent the bot knows."""
    return list(session.scalars(select(Agent)))
