"""Teams are walls: `/followup` commands read and change only the caller's own team, and only
for people the bot knows; someone it does not know creates nothing and sees nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.agents import link, make_lead
from bot.sandbox.waiting import wait_for
from db import cases as store
from db.models import Agent, AgentLink
from tests.idle import wait_idle


def reply(bot: Any, user: str, text: str) -> str:
    before = len(bot.sandbox.responses)
    assert bot.driver.command(user, text).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    return str(got[-1].body["text"]) if got else ""


def put_in_team(bot: Any, slack_user_id: str, slug: str) -> None:
    with bot.deps.session_factory.begin() as session:
        team = store.team_for(session, slug, {}, bot.clock.now())
        agent = session.scalar(select(Agent).where(Agent.slack_user_id == slack_user_id))
        assert agent is not None
        agent.team_id = team.id


def two_teams(bot: Any) -> None:
    """Ada (U0AGENT) in team default, linked as zendesk 8447; Grace (U0LEAD) leads it. Linus
    (U0OTHER) leads team other; Dan (U0DAN) is in team other."""
    bot.sandbox.add_user("U0DAN", name="dan", real_name="Dan", email="dan@example.com")
    link(bot.deps, "zendesk", "8447", "U0AGENT", actor="test")
    make_lead(bot.deps, "U0LEAD", team="default", actor="test")
    make_lead(bot.deps, "U0OTHER", team="other", actor="test")
    link(bot.deps, "zendesk", "9001", "U0DAN", actor="test")
    put_in_team(bot, "U0AGENT", "default")
    put_in_team(bot, "U0DAN", "other")


def holder(bot: Any, external_id: str) -> str:
    with bot.deps.session_factory() as session:
        return str(
            session.scalar(
                select(Agent.slack_user_id)
                .join(AgentLink, AgentLink.agent_id == Agent.id)
                .where(AgentLink.external_agent_id == external_id)
            )
        )


def test_a_lead_of_another_team_cannot_take_over_a_link(bot: Any) -> None:
    two_teams(bot)
    answer = reply(bot, "U0OTHER", "agents link zendesk 8447 dan@example.com")
    assert "Not linked" in answer
    assert "another team" in answer
    assert holder(bot, "8447") == "U0AGENT"


def test_a_lead_cannot_link_someone_of_another_team(bot: Any) -> None:
    two_teams(bot)
    answer = reply(bot, "U0LEAD", "agents link zendesk 5555 dan@example.com")
    assert "Not linked" in answer and "in another team" in answer
    assert holder(bot, "5555") == "None"


def test_a_link_change_tells_both_agents(bot: Any) -> None:
    two_teams(bot)
    bot.sandbox.add_user("U0EVE", name="eve", real_name="Eve", email="eve@example.com")
    answer = reply(bot, "U0LEAD", "agents link zendesk 8447 eve@example.com")
    assert "Linked zendesk agent `8447` to <@U0EVE>" in answer
    to_ada = wait_for(lambda: bot.sandbox.dm_messages("U0AGENT"))
    assert "no longer reach you" in to_ada[-1]["text"] and "<@U0LEAD>" in to_ada[-1]["text"]
    to_eve = wait_for(lambda: bot.sandbox.dm_messages("U0EVE"))
    assert "now reach you" in to_eve[-1]["text"]


def test_the_roster_shows_only_the_callers_team(bot: Any) -> None:
    two_teams(bot)
    theirs = reply(bot, "U0OTHER", "agents")
    assert "9001" in theirs and "8447" not in theirs
    ours = reply(bot, "U0AGENT", "agents")
    assert "8447" in ours and "9001" not in ours


def test_someone_the_bot_does_not_know_sees_nothing_and_creates_nothing(bot: Any) -> None:
    two_teams(bot)
    bot.sandbox.add_user("U0STRANGER", name="stranger", email="stranger@example.com")
    with bot.deps.session_factory() as session:
        before = session.scalar(select(func.count()).select_from(Agent))
    for words in ("digest", "digest last", "agents", "away until friday", "away"):
        answer = reply(bot, "U0STRANGER", words)
        assert "I don't know you yet" in answer, words
    wait_idle(bot)
    with bot.deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Agent)) == before
