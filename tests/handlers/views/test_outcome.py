"""Closing the loop from the DM: buttons, modals, escalation, who may act, first click wins."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox.waiting import wait_for
from db.models import Agent, FollowUp, Outcome
from tests.idle import wait_idle
from tests.nudging import MONDAY_10_UTC, nudge


@pytest.fixture
def nudged(bot: Any) -> dict[str, Any]:
    """One case closed Friday, DMed to Ada on Monday at 10:00 UTC: the DM as Slack holds it."""
    return nudge(
        bot,
        subject="<!channel> refund missing on the March invoice",
        customer_name="Priya Shah",
        kind="complaint",
        b2b=True,
    )


def click(bot: Any, nudged: dict[str, Any], action_id: str, user: str = "U0AGENT") -> Any:
    return bot.driver.block_action_from_message(
        user, nudged["channel"], nudged["ts"], action_id, str(nudged["id"])
    )


def opened_modal(bot: Any, user: str, callback_id: str) -> dict[str, Any]:
    found = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views(user, open_only=True)
            if v.get("callback_id") == callback_id
        ]
    )
    assert found, f"no {callback_id} modal was opened for {user}"
    return dict(found[-1])


def followup(bot: Any, followup_id: int) -> FollowUp:
    with bot.deps.session_factory() as session:
        row = session.get(FollowUp, followup_id)
        assert row is not None
        session.expunge(row)
        return row


def outcome(bot: Any, followup_id: int) -> Outcome | None:
    with bot.deps.session_factory() as session:
        return session.scalar(select(Outcome).where(Outcome.follow_up_id == followup_id))


def make_lead(bot: Any, slack_id: str = "U0LEAD") -> None:
    now = bot.clock.now()
    with bot.deps.session_factory.begin() as session:
        from db.cases import agent_by_slack_id

        lead = agent_by_slack_id(session, slack_id, now)
        lead.is_lead = True
        ada = session.scalar(select(Agent).where(Agent.slack_user_id == "U0AGENT"))
        assert ada is not None
        ada.lead_id = lead.id


def handle(bot: Any, post: dict[str, Any], nudged: dict[str, Any], did: str = "") -> Any:
    """The lead clicks "Handled" on the escalation post and submits its modal."""
    bot.driver.block_action_from_message(
        "U0LEAD", "C0ESCALATE", post["ts"], ids.ACTION_ESCALATION_HANDLED, str(nudged["id"])
    )
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    return bot.driver.submit_view("U0LEAD", modal["id"], {"did": did} if did else {})


def dm_text(bot: Any, nudged: dict[str, Any]) -> str:
    return json.dumps(bot.sandbox.message(nudged["channel"], nudged["ts"])["blocks"])


def test_followed_up_resolved_closes_the_loop_and_updates_the_dm(bot: Any, nudged: Any) -> None:
    assert click(bot, nudged, ids.ACTION_FOLLOWED_UP).status == 200
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    response = bot.driver.submit_view(
        "U0AGENT",
        modal["id"],
        {
            "result": "resolved",
            "said": "All good now, thanks <@U0LEAD>!",
            "cause": "billing error",
            "asks": ["referral_asked"],
        },
    )
    assert response.status == 200
    row = followup(bot, nudged["id"])
    assert row.state == "done"
    recorded = outcome(bot, nudged["id"])
    assert recorded is not None
    assert (recorded.result, recorded.root_cause, recorded.referral_asked) == (
        "resolved",
        "billing error",
        True,
    )
    text = wait_for(lambda: "Loop closed" in dm_text(bot, nudged) and dm_text(bot, nudged))
    assert "Loop closed" in text
    assert ids.ACTION_FOLLOWED_UP not in text, "a finished follow-up keeps no buttons"
    assert "&lt;@U0LEAD&gt;" in text and "<@U0LEAD>" not in text


def test_still_not_right_escalates_at_once_with_the_customers_words(bot: Any, nudged: Any) -> None:
    make_lead(bot)
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    started = time.monotonic()
    bot.driver.submit_view(
        "U0AGENT",
        modal["id"],
        {
            "result": "not_resolved",
            "said": "The credit note shows but the balance is still wrong",
        },
    )
    posts = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"), timeout=1.0)
    assert posts, "the escalation reached the channel within a second"
    assert time.monotonic() - started < 1.0
    post = json.dumps(posts[-1]["blocks"])
    assert "<@U0LEAD>" in post
    assert "balance is still wrong" in post
    assert "&lt;!channel&gt; refund missing" in post
    assert "slack.com/archives" in post, "a permalink to the DM"
    assert followup(bot, nudged["id"]).state == "escalated"


def test_the_leads_handled_button_plans_a_fresh_check_in(bot: Any, nudged: Any) -> None:
    make_lead(bot)
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    bot.driver.submit_view("U0AGENT", modal["id"], {"result": "not_resolved"})
    [post] = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"))
    refused = bot.driver.block_action_from_message(
        "U0OTHER", "C0ESCALATE", post["ts"], ids.ACTION_ESCALATION_HANDLED, str(nudged["id"])
    )
    assert refused.status == 200
    assert followup(bot, nudged["id"]).state == "escalated"
    assert not bot.sandbox.views("U0OTHER", open_only=True), "no modal for a stranger"
    handle(bot, post, nudged, "Refunded the second charge and corrected the December invoice")
    assert wait_for(lambda: followup(bot, nudged["id"]).state == "escalation_handled")
    with bot.deps.session_factory() as session:
        fresh = session.scalars(select(FollowUp).where(FollowUp.state == "planned")).all()
        assert any(f.why.startswith("a fresh check-in") and f.due_at > MONDAY_10_UTC for f in fresh)
    handled = wait_for(
        lambda: "Handled by" in json.dumps(bot.sandbox.message("C0ESCALATE", post["ts"])["blocks"])
    )
    assert handled
    assert wait_for(lambda: "handled by a lead" in dm_text(bot, nudged)), "the agent's DM too"


def test_a_fresh_check_in_tells_the_lead_in_the_leads_own_working_hours(
    bot: Any, nudged: Any
) -> None:
    make_lead(bot)
    with bot.deps.session_factory.begin() as session:
        lead = session.scalar(select(Agent).where(Agent.slack_user_id == "U0LEAD"))
        assert lead is not None
        lead.timezone = "Asia/Tokyo"  # nine hours ahead of London: no working hour in common
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    bot.driver.submit_view("U0AGENT", modal["id"], {"result": "not_resolved"})
    [post] = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"))
    handle(bot, post, nudged)
    assert wait_for(lambda: followup(bot, nudged["id"]).state == "escalation_handled")
    with bot.deps.session_factory() as session:
        planned = session.scalars(select(FollowUp).where(FollowUp.state == "planned")).all()
    [fresh] = [f for f in planned if f.why.startswith("a fresh check-in")]
    assert fresh.lead_at is not None and fresh.remind_at is not None
    assert fresh.lead_at > fresh.remind_at
    local = fresh.lead_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.weekday() < 5 and 9 <= local.hour < 18, local


def test_no_reply_plans_one_gentle_touch_then_closes_as_no_response(bot: Any, nudged: Any) -> None:
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    bot.driver.submit_view(
        "U0AGENT", opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)["id"], {"result": "no_reply"}
    )
    assert followup(bot, nudged["id"]).state == "no_reply"
    with bot.deps.session_factory() as session:
        [gentle] = session.scalars(
            select(FollowUp).where(FollowUp.template == "no_reply_nudge")
        ).all()
        gentle_id, gentle_due = gentle.id, gentle.due_at
    assert gentle_due > MONDAY_10_UTC
    bot.clock.set(gentle_due)
    assert dispatch_pass(bot.deps).delivered == 1
    second = bot.sandbox.dm_messages("U0AGENT")[-1]
    again = {"channel": nudged["channel"], "ts": second["ts"], "id": gentle_id}
    click(bot, again, ids.ACTION_FOLLOWED_UP)
    bot.driver.submit_view(
        "U0AGENT", opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)["id"], {"result": "no_reply"}
    )
    assert followup(bot, gentle_id).state == "no_response"
    with bot.deps.session_factory() as session:
        assert (
            session.scalars(select(FollowUp).where(FollowUp.template == "no_reply_nudge"))
            .all()
            .__len__()
            == 1
        )


def test_a_referral_is_refused_inline_unless_the_customer_confirmed(bot: Any, nudged: Any) -> None:
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    response = bot.driver.submit_view(
        "U0AGENT", modal["id"], {"result": "not_resolved", "asks": ["referral_asked"]}
    )
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "referral" in answer["errors"]["outcome_asks"].lower()
    wait_idle(bot)
    assert followup(bot, nudged["id"]).state == "sent"
    assert outcome(bot, nudged["id"]) is None
    assert bot.sandbox.messages("C0ESCALATE") == []


def test_skip_needs_a_reason(bot: Any, nudged: Any) -> None:
    click(bot, nudged, ids.ACTION_SKIP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_SKIP)
    answer = bot.driver.submit_view("U0AGENT", modal["id"], {"reason": "  "}).json()
    assert "reason" in answer["errors"]["skip_reason"].lower() or answer["errors"]["skip_reason"]
    wait_idle(bot)
    assert followup(bot, nudged["id"]).state == "sent"
    bot.driver.submit_view("U0AGENT", modal["id"], {"reason": "Customer asked not to be called"})
    assert followup(bot, nudged["id"]).state == "skipped"
    recorded = outcome(bot, nudged["id"])
    assert recorded is not None and recorded.skip_reason == "Customer asked not to be called"


def test_snooze_next_working_morning_lands_in_the_agents_hours_and_renudges(
    bot: Any, nudged: Any
) -> None:
    click(bot, nudged, ids.ACTION_SNOOZE)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_SNOOZE)
    bot.driver.submit_view("U0AGENT", modal["id"], {"when": "next_morning"})
    row = followup(bot, nudged["id"])
    assert (row.state, row.due_at) == ("planned", datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    bot.clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert dispatch_pass(bot.deps).delivered == 1, "a snoozed follow-up comes back as a new DM"
    assert len(bot.sandbox.dm_messages("U0AGENT")) == 2


def test_snooze_to_a_past_date_is_refused_inline(bot: Any, nudged: Any) -> None:
    click(bot, nudged, ids.ACTION_SNOOZE)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_SNOOZE)
    answer = bot.driver.submit_view(
        "U0AGENT", modal["id"], {"when": "pick_date", "date": "2026-11-01"}
    ).json()
    assert answer["errors"] == {"snooze_date": "That date has passed: pick today or later."}
    wait_idle(bot)
    assert followup(bot, nudged["id"]).state == "sent"


def test_a_strangers_click_changes_nothing_and_gets_an_ephemeral_refusal(
    bot: Any, nudged: Any
) -> None:
    assert click(bot, nudged, ids.ACTION_FOLLOWED_UP, user="U0OTHER").status == 200
    refusal = wait_for(lambda: [r for r in bot.sandbox.responses if r.user_id == "U0OTHER"])
    assert refusal and "Nothing was changed" in refusal[-1].body["text"]
    assert refusal[-1].body["response_type"] == "ephemeral"
    wait_idle(bot)
    assert bot.sandbox.views("U0OTHER", open_only=True) == []
    assert followup(bot, nudged["id"]).state == "sent"


def test_a_stranger_submitting_a_modal_is_refused(bot: Any, nudged: Any) -> None:
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    answer = bot.driver.submit_view("U0OTHER", modal["id"], {"result": "resolved"}).json()
    assert "Nothing was changed" in answer["errors"]["outcome_result"]
    wait_idle(bot)
    assert followup(bot, nudged["id"]).state == "sent"


def test_a_lead_may_act_for_the_agent(bot: Any, nudged: Any) -> None:
    make_lead(bot)
    click(bot, nudged, ids.ACTION_SKIP, user="U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_SKIP)
    bot.driver.submit_view("U0LEAD", modal["id"], {"reason": "Ada is on leave; I called them"})
    assert followup(bot, nudged["id"]).state == "skipped"


def test_two_submissions_at_once_the_first_wins_the_second_sees_the_state(
    bot: Any, nudged: Any
) -> None:
    make_lead(bot)
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    first = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    click(bot, nudged, ids.ACTION_FOLLOWED_UP, user="U0LEAD")
    second = opened_modal(bot, "U0LEAD", ids.VIEW_OUTCOME)
    answers: dict[str, Any] = {}

    def submit(user: str, view: dict[str, Any], result: str) -> None:
        answers[user] = bot.driver.view_submission(user, view, {"result": result})

    threads = [
        threading.Thread(target=submit, args=("U0AGENT", first, "resolved")),
        threading.Thread(target=submit, args=("U0LEAD", second, "no_reply")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [u for u, r in answers.items() if "response_action" in (r.body or "")]
    assert len(refused) == 1, "exactly one submission lost the race"
    assert "already closed" in answers[refused[0]].json()["errors"]["outcome_result"]
    with bot.deps.session_factory() as session:
        assert len(session.scalars(select(Outcome)).all()) == 1
        assert (
            len(
                session.scalars(select(FollowUp).where(FollowUp.template == "no_reply_nudge")).all()
            )
            <= 1
        )


def test_every_action_lands_in_the_audit_log(bot: Any, nudged: Any) -> None:
    from db.models import AuditEntry

    click(bot, nudged, ids.ACTION_SKIP)
    bot.driver.submit_view(
        "U0AGENT",
        opened_modal(bot, "U0AGENT", ids.VIEW_SKIP)["id"],
        {"reason": "duplicate of another case"},
    )
    with bot.deps.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "skipped"))
    assert entry is not None
    assert (entry.actor, entry.surface, entry.entity_id) == ("U0AGENT", "dm", nudged["id"])
