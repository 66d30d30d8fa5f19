"""App Home: my queue with the same actions, my own last 30 days, and a lead's team view."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox.waiting import wait_for
from db.cases import agent_by_slack_id
from db.models import Agent, FollowUp

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def two_cases(bot: Any) -> None:
    """Two cases closed Friday by Ada; the first DMed Monday, the second not due yet."""
    for case_id, kind, closed in (
        ("H-1", "request", FRIDAY_10_UTC),
        ("H-2", "request", MONDAY_10_UTC),
    ):
        bot.post_generic(
            {
                "case_id": case_id,
                "subject": f"Case {case_id} <!here>",
                "kind": kind,
                "resolution": "Fixed it",
                "closed_at": closed.isoformat(),
                "owner_email": "ada@example.com",
            }
        )
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    with bot.deps.session_factory.begin() as session:
        lead = agent_by_slack_id(session, "U0LEAD", MONDAY_10_UTC)
        ada = session.scalar(select(Agent).where(Agent.slack_user_id == "U0AGENT"))
        assert ada is not None
        lead.is_lead, lead.team_id, ada.lead_id = True, ada.team_id, lead.id


def home(bot: Any, user: str) -> str:
    before = len(bot.sandbox.calls_to("views.publish"))
    assert bot.driver.app_home_opened(user).status == 200
    assert wait_for(lambda: len(bot.sandbox.calls_to("views.publish")) > before)
    view = bot.sandbox.home_view(user)
    assert view is not None
    return json.dumps(view["blocks"])


def test_an_agent_sees_what_is_due_with_buttons_and_what_is_coming(
    bot: Any, two_cases: None
) -> None:
    shown = home(bot, "U0AGENT")
    assert "Case H-1 &lt;!here&gt;" in shown and "<!here>" not in shown
    assert ids.ACTION_FOLLOWED_UP in shown
    assert "Coming up" in shown and "Case H-2" in shown
    assert "Your last 30 days" in shown
    assert "Your team" not in shown, "team figures are for leads"


def test_closing_a_loop_from_app_home_refreshes_it(bot: Any, two_cases: None) -> None:
    home(bot, "U0AGENT")
    with bot.deps.session_factory() as session:
        sent = session.scalar(select(FollowUp).where(FollowUp.state == "sent"))
        assert sent is not None
        sent_id = sent.id
    view = bot.sandbox.home_view("U0AGENT")
    assert (
        bot.driver.block_action(
            "U0AGENT", ids.ACTION_FOLLOWED_UP, str(sent_id), container="view", view=view
        ).status
        == 200
    )
    modal = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v["callback_id"] == ids.VIEW_OUTCOME
        ]
    )
    bot.driver.submit_view("U0AGENT", modal[-1]["id"], {"result": "resolved"})
    refreshed = wait_for(
        lambda: (
            '"Outcomes recorded*\\\\n1"' in json.dumps(bot.sandbox.home_view("U0AGENT")["blocks"])
            or "*Outcomes recorded*\\n1" in json.dumps(bot.sandbox.home_view("U0AGENT"))
        )
    )
    assert refreshed


def test_a_lead_sees_the_teams_overdue_follow_ups_and_escalations(
    bot: Any, two_cases: None
) -> None:
    with bot.deps.session_factory() as session:
        sent = session.scalar(select(FollowUp).where(FollowUp.state == "sent"))
        assert sent is not None and sent.lead_at is not None
        lead_at = sent.lead_at
    assert "Case H-1" not in home(bot, "U0LEAD").split("Your team")[-1]
    bot.clock.set(lead_at + timedelta(minutes=1))
    shown = home(bot, "U0LEAD")
    team = shown.split("Your team")[-1]
    assert "Overdue" in team and "Case H-1 &lt;!here&gt;" in team and "<@U0AGENT>" in team
