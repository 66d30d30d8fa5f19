"""Teams are walls: `/followup` commands read and change only the caller's own team, and only
for people the bot knows; someone it does not know creates nothing and sees nothing."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from bot.people.roster import link, make_lead
from bot.sandbox.waiting import wait_for
from db import cases as store
from db.models import Agent, AgentLink, Case
from tests.digest.test_digest import Loop, seed, t
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


def _stranger_command(bot: Any, user_id: str, text: str, **fields: str) -> str:
    """`/followup <text>` from someone Slack itself may not know (no sandbox user needed)."""
    before = len(bot.sandbox.responses)
    channel = "C0DIGEST"
    form = {
        "token": "sandbox-verification-token",
        "team_id": bot.sandbox.team_id,
        "team_domain": "sandbox",
        "channel_id": channel,
        "channel_name": "digest",
        "user_id": user_id,
        "user_name": "ghost",
        "command": "/followup",
        "text": text,
        "api_app_id": bot.sandbox.app_id,
        "is_enterprise_install": "false",
        "response_url": bot.sandbox.new_response_url(user_id, channel),
        "trigger_id": "1.2.3",
        **fields,
    }
    assert bot.driver.post_form(form).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    return json.dumps(got[-1].body, ensure_ascii=False) if got else ""


QUOTE = "the default team's customer says the refund never came"


def default_team_week(bot: Any) -> None:
    """One loop of team default this week whose customer said something (Ada's)."""
    seed(
        bot.deps,
        [
            Loop(
                "D1",
                t(16, 9),
                t(17, 9),
                state="escalated",
                result="not_resolved",
                recorded=t(17, 10),
                cause="refunds",
                said=QUOTE,
                team="default",
            )
        ],
    )
    bot.clock.set(t(19, 12))


def test_a_digest_preview_from_a_user_slack_does_not_know_shows_nothing(bot: Any) -> None:
    default_team_week(bot)
    answer = _stranger_command(bot, "U0GHOST", "digest")
    assert "I don't know you yet" in answer
    assert "refund" not in answer and "loops closed" not in answer


def test_a_digest_preview_from_another_workspace_shows_nothing(bot: Any) -> None:
    default_team_week(bot)
    answer = _stranger_command(bot, "U0FOREIGN", "digest last", team_id="T0ELSEWHERE")
    assert "I don't know you yet" in answer
    assert "refund" not in answer and "loops closed" not in answer
    with bot.deps.session_factory() as session:
        assert session.scalar(select(Agent).where(Agent.slack_user_id == "U0FOREIGN")) is None


def test_a_lead_previews_only_their_own_teams_digest(bot: Any) -> None:
    default_team_week(bot)
    make_lead(bot.deps, "U0OTHER", team="other", actor="test")
    theirs = reply(bot, "U0OTHER", "digest")
    assert "refund" not in theirs and "Default" not in theirs
    assert "refund never came" in reply(bot, "U0AGENT", "digest")  # the team's own, in full


def test_team_stats_are_for_the_teams_own_people_only(bot: Any) -> None:
    default_team_week(bot)
    assert "I don't know you yet" in reply(bot, "U0LEAD", "stats team month")
    assert "Default: last 30 days" in reply(bot, "U0AGENT", "stats team month")


def test_a_lead_cannot_claim_an_unlinked_id_whose_cases_are_another_teams(bot: Any) -> None:
    two_teams(bot)
    with bot.deps.session_factory.begin() as session:
        team = store.team_for(session, "default", {}, bot.clock.now())
        session.add(
            Case(
                source="zendesk",
                external_id="77",
                team_id=team.id,
                owner_external_id="4242",
                subject="Password reset loop",
                channel="email",
                severity="normal",
                kind="request",
                tags=[],
                closed_at=bot.clock.now(),
                created_at=bot.clock.now(),
                updated_at=bot.clock.now(),
            )
        )
    answer = reply(bot, "U0OTHER", "agents link zendesk 4242 dan@example.com")
    assert "Not linked" in answer and "cases in another team" in answer
    assert holder(bot, "4242") == "None"
    assert "Linked zendesk agent `4242`" in reply(bot, "U0LEAD", "agents link zendesk 4242 U0AGENT")


def test_a_refused_takeover_stores_nobody_and_tells_nobody(bot: Any) -> None:
    two_teams(bot)
    bot.sandbox.add_user("U0NEWBIE", name="newbie", email="newbie@example.com")
    answer = reply(bot, "U0OTHER", "agents link zendesk 8447 newbie@example.com")
    assert "another team" in answer
    wait_idle(bot)
    with bot.deps.session_factory() as session:
        assert session.scalar(select(Agent).where(Agent.slack_user_id == "U0NEWBIE")) is None
    assert bot.sandbox.dm_messages("U0AGENT") == []


def test_someone_new_to_the_bot_joins_the_team_of_the_lead_who_links_them(bot: Any) -> None:
    two_teams(bot)
    bot.sandbox.add_user("U0NEWBIE", name="newbie", email="newbie@example.com")
    answer = reply(bot, "U0OTHER", "agents link zendesk 3131 newbie@example.com")
    assert "• zendesk `3131` → <@U0NEWBIE>" in answer  # listed: now in team other
    assert "8447" not in reply(bot, "U0NEWBIE", "agents")
    assert "3131" not in reply(bot, "U0LEAD", "agents")
