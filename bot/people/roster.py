"""Who is who: helpdesk agent ids linked to Slack users, team leads and backups.

`followup agents link|lead|backup` (CLI) and `/followup agents` (Slack) both land here. A
person is named by Slack user id (`U…`, also `<@U…>`) or by email (resolved with
users.lookupByEmail and stored).

In Slack a team is a wall. Only people the bot knows (a row in `agents`) get an answer; anyone
else is told to ask their lead and nothing is stored for them. Everyone the bot knows sees
their own team's roster (agents need to see who covers whom; support teams share it anyway),
never another team's. Only a lead changes links, and only within their own team: the helpdesk
agent id must be unlinked or linked in their team (and, while unlinked, its cases must be
their team's), and the Slack user must be in their team or in none yet (who then joins it).
Both the agent who gets the link and the one who loses it are told by DM, with who did it.
The CLI is the operator's and sees every team.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from sqlalchemy.orm import Session

from bot.cases import SOURCES
from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.people.directory import name_of
from bot.people.profiles import agent_for_email
from bot.planning.plan import team_defaults
from bot.slack.text import escape, escaped_short
from db import agents as roster_store
from db import cases as store
from db.models import Agent

log = logging.getLogger("followup.agents")

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


@dataclass(frozen=True)
class Linked:
    """A link made: to whom, and whom it was taken from (None when new or unchanged)."""

    target: Person
    previous: str | None


def link(
    deps: Deps,
    source: str,
    external_agent_id: str,
    who: str,
    *,
    actor: str,
    team_id: roster_store.AnyTeam = "all",
) -> Linked:
    """Map `source`'s agent id to a Slack user (replacing an earlier mapping).

    `team_id`: the team of the lead asking (Slack); neither the link's present holder nor the
    new one may belong to another team. The CLI (the operator) passes "all".
    """
    source = source.strip().lower()
    if source not in LINK_SOURCES:
        raise AgentError(f"unknown source {source[:40]!r}: one of {', '.join(LINK_SOURCES)}")
    external_agent_id = external_agent_id.strip()
    if not external_agent_id or len(external_agent_id) > 200:
        raise AgentError("the helpdesk agent id must be 1 to 200 characters")
    if team_id != "all":  # refused before anyone is looked up (and stored)
        with deps.session_factory() as session:
            _check_team_may_link(session, source, external_agent_id, team_id)
    target = person(deps, who)
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        agent = session.get(Agent, target.id)
        assert agent is not None
        holder = roster_store.link_holder(session, source, external_agent_id)
        if team_id != "all":
            _check_team_may_link(session, source, external_agent_id, team_id)  # still, now
            if agent.team_id is None:
                agent.team_id = team_id  # in no team yet: joins the linking lead's
            elif agent.team_id != team_id:
                raise AgentError("that Slack user is in another team: their lead links them")
        previous = holder.slack_user_id if holder is not None and holder.id != agent.id else None
        store.link_agent(session, source, external_agent_id, agent, now)
        store.audit(
            session,
            at=now,
            actor=actor,
            surface="agents",
            entity="agent",
            entity_id=agent.id,
            action="linked",
            detail={
                "source": source,
                "external_agent_id": external_agent_id,
                "previous": previous,
            },
        )
    return Linked(target, previous)


def _check_team_may_link(
    session: Session, source: str, external_agent_id: str, team_id: int | None
) -> None:
    """AgentError unless `team_id` may (re)link this helpdesk agent id."""
    holder = roster_store.link_holder(session, source, external_agent_id)
    if holder is not None and holder.team_id != team_id:
        raise AgentError("that helpdesk agent id is linked to someone in another team")
    if holder is None and roster_store.case_teams(session, source, external_agent_id) - {team_id}:
        raise AgentError("that helpdesk agent id has cases in another team")


def make_lead(
    deps: Deps, who: str, *, team: str | None, of: Sequence[str] = (), actor: str
) -> tuple[Person, list[Person]]:
    """Mark `who` a lead (of `team` when given) and the lead of each agent in `of`."""

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


def roster_lines(deps: Deps, team_id: roster_store.AnyTeam = "all") -> list[str]:
    """The links, leads and backups (of one team, or all) in words, one per line (Slack
    mrkdwn, escaped)."""
    with deps.session_factory() as session:
        links = roster_store.links(session, team_id=team_id)
        people = roster_store.roster(session, team_id=team_id)
    lines = ["*Helpdesk agents linked to Slack*"]
    lines += [
        f"• {escape(row.source)} `{escaped_short(row.external_agent_id, 80)}` → "
        f"<@{row.slack_user_id}>"
        for row in links
    ] or ["• none yet"]
    lines.append("*Leads and backups*")
    for row in people:
        duties = _duties(row, lambda user: f"<@{user}>", escape)
        lines.append(f"• <@{row.slack_user_id}>: {duties}")
    if not people:
        lines.append("• none yet (`followup agents lead …` on the server sets the first lead)")
    return lines


def _duties(
    row: roster_store.RosterRow, who: Callable[[str], str], text: Callable[[str], str]
) -> str:
    parts = []
    if row.is_lead:
        parts.append("lead" + (f" of {text(row.team)}" if row.team else ""))
    if row.lead:
        parts.append(f"reports to {who(row.lead)}")
    if row.backup:
        parts.append(f"backup {who(row.backup)}")
    return ", ".join(parts)


def roster_text(deps: Deps) -> list[str]:
    """The links, leads and backups of every team in plain text (the operator's CLI): each
    person by name with their Slack id, no Slack markup."""
    with deps.session_factory() as session:
        links = roster_store.links(session)
        people = roster_store.roster(session)
        ids = {row.slack_user_id for row in links}
        ids |= {
            user for row in people for user in (row.slack_user_id, row.lead, row.backup) if user
        }
        names = {
            agent.slack_user_id: agent.display_name
            for agent in roster_store.by_slack_ids(session, ids)
        }

    def who(user: str) -> str:
        name = names.get(user)
        return f"{name} ({user})" if name else user

    lines = ["Helpdesk agents linked to Slack:"]
    lines += [
        f"  {row.source} agent {row.external_agent_id} -> {who(row.slack_user_id)}" for row in links
    ] or ["  none yet (followup agents link <source> <agent id> <user> adds one)"]
    lines.append("Leads and backups:")
    lines += [f"  {who(row.slack_user_id)}: {_duties(row, who, str)}" for row in people] or [
        "  none yet (followup agents lead <user> sets the first lead)"
    ]
    return lines


UNKNOWN_CALLER = (
    "I don't know you yet, so there is nothing to show or change for you. Ask your team lead "
    "to add you: they link your helpdesk id with `/followup agents link`."
)


def known_caller(deps: Deps, slack_user_id: str) -> Agent | None:
    """The agent asking, if the bot knows them (commands never create anyone)."""
    with deps.session_factory() as session:
        return roster_store.by_slack_id(session, slack_user_id)


def _reply(lines: list[str]) -> Reply:
    text = "\n".join(lines)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text[:3000])),
        ContextBlock(elements=[MarkdownTextObject(text=USAGE)]),
    ]
    return Reply(text=text[:3000], blocks=blocks)


def agents_command(call: Invocation) -> Reply:
    """`/followup agents [link <source> <agent id> <user>]`: your team's roster; its lead adds
    links. A team is a wall: nobody lists, links or takes over another team's people."""
    caller = known_caller(call.deps, call.user_id)
    if caller is None:
        return Reply(text=UNKNOWN_CALLER)
    args = call.args
    if not args or args[0].lower() == "list":
        return _reply(roster_lines(call.deps, caller.team_id))
    if args[0].lower() != "link" or len(args) != 4:
        return Reply(text=USAGE)
    if not caller.is_lead:
        return Reply(text="Only a team lead can link helpdesk agents. Ask your lead.")
    _, source, external_id, who = args
    try:
        linked = link(
            call.deps, source, external_id, who, actor=call.user_id, team_id=caller.team_id
        )
    except AgentError as error:
        return Reply(text=f"Not linked: {escape(str(error))}. {USAGE}")
    what = f"{escape(source.lower())} agent `{escaped_short(external_id, 80)}`"
    target, by = linked.target.slack_user_id, f"<@{call.user_id}>"
    if target != call.user_id:
        _tell(call.deps, target, f"{by} linked {what} to you: its closed cases now reach you.")
    if linked.previous not in (None, call.user_id):
        assert linked.previous is not None
        _tell(
            call.deps,
            linked.previous,
            f"{by} linked {what} to <@{target}>: its closed cases no longer reach you. "
            f"Ask {by} if that is a mistake.",
        )
    done = f"Linked {what} to <@{target}>: their closed cases now reach them."
    return _reply([done, "", *roster_lines(call.deps, caller.team_id)])


def _tell(deps: Deps, slack_user_id: str, text: str) -> None:
    """A DM about a change to someone's links; a failure is logged, the link stands."""
    try:
        deps.client.chat_postMessage(channel=slack_user_id, text=text)
    except SlackApiError as error:
        log.warning(
            "could not tell %s of a link change: %s", slack_user_id, error.response.get("error")
        )
