"""The workspace directory: people come from users.list (and user_change / team_join), so a
DM never waits on a lookup; a DM goes to the user id; an agent deactivated in Slack hands
their follow-ups on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.dispatch.dispatcher import dispatch_pass
from bot.people.directory import PAGE, member_of, save, sync_directory
from bot.planning.plan import team_defaults, team_lead
from db import cases as store
from db import directory as directory_store
from db.models import Agent, FollowUp
from tests.idle import wait_idle
from tests.nudging import FRIDAY_10_UTC, MONDAY_10_UTC

LOOKUPS = ("users.lookupByEmail", "users.info", "conversations.open", "conversations.history")


def _case(bot: Any, case_id: str = "ZD-1", owner: str = "ada@example.com") -> None:
    payload = {
        "case_id": case_id,
        "subject": "Refund missing on the March invoice",
        "resolution": "Re-issued the credit note",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": owner,
    }
    assert bot.post_generic(payload)[0] == 202


def _methods_since(bot: Any, mark: int) -> list[str]:
    return [call.method for call in bot.sandbox.calls[mark:]]


def _agent(bot: Any, slack_id: str) -> Agent:
    with bot.deps.session_factory() as session:
        agent = session.query(Agent).filter_by(slack_user_id=slack_id).one()
        session.expunge(agent)
        return agent


def test_users_list_is_read_in_pages_of_200(bot: Any) -> None:
    for n in range(450):
        bot.sandbox.add_user(f"U1{n:05d}", name=f"p{n}", email=f"p{n}@example.com")
    mark = len(bot.sandbox.calls)
    assert sync_directory(bot.deps) == 453
    pages = bot.sandbox.calls_to("users.list")
    assert len(pages) == 3 and {call.args.get("limit") for call in pages} == {str(PAGE)}
    assert _methods_since(bot, mark) == ["users.list"] * 3


def test_a_new_agent_is_dmed_from_the_directory_without_any_lookup(bot: Any) -> None:
    _case(bot)  # Ada is not an agent yet: the owner is named by email only
    bot.clock.set(MONDAY_10_UTC)
    sync_directory(bot.deps)
    mark = len(bot.sandbox.calls)
    assert dispatch_pass(bot.deps).delivered == 1
    methods = _methods_since(bot, mark)
    assert not set(methods) & set(LOOKUPS), methods
    [post] = [c for c in bot.sandbox.calls[mark:] if c.method == "chat.postMessage"]
    assert post.args["channel"] == "U0AGENT"  # to the user id: Slack opens the DM itself
    ada = _agent(bot, "U0AGENT")
    assert ada.dm_channel == bot.sandbox.im_channel("U0AGENT")
    assert (ada.timezone, ada.display_name) == ("Europe/London", "Ada Lovelace")


def test_user_change_updates_the_agent_at_once(bot: Any) -> None:
    _case(bot)
    bot.clock.set(MONDAY_10_UTC)
    sync_directory(bot.deps)
    dispatch_pass(bot.deps)
    moved = bot.sandbox.add_user(
        "U0AGENT", name="ada", real_name="Ada King", email="ada@example.com", tz="Asia/Tokyo"
    )
    assert bot.driver.event({"type": "user_change", "user": moved}).status == 200
    wait_idle(bot)
    ada = _agent(bot, "U0AGENT")
    assert (ada.timezone, ada.display_name) == ("Asia/Tokyo", "Ada King")


def test_someone_who_joined_since_the_read_is_known_from_team_join(bot: Any) -> None:
    bot.clock.set(MONDAY_10_UTC - timedelta(days=3))
    sync_directory(bot.deps)
    joined = bot.sandbox.add_user(
        "U0NEW", name="nell", real_name="Nell Jones", email="nell@example.com", tz="Europe/Paris"
    )
    assert bot.driver.event({"type": "team_join", "user": joined}).status == 200
    wait_idle(bot)
    _case(bot, owner="nell@example.com")
    bot.clock.set(MONDAY_10_UTC)
    sync_directory(bot.deps)
    mark = len(bot.sandbox.calls)
    assert dispatch_pass(bot.deps).delivered == 1
    assert not set(_methods_since(bot, mark)) & set(LOOKUPS)
    assert len(bot.sandbox.dm_messages("U0NEW")) == 1


def _deactivate(bot: Any, slack_id: str) -> None:
    user = bot.sandbox.user(slack_id)
    gone = bot.sandbox.add_user(
        slack_id,
        name=user["name"],
        real_name=user["real_name"],
        email=user["profile"].get("email"),
        deleted=True,
    )
    assert bot.driver.event({"type": "user_change", "user": gone}).status == 200
    wait_idle(bot)


def test_a_deactivated_agents_follow_ups_go_to_their_backup_with_a_note(bot: Any) -> None:
    _case(bot)
    with bot.deps.session_factory.begin() as session:
        now = bot.clock.now()
        ada = store.agent_by_slack_id(session, "U0AGENT", now, None)
        ada.email = "ada@example.com"
        ada.backup_id = store.agent_by_slack_id(session, "U0LEAD", now, None).id
    _deactivate(bot, "U0AGENT")
    assert _agent(bot, "U0AGENT").deactivated
    bot.clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # Grace's New York morning
    sync_directory(bot.deps)
    assert dispatch_pass(bot.deps).delivered == 1
    assert bot.sandbox.dm_messages("U0AGENT") == []
    [dm] = bot.sandbox.dm_messages("U0LEAD")
    assert "Ada Lovelace (no longer in Slack)" in str(dm["blocks"])


def test_a_deactivated_agent_with_nobody_to_cover_goes_to_triage(bot: Any) -> None:
    _case(bot)
    _deactivate(bot, "U0AGENT")
    bot.clock.set(MONDAY_10_UTC)
    sync_directory(bot.deps)
    report = dispatch_pass(bot.deps)
    assert (report.delivered, report.triaged) == (0, 1)
    assert bot.sandbox.dm_messages("U0AGENT") == []
    [post] = bot.sandbox.messages("C0TRIAGE")
    assert "Refund missing" in post["text"]
    with bot.deps.session_factory() as session:
        assert {f.state for f in session.query(FollowUp)} == {"triage"}


def test_a_touch_deferred_to_working_hours_is_not_reconciled_against_the_dm_history(
    bot: Any,
) -> None:
    """Only a claim that ran out (a crash) or a post that may have reached Slack reads the
    history; a touch given back before anything was sent is a first try again."""
    _case(bot)
    bot.clock.set(MONDAY_10_UTC + timedelta(hours=11))  # 21:00 in London: due, not at work
    sync_directory(bot.deps)
    assert dispatch_pass(bot.deps).deferred == 1
    bot.clock.set(MONDAY_10_UTC + timedelta(days=1))
    mark = len(bot.sandbox.calls)
    assert dispatch_pass(bot.deps).delivered == 1
    assert "conversations.history" not in _methods_since(bot, mark)


def test_a_member_of_another_organisation_never_enters_the_directory(bot: Any) -> None:
    outsider = bot.sandbox.add_user(
        "U0OUT", name="eve", real_name="Eve", email="eve@rival.example", tz="Europe/Paris"
    )
    outsider["team_id"] = "T0RIVAL"  # a Slack Connect channel shares their changes
    assert bot.driver.event({"type": "user_change", "user": outsider}).status == 200
    wait_idle(bot)
    with bot.deps.session_factory() as session:
        assert directory_store.member_by_email(session, "eve@rival.example") is None


def test_a_directory_read_does_not_undo_a_deactivation_that_arrived_during_it(bot: Any) -> None:
    read_began = bot.clock.now()
    stale = member_of(bot.sandbox.user("U0AGENT"))  # as the page read before the change says
    assert stale is not None and not stale.deleted
    bot.clock.advance(timedelta(seconds=30))
    with bot.deps.session_factory.begin() as session:
        store.agent_by_slack_id(session, "U0AGENT", bot.clock.now(), None)
    _deactivate(bot, "U0AGENT")  # user_change, stored while the read is still paging
    bot.clock.advance(timedelta(seconds=30))
    save(bot.deps, [stale], read_since=read_began)
    assert _agent(bot, "U0AGENT").deactivated


def test_a_lead_deactivated_in_slack_is_nobody_s_lead(bot: Any) -> None:
    now = bot.clock.now()
    with bot.deps.session_factory.begin() as session:
        team = store.team_for(session, None, team_defaults(bot.deps), now)
        lead = store.agent_by_slack_id(session, "U0LEAD", now, team.id)
        ada = store.agent_by_slack_id(session, "U0AGENT", now, team.id)
        lead.is_lead, lead.deactivated, ada.lead_id = True, True, lead.id
        session.flush()
        assert team_lead(session, team, ada) is None
