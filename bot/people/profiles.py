"""Slack people behind follow-ups: profiles (time zone, DM channel) and owner resolution."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.people.directory import REFRESH, member_of
from bot.people.directory import save as directory_save
from bot.people.triage import send_to_triage
from db import cases as store
from db import directory
from db import followups as followup_store
from db.models import Agent, FollowUp

log = logging.getLogger("followup.people")

PROFILE_TTL = 2 * REFRESH
"""How long a time zone is trusted without the directory confirming it: two daily reads (the
user_change event brings a move at once; DST is zoneinfo's job)."""


def ensure_profile(deps: Deps, agent_id: int) -> Agent:
    """The agent with a time zone no older than `PROFILE_TTL`. The directory keeps every
    agent's fresh (bot/people/directory.py); users.info only for one it has not seen lately.
    No conversations.open: a DM is posted to the user id and Slack names the channel."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        stale = agent.timezone_fetched_at is None or now - agent.timezone_fetched_at > PROFILE_TTL
        slack_id = agent.slack_user_id
    if stale:
        try:
            member = member_of(deps.client.users_info(user=slack_id)["user"])
        except SlackApiError as error:
            log.warning("users.info %s failed: %s", slack_id, error.response.get("error"))
        else:
            if member is not None:
                directory_save(deps, [member])
    with deps.session_factory() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        session.expunge(agent)
    return agent


def agent_for_email(deps: Deps, email: str, team_id: int | None) -> Agent | None:
    """The Slack user with this email: from our agents, else the directory, else (someone
    who joined since it was read) users.lookupByEmail; stored as an agent of `team_id`."""
    email = email.strip().lower()
    with deps.session_factory() as session:
        known = store.agent_by_email(session, email)
        if known is not None:
            session.expunge(known)
            return known
        listed = directory.member_by_email(session, email)
        slack_id = listed.slack_user_id if listed is not None else None
    if slack_id is None:
        try:
            user = deps.client.users_lookupByEmail(email=email)["user"]
        except SlackApiError as error:
            if error.response.get("error") != "users_not_found":
                raise
            return None
        member = member_of(user)
        if member is None:
            return None
        directory_save(deps, [member])
        slack_id = member.slack_user_id
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        agent = store.agent_by_slack_id(session, slack_id, now, team_id)
        agent.email = email
        directory.refresh_agent(session, agent, now)
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
