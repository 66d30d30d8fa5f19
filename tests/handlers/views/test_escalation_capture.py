"""What the outcome and "Handled" modals capture (#21): the lead's new fix after an escalation,
"resolved, but unhappy", and the customer's words kept apart from the team's insight.

Everything goes over HTTP through the sandbox driver: buttons clicked in the messages the bot
posted, modals submitted as Slack sends them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.loop.views import INSIGHT_LIMIT
from bot.sandbox.waiting import wait_for
from db.models import AuditEntry, FollowUp
from tests.handlers.views.test_outcome import click, followup, make_lead, opened_modal, outcome
from tests.idle import wait_idle
from tests.nudging import nudge

NEW_FIX = "Refunded the second charge and re-issued the December invoice without it"


@pytest.fixture
def nudged(bot: Any) -> dict[str, Any]:
    dm = nudge(bot, subject="Charged twice for November", customer_name="Priya Shah")
    make_lead(bot)
    return dm


def record(bot: Any, nudged: dict[str, Any], values: dict[str, Any]) -> Any:
    click(bot, nudged, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    return bot.driver.submit_view("U0AGENT", modal["id"], values)


def escalation_post(bot: Any) -> dict[str, Any]:
    [post] = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"))
    return dict(post)


def click_handled(bot: Any, post: dict[str, Any], nudged: dict[str, Any], user: str) -> Any:
    return bot.driver.block_action_from_message(
        user, "C0ESCALATE", post["ts"], ids.ACTION_ESCALATION_HANDLED, str(nudged["id"])
    )


def planned_check_ins(bot: Any) -> list[FollowUp]:
    with bot.deps.session_factory() as session:
        return list(
            session.scalars(
                select(FollowUp).where(
                    FollowUp.state == "planned", FollowUp.why.startswith("a fresh check-in")
                )
            )
        )


def post_text(bot: Any, post: dict[str, Any]) -> str:
    return json.dumps(bot.sandbox.message("C0ESCALATE", post["ts"])["blocks"])


def test_handled_asks_the_lead_what_was_done_and_keeps_it_for_the_next_touch(
    bot: Any, nudged: Any
) -> None:
    record(bot, nudged, {"result": "not_resolved", "said": "Both charges are still there"})
    post = escalation_post(bot)
    assert click_handled(bot, post, nudged, "U0LEAD").status == 200
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    [did] = [b for b in modal["blocks"] if b.get("block_id") == ids.HANDLED_DID]
    assert did["optional"] is True
    assert "check-in" in did["hint"]["text"], "the hint says the customer will read it"
    assert followup(bot, nudged["id"]).state == "escalated", "nothing changes on the click"

    assert bot.driver.submit_view("U0LEAD", modal["id"], {"did": NEW_FIX}).status == 200

    assert followup(bot, nudged["id"]).state == "escalation_handled"
    stored = outcome(bot, nudged["id"])
    assert stored is not None
    assert (stored.result, stored.what_we_did) == ("not_resolved", NEW_FIX)
    [fresh] = planned_check_ins(bot)
    assert fresh.case_id == followup(bot, nudged["id"]).case_id
    text = wait_for(lambda: "Handled by" in post_text(bot, post) and post_text(bot, post))
    assert "What we did this time" in text and "December invoice without it" in text
    assert "a fresh check-in is planned" in text
    assert ids.ACTION_ESCALATION_HANDLED not in text
    with bot.deps.session_factory() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "escalation_handled"))
        assert audit is not None and audit.actor == "U0LEAD"
        assert audit.detail["what_we_did"] is True


def test_handled_with_nothing_typed_still_plans_the_check_in(bot: Any, nudged: Any) -> None:
    record(bot, nudged, {"result": "not_resolved"})
    post = escalation_post(bot)
    click_handled(bot, post, nudged, "U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    assert bot.driver.submit_view("U0LEAD", modal["id"], {}).status == 200
    assert followup(bot, nudged["id"]).state == "escalation_handled"
    stored = outcome(bot, nudged["id"])
    assert stored is not None and stored.what_we_did is None
    assert len(planned_check_ins(bot)) == 1


def test_only_a_lead_gets_the_handled_modal_and_a_forged_submission_changes_nothing(
    bot: Any, nudged: Any
) -> None:
    record(bot, nudged, {"result": "not_resolved"})
    post = escalation_post(bot)
    click_handled(bot, post, nudged, "U0OTHER")
    wait_idle(bot)
    assert not [
        v
        for v in bot.sandbox.views("U0OTHER", open_only=True)
        if v.get("callback_id") == ids.VIEW_ESCALATION_HANDLED
    ]
    click_handled(bot, post, nudged, "U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    answer = bot.driver.view_submission("U0OTHER", modal, {"did": "I did it"}).json()
    assert answer["response_action"] == "errors"
    assert "Only a lead" in answer["errors"][ids.HANDLED_DID]
    assert followup(bot, nudged["id"]).state == "escalated"
    stored = outcome(bot, nudged["id"])
    assert stored is not None and stored.what_we_did is None
    assert planned_check_ins(bot) == []


def test_a_second_handled_submission_is_refused_on_the_form(bot: Any, nudged: Any) -> None:
    record(bot, nudged, {"result": "not_resolved"})
    post = escalation_post(bot)
    click_handled(bot, post, nudged, "U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    bot.driver.view_submission("U0LEAD", modal, {"did": NEW_FIX})
    again = bot.driver.view_submission("U0LEAD", modal, {"did": "something else"}).json()
    assert "already handled" in again["errors"][ids.HANDLED_DID]
    stored = outcome(bot, nudged["id"])
    assert stored is not None and stored.what_we_did == NEW_FIX
    assert len(planned_check_ins(bot)) == 1


def test_unhappy_escalates_with_the_customers_words_but_does_not_reopen_the_fix(
    bot: Any, nudged: Any
) -> None:
    said = "It works, but it took three calls and nobody told me what was going on"
    assert record(bot, nudged, {"result": "unhappy", "said": said}).status == 200
    assert followup(bot, nudged["id"]).state == "escalated"
    post = escalation_post(bot)
    text = json.dumps(post["blocks"])
    assert "<@U0LEAD>" in text and "nobody told me what was going on" in text
    assert "unhappy with how it went" in text and "did not hold" not in text
    wait_idle(bot)
    dm = json.dumps(bot.sandbox.message(nudged["channel"], nudged["ts"])["blocks"])
    assert "resolved, but the customer is unhappy with how it went" in dm
    assert "did not hold" not in dm and "not resolved" not in dm

    click_handled(bot, post, nudged, "U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    [did] = [b for b in modal["blocks"] if b.get("block_id") == ids.HANDLED_DID]
    assert "the fix itself stands" in did["hint"]["text"]
    bot.driver.submit_view("U0LEAD", modal["id"], {"did": "Called to apologise for the wait"})

    assert planned_check_ins(bot) == [], "the fix held: no fresh check-in asks again"
    assert followup(bot, nudged["id"]).state == "done"
    stored = outcome(bot, nudged["id"])
    assert stored is not None
    assert (stored.result, stored.customer_said) == ("unhappy", said)
    assert stored.what_we_did == "Called to apologise for the wait"
    handled = wait_for(lambda: "Handled by" in post_text(bot, post) and post_text(bot, post))
    assert "the fix stands" in handled and "fresh check-in" not in handled


def test_the_customers_words_and_the_insight_are_stored_apart(bot: Any, nudged: Any) -> None:
    response = record(
        bot,
        nudged,
        {
            "result": "resolved",
            "said": "Thanks, it works now!",
            "insight": "Duplicate charges need a check at refund time, not a second call",
        },
    )
    assert response.status == 200
    stored = outcome(bot, nudged["id"])
    assert stored is not None
    assert stored.customer_said == "Thanks, it works now!"
    assert stored.insight == "Duplicate charges need a check at refund time, not a second call"


def test_an_insight_over_the_limit_is_refused_on_its_own_field(bot: Any, nudged: Any) -> None:
    # A client that ignores max_length (or an old modal) can still send more: the server checks.
    answer = record(bot, nudged, {"result": "resolved", "insight": "x" * (INSIGHT_LIMIT + 1)})
    errors = answer.json()["errors"]
    assert list(errors) == [ids.OUTCOME_INSIGHT]
    wait_idle(bot)
    assert outcome(bot, nudged["id"]) is None
