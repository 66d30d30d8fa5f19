"""Who is who: helpdesk agent ids linked to Slack users, team leads and backups.

`followup agents link|lead|backup` (CLI) and `/followup agents` (Slack) both land here. A
person is named by Slack user id (`U…`, also `<@U…>`) or by email (resolved with
users.lookupByEmail and stored).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from sqlalchemy import select

from bot.cases import SOURCES
from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.people import agent_for_email, name_of
from bot.slack_text import escape, escaped_short
from db import agents as roster_store
from db import cases as store
from db.models import Agent

_SLACK_USER = re.compile(r"^<?@?(?P<id>[UW][A-Z0-9]{2,30})(?:\|[^>]*)?>?$")
_EMAIL = re.compile(r"^(?:<mailto:)?(?P<email>[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+)(?:\|[^>]*)?>?$")
LINK_SOURCES = tuple(s for s in SOURCES if s != "generic")
"""The generic webhook names owners by email or Slack id, so it never needs a link."""

USAGE = (
    "`/followup agents` lists who is linked; a lead adds a link with "
    "`/followup agents link <source> <helpdesk agent id> <Slack user id or email>`, "
    "e.g. `/followup agents link zendesk 8447388090494 ada@example.com`."
)


class AgentError(ValueError):
    """A roster change that cannot be made; the message says why, for the person asking."""


@dataclass(frozen=True)
class Person:
    """A resolved Slack user, as stored."""

    id: int
    slack_user_id: str


def _store_user(deps: Deps, user: dict[str, object]) -> Person:
    now = deps.clock.now()
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    with deps.session_factory.begin() as session:
        agent = store.agent_by_slack_id(session, str(user["id"]), now)
        email = profile.get("email")
        if isinstance(email, str) and email:
            agent.email = email.lower()
        tz = user.get("tz")
        if isinstance(tz, str) and tz:
            agent.timezone, agent.timezone_fetched_at = tz, now
        agent.display_name = name_of(user)
        session.flush()
        return Person(agent.id, agent.slack_user_id)


def person(deps: Deps, who: str) -> Person:
    """The Slack user named by `who` (user id or email), stored; AgentError if there is none."""
    who = who.strip()
    by_id = _SLACK_USER.match(who)
    if by_id:
        try:
            user = deps.client.users_info(user=by_id["id"])["user"]
        except SlackApiError as error:
            if error.response.get("error") in ("user_not_found", "users_not_found"):
                raise AgentError(f"there is no Slack user {by_id['id']}") from None
            raise
        return _store_user(deps, user)
    by_email = _EMAIL.match(who)
    if by_email:
        agent = agent_for_email(deps, by_email["email"], None)
        if agent is None:
            raise AgentError(f"no Slack user has the email {by_email['email']}")
        return Person(agent.id, agent.slack_user_id)
    raise AgentError(f"expected a Slack user id (U…) or an email, got {who[:80]!r}")


def link(deps: Deps, source: str, external_agent_id: str, who: str, *, actor: str) -> Person:
    """Map `source`'s agent id to a Slack user (replacing an earlier mapping)."""
    source = source.strip().lower()
    if source not in LINK_SOURCES:
        raise AgentError(f"unknown source {source[:40]!r}: one of {', '.join(LINK_SOURCES)}")
    external_agent_id = external_agent_id.strip()
    if not external_agent_id or len(external_agent_id) > 200:
        raise AgentError("the helpdesk agent id must be 1 to 200 characters")
    target = person(deps, who)
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        agent = session.get(Agent, target.id)
        assert agent is not None
        store.link_agent(session, source, external_agent_id, agent, now)
        store.audit(
            session,
            at=now,
            actor=actor,
            surface="agents",
            entity="agent",
            entity_id=agent.id,
            action="linked",
            detail={"source": source, "external_agent_id": external_agent_id},
        )
    return target


def make_lead(
    deps: Deps, who: str, *, team: str | None, of: Sequence[str] = (), actor: str
) -> tuple[Person, list[Person]]:
    """Mark `who` a lead (of `team` when given) and the lead of each agent in `of`."""
    from bot.intake import team_defaults

    lead = person(deps, who)
    agents = [person(deps, name) for name in of]
    if any(a.id == lead.id for a in agents):
        raise AgentError("a lead cannot be their own lead")
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        row = session.get(Agent, lead.id)
        assert row is not None
        row.is_lead = True
        if team is not None:
            row.team_id = store.team_for(session, team, team_defaults(deps), now).id
        for agent in agents:
            member = session.get(Agent, agent.id)
            assert member is not None
            member.lead_id = lead.id
        store.audit(
            session,
            at=now,
            actor=actor,
            surface="agents",
            entity="agent",
            entity_id=lead.id,
            action="made_lead",
            detail={"team": team, "of": [a.slack_user_id for a in agents]},
        )
    return lead, agents


def set_backup(deps: Deps, who: str, backup: str, *, actor: str) -> tuple[Person, Person]:
    """`backup` covers `who` while they are away (and takes their escalations)."""
    agent, cover = person(deps, who), person(deps, backup)
    if agent.id == cover.id:
        raise AgentError("an agent cannot be their own backup")
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        row = session.get(Agent, agent.id)
        assert row is not None
        row.backup_id = cover.id
        store.audit(
            session,
            at=now,
            actor=actor,
            surface="agents",
            entity="agent",
            entity_id=agent.id,
            action="backup_set",
            detail={"backup": cover.slack_user_id},
        )
    return agent, cover


def roster_lines(deps: Deps) -> list[str]:
    """The links, leads and backups in words, one per line (Slack mrkdwn, escaped)."""
    with deps.session_factory() as session:
        links = roster_store.links(session)
        people = roster_store.roster(session)
    lines = ["*Helpdesk agents linked to Slack*"]
    lines += [
        f"• {escape(row.source)} `{escaped_short(row.external_agent_id, 80)}` → "
        f"<@{row.slack_user_id}>"
        for row in links
    ] or ["• none yet"]
    lines.append("*Leads and backups*")
    for row in people:
        parts = []
        if row.is_lead:
            parts.append("lead" + (f" of {escape(row.team)}" if row.team else ""))
        if row.lead:
            parts.append(f"reports to <@{row.lead}>")
        if row.backup:
            parts.append(f"backup <@{row.backup}>")
        lines.append(f"• <@{row.slack_user_id}>: {', '.join(parts)}")
    if not people:
        lines.append("• none yet (`followup agents lead …` on the server sets the first lead)")
    return lines


def _is_lead(deps: Deps, slack_user_id: str) -> bool:
    with deps.session_factory() as session:
        found = session.scalar(select(Agent.is_lead).where(Agent.slack_user_id == slack_user_id))
    return bool(found)


def _reply(lines: list[str]) -> Reply:
    text = "\n".join(lines)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text[:3000])),
        ContextBlock(elements=[MarkdownTextObject(text=USAGE)]),
    ]
    return Reply(text=text[:3000], blocks=blocks)


def agents_command(call: Invocation) -> Reply:
    """`/followup agents [link <source> <agent id> <user>]`: list the roster; leads add links."""
    args = call.args
    if not args or args[0].lower() == "list":
        return _reply(roster_lines(call.deps))
    if args[0].lower() != "link" or len(args) != 4:
        return Reply(text=USAGE)
    if not _is_lead(call.deps, call.user_id):
        return Reply(text="Only a team lead can link helpdesk agents. Ask your lead.")
    _, source, external_id, who = args
    try:
        target = link(call.deps, source, external_id, who, actor=call.user_id)
    except AgentError as error:
        return Reply(text=f"Not linked: {escape(str(error))}. {USAGE}")
    done = (
        f"Linked {escape(source.lower())} agent `{escaped_short(external_id, 80)}` to "
        f"<@{target.slack_user_id}>: their closed cases now reach them."
    )
    return _reply([done, "", *roster_lines(call.deps)])
