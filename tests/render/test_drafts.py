"""Drafts: golden texts, the content rules, the specificity check, overrides and their errors."""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import rules
from bot.render.drafts import (
    CHANNELS,
    FLAG_GENERIC_TEMPLATE,
    FLAG_MISSING_RESOLUTION,
    FLAG_MISSING_SUBJECT,
    SAMPLE_CASES,
    TOUCH_KINDS,
    DraftContext,
    draft_channel,
)
from bot.render.templates import Renderer, TemplateProblem, check_templates, render_draft
from bot.rules.policy_file import parse_policy

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("FOLLOWUP_UPDATE_GOLDEN") == "1"

PHONE_COMPLAINT = DraftContext(
    subject="Double charged for March invoice after plan change",
    resolution=(
        "Refunded the duplicate £1,240 charge and corrected the proration rule that caused it"
    ),
    customer_name="Dana Whitfield",
    company="Harbour Freight Co",
    case_channel="phone",
    closed_at=datetime(2024, 3, 12, 16, 40, tzinfo=UTC),
    case_reference="zendesk #48213",
    case_url="https://northwind.zendesk.com/agent/tickets/48213",
    touch_number=1,
    template="complaint_account_manager",
    channel="phone",
    why_now="72 hours after a complaint with senior involvement was closed",
    agent_name="Priya Raman",
    handled_by="Tom Ellis",
    team_name="Northwind Support",
    case_kind="complaint",
    speaker="account_manager",
    agent_phone="+44 20 7946 0123",
)
EMAIL_QUERY = DraftContext(
    subject="Can't export reports to CSV",
    resolution="Cleared the stuck export job and switched CSV export back on for your workspace",
    customer_name="Marco Bianchi",
    company=None,
    case_channel="email",
    closed_at=datetime(2024, 3, 4, 11, 5, tzinfo=UTC),
    case_reference="freshdesk #99120",
    case_url="https://northwind.freshdesk.com/a/tickets/99120",
    touch_number=1,
    template="check_in",
    channel="email",
    why_now="48 hours after a query was closed",
    agent_name="Sam Okafor",
    agent_phone="+44 20 7946 0456",
    team_name="Northwind Support",
    review_invite=True,
    review_url="https://www.trustpilot.com/evaluate/northwind.example",
)
CHAT_CASE = DraftContext(
    subject="Promo code SPRING24 rejected at checkout",
    resolution="Reissued the code and removed the one-use-per-device limit that blocked it",
    customer_name="Aisha Khan",
    company=None,
    case_channel="chat",
    closed_at=datetime(2024, 3, 6, 19, 20, tzinfo=UTC),
    case_reference="intercom #7731",
    case_url=None,
    touch_number=1,
    template="check_in",
    channel="chat",
    why_now="72 hours after the case was closed",
    agent_name="Jordan Lee",
    agent_phone="+44 20 7946 0789",
    team_name="Northwind Support",
)
B2B_FIX_HELD = DraftContext(
    subject="SSO login loop for all staff after IdP certificate rotation",
    resolution=(
        "Updated the SAML signing certificate on your tenant and added an expiry alert so a"
        " rotation can't lock people out again"
    ),
    customer_name="Lena Fischer",
    company="Kessler Logistik GmbH",
    case_channel="email",
    closed_at=datetime(2024, 2, 13, 9, 15, tzinfo=UTC),
    case_reference="jira #SUP-2210",
    case_url="https://northwind.atlassian.net/browse/SUP-2210",
    touch_number=2,
    template="fix_held",
    channel="email",
    why_now="second check-in, 30 days on",
    agent_name="Priya Raman",
    agent_phone="+44 20 7946 0123",
    handled_by="Tom Ellis",
    team_name="Northwind Support",
    case_kind="complaint",
    speaker="account_manager",
    referral_ask=True,
)
REALISTIC = (PHONE_COMPLAINT, EMAIL_QUERY, CHAT_CASE, B2B_FIX_HELD)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(None)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def count_sentences(text: str, ctx: DraftContext) -> int:
    """Sentences of the message itself: no subject line, greeting, sign-off, script heading,
    agent notes in brackets, or the reflective questions; case values count as one word."""
    for value in (ctx.subject, ctx.resolution, ctx.customer_name, ctx.company):
        if value:
            text = text.replace(value, "X")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if paragraphs and paragraphs[0].startswith("Subject:"):
        paragraphs = paragraphs[1:]
    if paragraphs and "\n" not in paragraphs[0] and paragraphs[0].endswith(","):
        paragraphs = paragraphs[1:]  # greeting
    if paragraphs and paragraphs[-1].split("\n")[0].endswith(","):
        paragraphs = paragraphs[:-1]  # sign-off
    lines = [
        line
        for p in paragraphs
        for line in p.split("\n")
        if not line.startswith(("Call script:", "[", "- ")) and not line.endswith(":")
    ]
    return len(re.findall(r"[.!?]+(?=\s|$)", " ".join(lines)))


# --- golden drafts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ctx"),
    [
        ("phone_complaint_account_manager", PHONE_COMPLAINT),
        ("email_query_check_in", EMAIL_QUERY),
        ("chat_check_in", CHAT_CASE),
        ("email_b2b_fix_held", B2B_FIX_HELD),
    ],
)
def test_golden_drafts(renderer: Renderer, name: str, ctx: DraftContext) -> None:
    draft = renderer.render_draft(ctx)
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.write_text(draft.text + "\n", encoding="utf-8")
    assert draft.text + "\n" == path.read_text(encoding="utf-8")
    assert draft.flags == []


def test_email_has_a_subject_line_and_other_channels_do_not(renderer: Renderer) -> None:
    assert renderer.render_draft(EMAIL_QUERY).subject == "Checking in: Can't export reports to CSV"
    assert renderer.render_draft(PHONE_COMPLAINT).subject is None
    assert renderer.render_draft(CHAT_CASE).subject is None


# --- the content rules, for every shipped template ---------------------------------------------

ALL_TEMPLATES = [(channel, kind) for channel in CHANNELS for kind in TOUCH_KINDS]


@pytest.mark.parametrize(("channel", "kind"), ALL_TEMPLATES)
def test_every_draft_is_specific_and_complete(renderer: Renderer, channel: str, kind: str) -> None:
    for base in REALISTIC:
        ctx = dataclasses.replace(
            base, channel=channel, template=kind, review_invite=False, referral_ask=False
        )
        draft = renderer.render_draft(ctx)
        text = draft.text
        assert ctx.subject in text
        assert ctx.resolution is not None
        assert ctx.resolution[1:] in text  # the first letter may be lower-cased after a colon
        day = ctx.closed_at
        assert f"{day:%A} {day.day} {day:%B}" in text  # when
        assert re.search(r"(not|n.t) right|come back", text)  # invites them to say so
        assert re.search(r"\b(Thank|Thanks)\b", text)
        assert ctx.agent_name.split()[0] in text  # in the agent's own name
        assert draft.flags == [] and draft.advice == []
        assert 4 <= count_sentences(text, ctx) <= 6, text


@pytest.mark.parametrize(("channel", "kind"), ALL_TEMPLATES)
def test_two_different_cases_never_get_the_same_draft(
    renderer: Renderer, channel: str, kind: str
) -> None:
    texts = {
        renderer.render_draft(dataclasses.replace(c, channel=channel, template=kind)).text
        for c in REALISTIC
    }
    assert len(texts) == len(REALISTIC)


@pytest.mark.parametrize(("channel", "kind"), ALL_TEMPLATES)
def test_missing_facts_still_read_naturally_and_are_flagged(
    renderer: Renderer, channel: str, kind: str
) -> None:
    ctx = dataclasses.replace(
        PHONE_COMPLAINT,
        subject="  ",
        resolution=None,
        customer_name=None,
        company=None,
        handled_by=None,
        channel=channel,
        template=kind,
    )
    draft = renderer.render_draft(ctx)
    assert draft.flags == [FLAG_MISSING_SUBJECT, FLAG_MISSING_RESOLUTION]
    for bad in ("None", "“”", " ,", " .", "  ", ": .", "\n\n\n"):
        assert bad not in draft.text, (bad, draft.text)
    assert 4 <= count_sentences(draft.text, ctx) <= 6, draft.text
    assert any(a.startswith("Add what was fixed") for a in draft.advice)


def test_phone_call_scripts_carry_reflective_questions(renderer: Renderer) -> None:
    script = renderer.render_draft(PHONE_COMPLAINT).text
    questions = [line for line in script.splitlines() if line.startswith("- ")]
    assert 1 <= len(questions) <= 2
    assert all(q.endswith("?") for q in questions)
    assert "Looking back, what could we have handled differently?" in script
    assert "Tom Ellis closed on Tuesday 12 March" in script  # the account manager credits the agent


def test_resolution_reads_as_a_clause(renderer: Renderer) -> None:
    text = renderer.render_draft(CHAT_CASE).text
    assert "What we did: reissued the code" in text
    acronym = dataclasses.replace(CHAT_CASE, resolution="SSO certificate replaced.")
    assert "What we did: SSO certificate replaced." in renderer.render_draft(acronym).text


# --- reviews and referrals ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_review_invite_is_neutral_and_referral_is_low_pressure(
    renderer: Renderer, channel: str
) -> None:
    base = dataclasses.replace(EMAIL_QUERY, channel=channel, review_invite=False)
    without = renderer.render_draft(base).text
    review = renderer.render_draft(dataclasses.replace(base, review_invite=True)).text
    referral = renderer.render_draft(dataclasses.replace(base, referral_ask=True)).text
    added = review.replace(without, "")
    assert "honest review" in review and "honest review" not in without
    for gating in ("happy", "satisfied", "pleased", "5 star", "five-star", "positive review"):
        assert gating not in review.lower()
    assert "introduction" in referral and "introduction" not in without
    assert "no pressure" in referral or "no need to reply" in referral
    assert "the team" in referral  # credits the team
    assert added  # the paragraph was added


def test_review_link_is_used_when_configured(renderer: Renderer) -> None:
    text = renderer.render_draft(EMAIL_QUERY).text
    assert "https://www.trustpilot.com/evaluate/northwind.example" in text
    no_link = dataclasses.replace(EMAIL_QUERY, review_url=None)
    assert "[review link]" in renderer.render_draft(no_link).text


# --- escaping ----------------------------------------------------------------------------------


def test_values_are_slack_escaped_exactly_once(renderer: Renderer) -> None:
    ctx = dataclasses.replace(
        EMAIL_QUERY,
        subject="<!channel> refund",
        resolution="Moved <@U123> & <https://evil|click> off the account",
        customer_name="O'Brien <!here>",
    )
    text = renderer.render_draft(ctx).text
    assert "&lt;!channel&gt; refund" in text
    assert "&lt;@U123&gt; &amp; &lt;https://evil|click&gt;" in text
    assert "O'Brien" in text  # never HTML-escaped to &#39;
    assert "&amp;lt;" not in text and "&amp;amp;" not in text
    assert "<!" not in text and "<@" not in text and "<http" not in text


def test_render_draft_without_a_renderer_uses_the_shipped_templates() -> None:
    assert render_draft(CHAT_CASE).text == Renderer(None).render_draft(CHAT_CASE).text


def test_unknown_channel_is_refused(renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="draft channel"):
        renderer.render_draft(dataclasses.replace(CHAT_CASE, channel="web"))


def test_case_channels_map_to_draft_channels() -> None:
    assert [draft_channel(c) for c in ("email", "phone", "chat", "web", "social", "other")] == [
        "email",
        "phone",
        "chat",
        "email",
        "chat",
        "email",
    ]


# --- overrides and template checks -------------------------------------------------------------


def test_shipped_templates_pass_the_check(renderer: Renderer) -> None:
    assert check_templates(renderer) == []


def test_override_replaces_a_file_by_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "drafts/chat/check_in.j2",
        "Hey {{ first_name or 'there' }}! {{ agent_first_name }} at Northwind here about"
        " “{{ subject or 'your case' }}”.{% if resolution %} We {{ resolution }}.{% endif %}"
        " All good now? If not, just reply. Thanks a lot!\n",
    )
    renderer = Renderer(tmp_path)
    draft = renderer.render_draft(CHAT_CASE)
    assert draft.text.startswith("Hey Aisha! Jordan at Northwind here")
    assert draft.source == str(tmp_path / "drafts/chat/check_in.j2")
    assert draft.flags == []
    # Files the team did not override still come from the package.
    email = renderer.render_draft(EMAIL_QUERY)
    assert email.source == "templates/drafts/email/check_in.j2"
    assert email.text == Renderer(None).render_draft(EMAIL_QUERY).text
    assert check_templates(renderer) == []


def test_override_with_unknown_variable_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "drafts/email/check_in.j2",
        "Subject: About {{ subject }}\n\nHi there,\n\nDear {{ customer_nme }}, we closed it.\n",
    )
    renderer = Renderer(tmp_path)
    with pytest.raises(TemplateProblem) as raised:
        renderer.render_draft(EMAIL_QUERY)
    assert str(raised.value) == f"{path} line 5: 'customer_nme' is undefined"
    problems = check_templates(renderer)
    assert [str(p) for p in problems] == [f"{path} line 5: 'customer_nme' is undefined"]
    assert problems[0].line == 5 and problems[0].name == "drafts/email/check_in.j2"


def test_override_with_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "drafts/phone/check_in.j2",
        "Call script\n\nHi {{ first_name }},\n{% if resolution %}\nWe {{ resolution }}.\n",
    )
    problems = check_templates(Renderer(tmp_path))
    assert len(problems) == 1
    assert problems[0].source == str(path)
    assert problems[0].line is not None and problems[0].line >= 5
    assert str(problems[0]).startswith(f"{path} line ")
    assert "endif" in problems[0].message or "end of template" in problems[0].message


def test_error_in_an_included_paragraph_names_that_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "drafts/review_invite.j2", "An honest review, please.\n{{ review_lnk }}\n"
    )
    renderer = Renderer(tmp_path)
    with pytest.raises(TemplateProblem) as raised:
        renderer.render_draft(EMAIL_QUERY)
    assert str(raised.value) == f"{path} line 2: 'review_lnk' is undefined"
    assert f"{path} line 2: 'review_lnk' is undefined" in [
        str(p) for p in check_templates(renderer)
    ]


def test_generic_template_is_flagged(tmp_path: Path) -> None:
    write(
        tmp_path,
        "drafts/email/check_in.j2",
        "Subject: Checking in\n\nHi,\n\nWe hope everything is fine. Reply if not. Thanks!\n",
    )
    renderer = Renderer(tmp_path)
    draft = renderer.render_draft(EMAIL_QUERY)
    assert FLAG_GENERIC_TEMPLATE in draft.flags
    assert "renders the same text for two different cases" in " ".join(draft.advice)
    problems = check_templates(renderer)
    assert [p.name for p in problems] == ["drafts/email/check_in.j2"]
    assert "same text" in problems[0].message


def test_template_that_ignores_the_resolution_is_flagged(tmp_path: Path) -> None:
    write(
        tmp_path,
        "drafts/chat/check_in.j2",
        "Hi {{ first_name }}, about “{{ subject }}”: all sorted? Reply if not. Thanks!\n",
    )
    draft = Renderer(tmp_path).render_draft(CHAT_CASE)
    assert draft.flags == [FLAG_GENERIC_TEMPLATE]
    assert "whatever the case's resolution" in draft.advice[0]


def test_generic_check_is_cached_per_template(tmp_path: Path) -> None:
    probes: list[tuple[str, str]] = []

    class Counting(Renderer):
        def _probe(self, channel: str, kind: str) -> tuple[str, ...]:
            probes.append((channel, kind))
            return super()._probe(channel, kind)

    renderer = Counting(tmp_path)
    for _ in range(3):
        renderer.render_draft(EMAIL_QUERY)
        renderer.render_draft(CHAT_CASE)
    assert sorted(probes) == [("chat", "check_in"), ("email", "check_in")]


def test_check_templates_renders_other_families_with_caller_samples(tmp_path: Path) -> None:
    path = write(tmp_path, "digest/summary.j2", "Closed: {{ closed }}\nOn time: {{ on_tme }}\n")
    renderer = Renderer(tmp_path)
    assert check_templates(renderer) == []  # compiled only: no samples for this family
    problems = check_templates(renderer, {"digest/summary": [{"closed": 3, "on_time": 2}]})
    assert [str(p) for p in problems] == [f"{path} line 2: 'on_tme' is undefined"]


def test_a_misspelt_override_is_reported_with_the_nearest_shipped_name(tmp_path: Path) -> None:
    """Before, an override matching no shipped file was never read and the check said nothing."""
    path = write(tmp_path, "drafts/email/chek_in.j2", "Subject: {{ subject }}\n\nHi.\n")
    problems = check_templates(Renderer(tmp_path))
    assert [str(p) for p in problems] == [
        f"{path}: replaces no shipped template, so it is never used: "
        "did you mean drafts/email/check_in.j2?"
    ]
    assert problems[0].name == "drafts/email/chek_in.j2"


def test_an_override_in_a_misspelt_folder_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path, "draft/chat/check_in.j2", "Hi {{ first_name }}, {{ subject }}: {{ resolution }}"
    )
    (problem,) = check_templates(Renderer(tmp_path))
    assert problem.message.endswith("did you mean drafts/chat/check_in.j2?")


def test_a_draft_for_a_template_the_policy_names_is_not_unknown(tmp_path: Path) -> None:
    shipped = (Path(rules.__file__).parent / "default_policy.toml").read_text(encoding="utf-8")
    policy = parse_policy(shipped.replace('template = "check_in"', 'template = "vip_thanks"', 1))
    write(
        tmp_path,
        "drafts/email/vip_thanks.j2",
        "Subject: About {{ subject or 'your case' }}\n\nHi {{ first_name or 'there' }},\n"
        "{% if resolution %}We {{ resolution }}.{% endif %} All good now? Thanks!\n",
    )
    renderer = Renderer(tmp_path)
    assert check_templates(renderer, policy=policy) == []
    assert [p.name for p in check_templates(renderer)] == ["drafts/email/vip_thanks.j2"]


def test_printing_a_missing_value_is_reported_not_left_blank(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "drafts/chat/check_in.j2",
        "Hi {{ first_name or 'there' }}, about “{{ subject }}”.\nWhat we did: {{ resolution }}.\n",
    )
    renderer = Renderer(tmp_path)
    assert (
        "What we did: ."
        in renderer.render_draft(dataclasses.replace(CHAT_CASE, resolution=None)).text
    )
    problems = [str(p) for p in check_templates(renderer)]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path} line 1: prints a value this case does not have")


def test_sample_cases_differ_in_every_case_fact() -> None:
    a, b = SAMPLE_CASES[:2]
    for fact in ("subject", "resolution", "customer_name", "company", "closed_at", "agent_name"):
        assert getattr(a, fact) != getattr(b, fact)
