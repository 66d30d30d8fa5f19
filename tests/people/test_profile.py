"""The settings that fill a draft's placeholders (#21): an agent's direct phone and signature
(`/followup profile` in Slack, `followup agents set` for an operator) and a team's public
review link (`followup teams set --review-link`). Validated, stored, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.people.settings import phone_error, review_link_error, signature_error
from bot.sandbox.waiting import wait_for
from db.cases import agent_by_slack_id
from db.models import Agent, AuditEntry, Team
from tests.idle import wait_idle
from tests.people.test_roster import cli, reply

PHONE = "+44 20 7946 0958"


def known(bot: Any, *slack_ids: str) -> None:
    with bot.deps.session_factory.begin() as session:
        for slack_id in slack_ids:
            agent_by_slack_id(session, slack_id, bot.clock.now())


def agent(bot: Any, slack_id: str) -> Agent:
    with bot.deps.session_factory() as session:
        found = session.scalar(select(Agent).where(Agent.slack_user_id == slack_id))
        assert found is not None
        return found


def profile_modals(bot: Any, user: str) -> list[dict[str, Any]]:
    views = bot.sandbox.views(user, open_only=True)
    return [v for v in views if v.get("callback_id") == ids.VIEW_PROFILE]


def open_profile(bot: Any, user: str) -> dict[str, Any]:
    assert bot.driver.command(user, "profile").status == 200
    [modal] = wait_for(lambda: profile_modals(bot, user))
    return dict(modal)


def audits(bot: Any, action: str) -> list[AuditEntry]:
    with bot.deps.session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize(
    "phone", [PHONE, "(212) 555-0199 ext. 12", "0049 30 901820", "555.0199.22"]
)
def test_phone_numbers_in_their_usual_shapes_pass(phone: str) -> None:
    assert phone_error(phone) is None


@pytest.mark.parametrize(
    "phone", ["call me", "12345", "+1 555 0199 0199 0199 99", "ext. 12", "+44 (0) 20 7946 0958 !"]
)
def test_anything_else_is_not_a_phone_number(phone: str) -> None:
    assert phone_error(phone) is not None


def test_a_signature_is_a_few_short_lines() -> None:
    assert signature_error("Ada Lovelace\nSupport, Northwind") is None
    assert signature_error("x" * 501) is not None
    assert signature_error("\n".join(["line"] * 7)) is not None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.trustpilot.com/review/northwind.example", True),
        ("https://g.page/r/CXyz/review", True),
        ("http://www.trustpilot.com/review/northwind.example", False),
        ("javascript:alert(1)", False),
        ("https:///no-host", False),
        ("https://example.com/a b", False),
    ],
)
def test_a_review_link_is_an_https_address(url: str, ok: bool) -> None:
    assert (review_link_error(url) is None) is ok


def test_an_agent_sets_their_own_phone_and_signature_in_slack(bot: Any) -> None:
    known(bot, "U0AGENT", "U0OTHER")
    modal = open_profile(bot, "U0AGENT")
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert blocks[ids.PROFILE_PHONE]["element"]["max_length"] == 40
    assert "Leave it empty" in blocks[ids.PROFILE_PHONE]["hint"]["text"]
    signature = "Ada Lovelace\nCustomer Support, Northwind"
    response = bot.driver.submit_view(
        "U0AGENT", modal["id"], {"phone": PHONE, "signature": signature}
    )
    assert response.status == 200
    ada = agent(bot, "U0AGENT")
    assert (ada.phone, ada.signature) == (PHONE, signature)
    assert agent(bot, "U0OTHER").phone is None
    [entry] = audits(bot, "profile_set")
    assert (entry.actor, entry.entity_id, entry.detail) == (
        "U0AGENT",
        ada.id,
        {"fields": ["phone", "signature"]},
    )
    again = open_profile(bot, "U0AGENT")
    [phone_block] = [b for b in again["blocks"] if b.get("block_id") == ids.PROFILE_PHONE]
    assert phone_block["element"]["initial_value"] == PHONE, "the modal shows what is set"


def test_a_bad_phone_is_refused_on_its_field_and_nothing_is_stored(bot: Any) -> None:
    known(bot, "U0AGENT")
    modal = open_profile(bot, "U0AGENT")
    answer = bot.driver.submit_view(
        "U0AGENT", modal["id"], {"phone": "call me maybe", "signature": "Ada"}
    ).json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [ids.PROFILE_PHONE]
    ada = agent(bot, "U0AGENT")
    assert (ada.phone, ada.signature) == (None, None)
    assert audits(bot, "profile_set") == []


def test_the_profile_changed_is_always_the_submitters_own(bot: Any) -> None:
    known(bot, "U0AGENT", "U0OTHER")
    modal = open_profile(bot, "U0AGENT")
    # Someone else posting Ada's modal (no id in it names her) changes only their own profile.
    bot.driver.view_submission("U0OTHER", modal, {"phone": PHONE})
    wait_idle(bot)
    assert agent(bot, "U0AGENT").phone is None
    assert agent(bot, "U0OTHER").phone == PHONE


def test_someone_the_bot_does_not_know_gets_no_profile(bot: Any) -> None:
    answer = reply(bot, "U0OTHER", "profile")
    assert "I don't know you yet" in answer
    assert profile_modals(bot, "U0OTHER") == []


def test_an_operator_sets_an_agents_phone_and_signature(bot: Any, tmp_path: Path) -> None:
    done = cli(
        bot, tmp_path, "agents", "set", "U0AGENT", "--phone", PHONE, "--signature", "Ada\\nSupport"
    )
    assert done.returncode == 0, done.stderr
    assert "phone, signature set" in done.stdout
    ada = agent(bot, "U0AGENT")
    assert (ada.phone, ada.signature) == (PHONE, "Ada\nSupport")
    [entry] = audits(bot, "profile_set")
    assert (entry.actor, entry.surface) == ("cli", "cli")
    bad = cli(bot, tmp_path, "agents", "set", "U0AGENT", "--phone", "not a number")
    assert bad.returncode == 2 and "--phone" in bad.stderr
    cleared = cli(bot, tmp_path, "agents", "set", "U0AGENT", "--phone", "")
    assert cleared.returncode == 0, cleared.stderr
    assert agent(bot, "U0AGENT").phone is None


def test_an_operator_sets_a_teams_review_link(bot: Any, tmp_path: Path) -> None:
    link = "https://www.trustpilot.com/review/northwind.example"
    done = cli(bot, tmp_path, "teams", "set", "support", "--review-link", link)
    assert done.returncode == 0, done.stderr
    with bot.deps.session_factory() as session:
        team = session.scalar(select(Team).where(Team.slug == "support"))
        assert team is not None and team.review_link == link
        team_id = team.id
    [entry] = audits(bot, "review_link_set")
    assert (entry.entity, entry.entity_id, entry.detail) == ("team", team_id, {"review_link": link})
    refused = cli(bot, tmp_path, "teams", "set", "support", "--review-link", "http://x.example")
    assert refused.returncode == 2 and "https" in refused.stderr
    with bot.deps.session_factory() as session:
        team = session.scalar(select(Team).where(Team.slug == "support"))
        assert team is not None and team.review_link == link, "a refused link changes nothing"
