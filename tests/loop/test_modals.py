"""The outcome, skip and snooze modals and the outcome rules, without a server: what the agent
sees, and what a submitted form may record."""

from __future__ import annotations

from datetime import date

from bot import ids
from bot.loop import views as ov
from bot.loop.outcomes import check_outcome
from bot.sandbox.blockkit import check_view

CASE = ov.ModalCase(
    followup_id=7,
    reference="zendesk #4821",
    subject="Refund <!channel> not showing",
    customer="Dana <@U0BOSS>",
    review_eligible=True,
    referral_eligible=True,
)
META = ov.metadata(ov.ModalMeta(7, "D0AGENT", "1700000000.000100", "dm"))


def _inputs(view: dict[str, object]) -> list[str]:
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    return [b["block_id"] for b in blocks if b["type"] == "input"]


def test_each_modal_is_valid_block_kit_with_its_inputs_named_in_ids() -> None:
    outcome = ov.outcome_modal(CASE, ["Billing sync", "Docs unclear"], META).to_dict()
    skip = ov.skip_modal(CASE, META).to_dict()
    snooze = ov.snooze_modal(CASE, META, date(2026, 12, 7)).to_dict()
    handled = ov.handled_modal(CASE, "not_resolved", META).to_dict()
    for view in (outcome, skip, snooze, handled):
        assert check_view(view) == []
        assert view["private_metadata"] == META
    assert _inputs(outcome) == [
        ids.OUTCOME_RESULT,
        ids.OUTCOME_SAID,
        ids.OUTCOME_INSIGHT,
        ids.OUTCOME_CAUSE,
        ids.OUTCOME_ASKS,
    ]
    assert _inputs(skip) == [ids.SKIP_REASON]
    assert _inputs(snooze) == [ids.SNOOZE_WHEN, ids.SNOOZE_DATE]
    assert _inputs(handled) == [ids.HANDLED_DID]
    assert (outcome["callback_id"], skip["callback_id"], snooze["callback_id"]) == (
        ids.VIEW_OUTCOME,
        ids.VIEW_SKIP,
        ids.VIEW_SNOOZE,
    )
    assert handled["callback_id"] == ids.VIEW_ESCALATION_HANDLED


def test_the_outcome_modal_offers_unhappy_and_tells_words_from_insight() -> None:
    outcome = ov.outcome_modal(CASE, [], META).to_dict()
    blocks = {b.get("block_id"): b for b in outcome["blocks"]}
    options = blocks[ids.OUTCOME_RESULT]["element"]["options"]
    assert {
        "text": {"type": "plain_text", "text": "Resolved, but unhappy with how it went"},
        "value": "unhappy",
    } in [
        {"text": {k: v for k, v in o["text"].items() if k != "emoji"}, "value": o["value"]}
        for o in options
    ]
    said, insight = blocks[ids.OUTCOME_SAID], blocks[ids.OUTCOME_INSIGHT]
    assert (said["label"]["text"], insight["label"]["text"]) == (
        "What the customer said",
        "What we should change",
    )
    assert said["optional"] and insight["optional"]
    assert "thanks included" in said["hint"]["text"]
    assert "not a thanks" in insight["hint"]["text"]
    assert insight["element"]["max_length"] == ov.INSIGHT_LIMIT


def test_the_case_text_in_a_modal_is_escaped() -> None:
    text = ov.outcome_modal(CASE, [], META).to_dict()["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U0BOSS>" not in text


def test_only_the_asks_the_case_is_eligible_for_are_offered() -> None:
    plain = ov.ModalCase(7, "zendesk #1", "Login", None, False, False)
    assert ids.OUTCOME_ASKS not in _inputs(ov.outcome_modal(plain, [], META).to_dict())
    referral_only = ov.ModalCase(7, "zendesk #1", "Login", None, False, True)
    view = ov.outcome_modal(referral_only, [], META).to_dict()
    asks = next(b for b in view["blocks"] if b.get("block_id") == ids.OUTCOME_ASKS)
    offered = [o["value"] for o in asks["element"]["options"]]
    assert offered == ["referral_asked", "referral_given"]


def test_an_outcome_needs_a_result_and_a_short_quote() -> None:
    form = ov.OutcomeForm(result=None, said="x" * (ov.SAID_LIMIT + 1), cause=None)
    _, errors = check_outcome(form, CASE)
    assert set(errors) == {"result", "said"}
    _, errors = check_outcome(ov.OutcomeForm("resolved", "All good now.", "Billing sync"), CASE)
    assert errors == {}


def test_a_referral_is_only_asked_once_the_customer_confirmed_it_is_resolved() -> None:
    form = ov.OutcomeForm("not_resolved", None, None, frozenset({"referral_asked"}))
    _, errors = check_outcome(form, CASE)
    assert "confirmed it's resolved" in errors["asks"]
    asks, errors = check_outcome(ov.OutcomeForm("resolved", None, None, form.asks), CASE)
    assert errors == {} and asks == {"referral_asked"}


def test_a_given_ask_implies_it_was_asked_and_ineligible_or_unknown_asks_are_dropped() -> None:
    given = frozenset({"review_given", "referral_given", "tip_jar"})
    asks, _ = check_outcome(ov.OutcomeForm("resolved", None, None, given), CASE)
    assert asks == {"review_asked", "review_given", "referral_asked", "referral_given"}
    no_review = ov.ModalCase(7, "zendesk #1", "Login", None, False, True)
    asks, _ = check_outcome(ov.OutcomeForm("resolved", None, None, given), no_review)
    assert asks == {"referral_asked", "referral_given"}
