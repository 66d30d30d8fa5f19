"""Drafts tested as text, through the whole life of a case (issue #21).

Every shipped template is rendered for a table of cases (each channel and touch kind; with and
without a customer name, resolution, account manager, phone and review link; a long subject; a
third-person note; after an escalation, with and without the lead's new fix; after a reopen)
and read by the rules of `bot.render.draft_checks`, then by the specific findings of #21.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.render.draft_checks import call_core, prose_sentences, text_problems
from bot.render.drafts import (
    CALLBACK_PLACEHOLDER,
    CHANNELS,
    FLAG_INTERNAL_NOTE,
    FLAG_MISSING_NEW_FIX,
    FLAG_PLACEHOLDER,
    NAME_PLACEHOLDER,
    NEW_FIX_PLACEHOLDER,
    REVIEW_LINK_PLACEHOLDER,
    SAMPLE_CASES,
    TOUCH_KINDS,
    Draft,
    DraftContext,
    story_of,
)
from bot.render.templates import Renderer, check_templates

FAILED_FIX = "Refunded the duplicate charge on the November invoice"
NEW_FIX = "Issued a corrected December invoice and removed the second charge at the source"

BASE = DraftContext(
    subject="Charged twice for the November invoice",
    resolution=FAILED_FIX,
    customer_name="Dana Whitfield",
    company="Harbour Freight Co",
    case_channel="email",
    closed_at=datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
    case_reference="zendesk #48213",
    case_url=None,
    touch_number=1,
    template="check_in",
    channel="email",
    why_now="72 hours after the case was closed",
    agent_name="Ada Lovelace",
    team_name="Northwind Support",
    team_slug="northwind",
    case_kind="complaint",
    agent_phone="+44 20 7946 0018",
    review_url="https://reviews.example/northwind",
)

VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "no customer name": {"customer_name": None},
    "honorific": {"customer_name": "Mrs Adaeze Nwosu"},
    "no resolution": {"resolution": None},
    "no phone": {"agent_phone": None},
    "review without link": {"review_invite": True, "review_url": None},
    "review and referral": {"review_invite": True, "referral_ask": True},
    "long subject": {
        "subject": (
            "Customs declarations rejected after the EU tariff code update, and every"
            " declaration since Monday is stuck in the queue with error 4012 from the gateway"
        )
    },
    "third-person note": {"resolution": "Corrected the SAML audience URL in their tenant"},
    "how-to answer": {
        "resolution": "walked them through Settings > Data > Export",
        "case_kind": "query",
    },
    "incident": {"case_kind": "incident"},
    "account manager": {"speaker": "account_manager", "handled_by": "Ben Okafor"},
    "lead stands in": {"speaker": "lead", "handled_by": "Ben Okafor"},
    "owner stands in": {"speaker": "owner"},
    "slug for a name": {"team_name": "default", "team_slug": "default"},
    "no display name": {"agent_name": ""},
    "after escalation": {"escalated": True, "new_fix": NEW_FIX, "touch_number": 3},
    "after escalation, no new fix": {"escalated": True, "new_fix": None, "touch_number": 3},
    "after reopen": {"cycle": 2},
}
TABLE = [
    pytest.param(channel, kind, variant, id=f"{channel}-{kind}-{variant}")
    for channel in CHANNELS
    for kind in TOUCH_KINDS
    for variant in VARIANTS
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(None)


def case(channel: str, kind: str, variant: str = "plain", **more: Any) -> DraftContext:
    return dataclasses.replace(BASE, channel=channel, template=kind, **VARIANTS[variant], **more)


@pytest.mark.parametrize(("channel", "kind", "variant"), TABLE)
def test_every_draft_reads_right(renderer: Renderer, channel: str, kind: str, variant: str) -> None:
    ctx = case(channel, kind, variant)
    draft = renderer.render_draft(ctx)
    assert text_problems(ctx, draft) == [], draft.text
    assert "None" not in draft.text and "  " not in draft.text


# --- the rules can fail: each is shown catching a draft that breaks it --------------------------


def _draft(channel: str, body: str, advice: list[str] | None = None) -> Draft:
    return Draft(channel, "check_in", "x", None, body, advice=advice or [])


EMAIL_OK = "Hi Dana,\n\n{}\n\nBest,\nAda"
FOUR = "One thing. Two things. Three things. Four things."


@pytest.mark.parametrize(
    ("ctx_changes", "draft", "problem"),
    [
        ({}, _draft("chat", FOUR + " Call me on [your direct number]."), "without saying so"),
        ({"team_slug": "default"}, _draft("chat", "It's Ada from default. " + FOUR), "slug"),
        ({}, _draft("chat", FOUR + " We fixed their tenant."), "“their”"),
        ({"speaker": "owner"}, _draft("chat", "I look after the account. " + FOUR), "look after"),
        ({"speaker": "owner"}, _draft("chat", "I lead the team. " + FOUR), "lead the team"),
        ({}, _draft("email", EMAIL_OK.format("Hi Mrs Nwosu. " + FOUR)), "honorific"),
        ({}, _draft("email", EMAIL_OK.format("Too short. Really.")), "sentences of prose"),
        ({}, _draft("chat", FOUR + " Five. Six. Seven."), "sentences of prose"),
        (
            {},
            _draft("phone", "Call script: x\n\n" + "\n".join(["A line to say."] * 8)),
            "too long to say",
        ),
    ],
)
def test_each_text_rule_catches_a_draft_that_breaks_it(
    ctx_changes: dict[str, Any], draft: Draft, problem: str
) -> None:
    ctx = dataclasses.replace(BASE, **ctx_changes)
    assert any(problem in found for found in text_problems(ctx, draft)), text_problems(ctx, draft)


def test_an_announced_placeholder_is_no_problem() -> None:
    advice = ["Fill in your direct number where the draft says “[your direct number]”."]
    draft = _draft("chat", FOUR + " Call me on [your direct number].", advice)
    assert text_problems(BASE, draft) == []


# --- 1. the case's story drives the draft ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "story"),
    [
        ({}, "first"),
        ({"template": "no_reply_nudge"}, "no_reply"),
        ({"escalated": True}, "after_escalation"),
        ({"template": "fix_held", "escalated": True}, "fix_held"),
        ({"cycle": 2}, "after_reopen"),
    ],
)
def test_each_touch_knows_what_happened_before_it(changes: dict[str, Any], story: str) -> None:
    assert story_of(dataclasses.replace(BASE, **changes)) == story


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", ["check_in", "complaint_owner", "complaint_account_manager"])
def test_after_an_escalation_the_touch_owns_the_failed_fix_and_states_the_new_one(
    renderer: Renderer, channel: str, kind: str
) -> None:
    draft = renderer.render_draft(case(channel, kind, "after escalation"))
    assert "sorry the first fix" in draft.text
    assert "issued a corrected December invoice" in draft.text
    assert "refunded the duplicate charge" not in draft.text.lower(), "never the fix that failed"
    assert "working for you now" in draft.text, "asks again"
    assert draft.flags == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_without_the_leads_words_the_draft_invents_no_fix_and_says_so(
    renderer: Renderer, channel: str
) -> None:
    draft = renderer.render_draft(case(channel, "check_in", "after escalation, no new fix"))
    assert NEW_FIX_PLACEHOLDER in draft.text
    assert "refunded the duplicate charge" not in draft.text.lower()
    assert FLAG_MISSING_NEW_FIX in draft.flags and FLAG_PLACEHOLDER in draft.flags
    assert any(NEW_FIX_PLACEHOLDER in line and "lead" in line for line in draft.advice)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_30_day_check_after_an_escalation_refers_to_the_second_fix(
    renderer: Renderer, channel: str
) -> None:
    draft = renderer.render_draft(case(channel, "fix_held", "after escalation"))
    assert "second fix" in draft.text and "issued a corrected December invoice" in draft.text
    assert "refunded the duplicate charge" not in draft.text.lower()


@pytest.mark.parametrize("channel", CHANNELS)
def test_after_a_reopen_the_draft_says_it_came_back(renderer: Renderer, channel: str) -> None:
    first = renderer.render_draft(case(channel, "check_in")).text
    again = renderer.render_draft(case(channel, "check_in", "after reopen")).text
    assert "came back" in again and "came back" not in first


# --- 2. who speaks is who calls ----------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_only_the_account_manager_says_they_look_after_the_account(
    renderer: Renderer, channel: str
) -> None:
    kind = "complaint_account_manager"
    manager = renderer.render_draft(case(channel, kind, "account manager")).text
    lead = renderer.render_draft(case(channel, kind, "lead stands in")).text
    owner = renderer.render_draft(case(channel, kind, "owner stands in")).text
    assert "I look after the Harbour Freight Co account" in manager
    assert "I look after" not in lead and "I lead Northwind Support" in lead
    assert "I look after" not in owner and "I lead" not in owner
    assert "which I closed" in owner, "the owner speaks as the one who closed it"


# --- 3. customer text from internal notes ------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_third_person_note_reaches_the_customer_in_the_second_person(
    renderer: Renderer, channel: str
) -> None:
    text = renderer.render_draft(case(channel, "check_in", "third-person note")).text
    assert "corrected the SAML audience URL in your tenant" in text
    assert not re.search(r"\b(their|them)\b", text)


def test_an_internal_note_is_flagged_to_check_before_sending(renderer: Renderer) -> None:
    ctx = dataclasses.replace(
        BASE, resolution="Fixed the sync after our VP Engineering reviewed the backlog"
    )
    draft = renderer.render_draft(ctx)
    assert FLAG_INTERNAL_NOTE in draft.flags
    assert any("written as an internal note: check before sending" in a for a in draft.advice)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_how_to_answer_is_not_called_the_fix(renderer: Renderer, channel: str) -> None:
    text = renderer.render_draft(case(channel, "check_in", "how-to answer")).text
    assert "we walked you through Settings &gt; Data &gt; Export" in text
    assert "fix" not in text.lower()


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_long_subject_is_referred_to_by_a_short_form(renderer: Renderer, channel: str) -> None:
    ctx = case(channel, "check_in", "long subject")
    text = renderer.render_draft(ctx).text
    assert ctx.subject is not None and ctx.subject not in text
    assert "“Customs declarations rejected after the EU tariff code update…”" in text


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_greeting_uses_the_first_name_only(renderer: Renderer, channel: str) -> None:
    body = renderer.render_draft(case(channel, "check_in", "honorific")).body
    assert re.search(r"^Hi Adaeze,", body, re.M), body
    assert not re.search(r"\b(Hi|Dear) Mrs\b", body)


# --- 4. placeholders filled from people and team settings --------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_settings_fill_the_placeholders(renderer: Renderer, channel: str) -> None:
    ctx = case(
        channel, "complaint_owner", "review and referral", agent_signature="Ada L.\nNorthwind"
    )
    draft = renderer.render_draft(ctx)
    assert "+44 20 7946 0018" in draft.text or channel == "chat"
    assert "https://reviews.example/northwind" in draft.text or channel == "phone"
    assert "[" not in draft.text.replace("[If you reach", "").replace("[Before you", "").replace(
        "[Only if", ""
    )
    assert draft.flags == []
    if channel == "email":
        assert draft.text.endswith("Ada L.\nNorthwind")


@pytest.mark.parametrize(
    ("variant", "placeholder", "words"),
    [
        ("no phone", CALLBACK_PLACEHOLDER, "/followup profile"),
        ("review without link", REVIEW_LINK_PLACEHOLDER, "--review-link"),
        ("no display name", NAME_PLACEHOLDER, "display name"),
    ],
)
def test_an_unfilled_placeholder_is_named_in_the_dm_and_flagged(
    renderer: Renderer, variant: str, placeholder: str, words: str
) -> None:
    draft = renderer.render_draft(case("email", "complaint_owner", variant))
    assert placeholder in draft.text
    assert FLAG_PLACEHOLDER in draft.flags
    assert any(placeholder in a and words in a for a in draft.advice)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_team_is_named_by_its_display_name_never_its_slug(
    renderer: Renderer, channel: str
) -> None:
    named = renderer.render_draft(case(channel, "check_in")).text
    slug = renderer.render_draft(case(channel, "check_in", "slug for a name")).text
    assert "Northwind Support" in named or channel == "email"
    assert not re.search(r"\bdefault\b", slug)


# --- 5. reflective questions in every channel --------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("kind", "question"),
    [
        ("complaint", "what could we have handled differently?"),
        ("incident", "hear from us sooner while it was happening?"),
        ("query", "made easier for you along the way?"),
    ],
)
def test_every_channel_asks_a_reflective_question_chosen_by_the_case(
    renderer: Renderer, channel: str, kind: str, question: str
) -> None:
    text = renderer.render_draft(case(channel, "check_in", case_kind=kind)).text
    assert question in text


# --- 7. no referral ask on the "has it held?" touch --------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_has_it_held_touch_never_carries_a_referral_ask(
    renderer: Renderer, channel: str
) -> None:
    held = renderer.render_draft(case(channel, "fix_held", "review and referral")).text
    first = renderer.render_draft(case(channel, "check_in", "review and referral")).text
    assert "introduction" in first and "introduction" not in held


# --- 8. sentence counts, and `followup templates check` ----------------------------------------


@pytest.mark.parametrize("channel", ["email", "chat"])
def test_prose_is_four_to_six_sentences(renderer: Renderer, channel: str) -> None:
    for kind in TOUCH_KINDS:
        for variant in VARIANTS:
            draft = renderer.render_draft(case(channel, kind, variant))
            assert 4 <= len(prose_sentences(draft)) <= 6, draft.text


def test_a_call_scripts_core_is_short_enough_to_say(renderer: Renderer) -> None:
    for kind in TOUCH_KINDS:
        for variant in VARIANTS:
            core = call_core(renderer.render_draft(case("phone", kind, variant)))
            assert 3 <= len(core) <= 7 and sum(len(line.split()) for line in core) <= 120


def test_templates_check_renders_every_template_with_the_story_samples() -> None:
    stories = {story_of(sample) for sample in SAMPLE_CASES}
    assert {"first", "after_escalation", "after_reopen"} <= stories
    assert check_templates(Renderer(None)) == []


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("story", ["after escalation", "after reopen"])
def test_no_referral_ask_once_the_fix_did_not_hold(
    renderer: Renderer, channel: str, story: str
) -> None:
    """An earlier "resolved" does not make a referral right after "I'm sorry the first fix
    didn't hold" (DOMAIN.md: "never when the resolution did not hold")."""
    draft = renderer.render_draft(
        dataclasses.replace(case(channel, "check_in", story), referral_ask=True)
    )
    assert "introduction" not in draft.text


@pytest.mark.parametrize("template", ["check_in", "no_reply_nudge", "complaint_owner"])
def test_every_call_script_leaves_the_direct_number(renderer: Renderer, template: str) -> None:
    """The retry after no reply too: a customer who missed the first call needs a way back."""
    draft = renderer.render_draft(case("phone", template))
    assert "ring me directly on" in draft.text
