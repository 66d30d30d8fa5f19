"""Slack people behind follow-ups: profiles (time zone, DM channel) and owner resolution."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.people.triage import send_to_triage
from db import cases as store
from db import followups as followup_store
from db.models import Agent, FollowUp

log = logging.getLogger("followup.people")

PROFILE_TTL = timedelta(hours=24)
"""How long a cached Slack time zone is trusted (people travel; DST is zoneinfo's job)."""


def name_of(user: dict[str, Any]) -> str | None:
    """The name a customer should see under a draft: the real name before the handle."""
    profile = user.get("profile") or {}
    return (
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
    )


def ensure_profile(deps: Deps, agent_id: int) -> Agent:
    """The agent with a fresh time zone (users.info) and a DM channel (conversations.open)."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        stale = agent.timezone_fetched_at is None or now - agent.timezone_fetched_at > PROFILE_TTL
        need_dm = agent.dm_channel is None
        slack_id = agent.slack_user_id
    updates: dict[str, object] = {}
    if stale:
        try:
            user = deps.client.users_info(user=slack_id)["user"]
            updates.update(
                timezone=user.get("tz") or None,
                timezone_fetched_at=now,
                display_name=name_of(user),
            )
            email = (user.get("profile") or {}).get("email")
            if email:
                updates["email"] = email.lower()
        except SlackApiError as error:
            log.warning("users.info %s failed: %s", slack_id, error.response.get("error"))
    if need_dm:
        try:
            updates["dm_channel"] = deps.client.conversations_open(users=slack_id)["channel"]["id"]
        except SlackApiError as error:
            log.warning("conversations.open %s failed: %s", slack_id, error.response.get("error"))
    with deps.session_factory.begin() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        for name, value in updates.items():
            setattr(agent, name, value)
        session.flush()
        session.expunge(agent)
    return agent


def agent_for_email(deps: Deps, email: str, team_id: int | None) -> Agent | None:
    """The Slack user with this email, from our table or users.lookupByEmail (then stored)."""
    email = email.strip().lower()
    with deps.session_factory() as session:
        known = store.agent_by_email(session, email)
        if known is not None:
            session.expunge(known)
            return known
    try:
        user = deps.client.users_lookupByEmail(email=email)["user"]
    except SlackApiError as error:
        if error.response.get("error") != "users_not_found":
            raise
        return None
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        agent = store.agent_by_slack_id(session, user["id"], now, team_id)
        agent.email = email
        agent.timezone = user.get("tz") or agent.timezone
        agent.timezone_fetched_at = now
        agent.display_name = name_of(user)
        session.flush()
        store.adopt_owned_cases(session, agent)
        session.expunge(agent)
        return agent


def resolve_assignee(deps: Deps, followup_id: int) -> int | None:
    """Find who should do an unassigned follow-up; None (and triage) when nobody can be found."""

    with deps.session_factory() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        case = followup.case
        role, team_id, source = followup.role, case.team_id, case.source
        owner_email, manager_email = case.owner_email, case.account_manager_email
        external = case.owner_external_id
        linked = store.agent_by_link(session, source, external) if external else None
        linked_id = linked.id if linked else None
    agent: Agent | None = None
    if role == "account_manager" and manager_email:
        agent = agent_for_email(deps, manager_email, team_id)
    if agent is None and owner_email:
        agent = agent_for_email(deps, owner_email, team_id)
    agent_id = agent.id if agent else linked_id
    with deps.session_factory.begin() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        if agent_id is None:
            followup.state = "triage"
            followup.lease_until = None
            followup.updated_at = deps.clock.now()
            store.audit(
                session,
                at=deps.clock.now(),
                actor="scheduler",
                surface="triage",
                entity="follow_up",
                entity_id=followup_id,
                action="sent_to_triage",
                detail={"role": role},
            )
        else:
            agent_row = session.get(Agent, agent_id)
            assert agent_row is not None
            followup_store.set_assignee(session, [followup_id], agent_row)
            if role == "owner" and followup.case.owner_id is None:
                followup.case.owner_id = agent_id
    if agent_id is None:
        send_to_triage(deps, followup_id)
    return agent_id
