"""Case-specific follow-up drafts: what one draft needs (`DraftContext`), what it is (`Draft`),
the variables its template sees, and the synthetic cases the specificity check renders.

The values are raw (unescaped) text; `bot.render.templates` renders and escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from bot.render.customer_text import CustomerText, customer_clause, first_name, short_subject

CHANNELS: Final = ("email", "phone", "chat")
"""The channels a draft is written for; the policy resolves every case channel to one of them."""

TOUCH_KINDS: Final = (
    "check_in",
    "complaint_owner",
    "complaint_account_manager",
    "fix_held",
    "no_reply_nudge",
)
"""The shipped draft kinds; a team may add its own as `drafts/<channel>/<kind>.j2`."""

FLAG_MISSING_SUBJECT: Final = "missing_subject"
FLAG_MISSING_RESOLUTION: Final = "missing_resolution"
FLAG_GENERIC_TEMPLATE: Final = "generic_template"
FLAG_PLACEHOLDER: Final = "unfilled_placeholder"
FLAG_INTERNAL_NOTE: Final = "internal_note"
FLAG_MISSING_NEW_FIX: Final = "missing_new_fix"

CALLBACK_PLACEHOLDER: Final = "[your direct number]"
REVIEW_LINK_PLACEHOLDER: Final = "[review link]"
NAME_PLACEHOLDER: Final = "[your name]"
NEW_FIX_PLACEHOLDER: Final = "[the new fix, in a few words]"
PLACEHOLDERS: Final = {
    CALLBACK_PLACEHOLDER: (
        "Fill in your direct number where the draft says “[your direct number]”, or set it"
        " once with /followup profile."
    ),
    REVIEW_LINK_PLACEHOLDER: (
        "Fill in the team's review link where the draft says “[review link]”; a lead can set"
        " it with `followup teams set <team> --review-link URL`."
    ),
    NAME_PLACEHOLDER: (
        "Fill in your name where the draft says “[your name]”: your Slack profile has no"
        " display name."
    ),
    NEW_FIX_PLACEHOLDER: (
        "Say what was done this time where the draft says “[the new fix, in a few words]”:"
        " the lead marked the escalation handled without saying, and the draft will not guess."
    ),
}
"""Each text a draft shows when a setting is missing, and what the agent should put there."""

STORIES: Final = ("first", "no_reply", "after_escalation", "fix_held", "after_reopen")
"""What happened before a touch, which decides its wording: the first touch of the case, a
retry after no reply, the touch after a lead handled an escalation, the weeks-later "has it
held?" check, and the first touch after the customer reopened the case."""
SPEAKERS: Final = ("owner", "account_manager", "lead")
_KINDS: Final = ("complaint", "incident", "query", "request")

# Subjects some helpdesks fill in when the customer wrote none: as good as no subject.
_EMPTY_SUBJECTS: Final = frozenset({"", "no subject", "(no subject)", "[no subject]", "untitled"})


@dataclass(frozen=True)
class DraftContext:
    """Everything one draft needs: the case, the touch, the agent and the two asks.

    Text fields are raw (unescaped) outside text; the renderer escapes them once.
    """

    subject: str | None
    resolution: str | None
    customer_name: str | None
    company: str | None
    case_channel: str
    """How the customer reached us originally (bot.cases.Channel value)."""
    closed_at: datetime
    case_reference: str
    """Shown to the agent, e.g. "zendesk #48213"."""
    case_url: str | None
    touch_number: int
    template: str
    """The touch kind: check_in, complaint_owner, complaint_account_manager, fix_held, ..."""
    channel: str
    """The channel of this draft: email, phone or chat."""
    why_now: str
    agent_name: str
    """The person who sends the draft; it is written in their voice and signed by them."""
    review_invite: bool = False
    referral_ask: bool = False
    handled_by: str | None = None
    """The agent who closed the case, when someone else (an account manager) follows up."""
    team_name: str | None = None
    agent_phone: str | None = None
    """The agent's direct line; without it the draft carries a placeholder to fill in."""
    review_url: str | None = None
    case_kind: str = "query"
    """complaint, incident, query or request: chooses the reflective questions."""
    cycle: int = 1
    """2 and up: the customer reopened the case and it was closed again."""
    speaker: str = "owner"
    """The sender's role on this case: owner (a support agent), account_manager or lead."""
    escalated: bool = False
    """A lead handled an escalation of this cycle before this touch: the first fix failed."""
    new_fix: str | None = None
    """What the lead did this time (`Outcome.what_we_did`), when they said."""
    team_slug: str | None = None
    agent_signature: str | None = None


@dataclass(frozen=True)
class Draft:
    """A rendered draft. `subject` (email only) and `body` are already Slack-escaped.

    `flags` are machine names (missing_subject, missing_resolution, generic_template);
    `advice` says in plain words what the agent should add before sending.
    """

    channel: str
    template: str
    source: str
    subject: str | None
    body: str
    flags: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole draft as the agent copies it: the subject line first for an email."""
        if self.subject:
            return f"Subject: {self.subject}\n\n{self.body}"
        return self.body

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def draft_channel(case_channel: str) -> str:
    """The draft channel for a case channel: web forms get an email, social a chat message."""
    value = str(case_channel).lower()
    if value in CHANNELS:
        return value
    return "chat" if value == "social" else "email"


def draft_template_name(channel: str, kind: str) -> str:
    """The template file for a channel and touch kind, relative to the templates root."""
    return f"drafts/{channel}/{kind}.j2"


def story_of(ctx: DraftContext) -> str:
    """What happened before this touch (one of `STORIES`)."""
    if ctx.template == "fix_held":
        return "fix_held"
    if ctx.template == "no_reply_nudge":
        return "no_reply"
    if ctx.escalated:
        return "after_escalation"
    return "after_reopen" if ctx.cycle > 1 else "first"


def standing_fix(ctx: DraftContext) -> CustomerText | None:
    """The fix the customer has now, as customer text: after an escalation the lead's new one
    (never the one that failed), else the case's resolution."""
    return customer_clause(ctx.new_fix if ctx.escalated else ctx.resolution, ctx.customer_name)


def draft_variables(ctx: DraftContext) -> dict[str, Any]:
    """The variables every draft template sees (raw values; `finalize` escapes them)."""
    fix = standing_fix(ctx)
    story = story_of(ctx)
    team_name = _clean(ctx.team_name)
    if team_name and ctx.team_slug and team_name.lower() == ctx.team_slug.strip().lower():
        team_name = None  # the slug ("default") is no name to introduce yourself with
    agent_name = _clean(ctx.agent_name)
    return {
        "subject": short_subject(_clean_subject(ctx.subject)),
        "full_subject": _clean_subject(ctx.subject),
        "resolution": fix.text if fix else None,
        "fix_is_answer": bool(fix and fix.how_to),
        "new_fix_missing": ctx.escalated and fix is None,
        "new_fix_placeholder": NEW_FIX_PLACEHOLDER,
        "customer_name": _clean(ctx.customer_name),
        "first_name": first_name(ctx.customer_name),
        "company": _clean(ctx.company),
        "case_channel": str(ctx.case_channel),
        "case_kind": ctx.case_kind if ctx.case_kind in _KINDS else "query",
        "closed_on": _day(ctx.closed_at),
        "case_reference": ctx.case_reference,
        "touch_number": ctx.touch_number,
        "touch": ctx.template,
        "story": story,
        "escalated": ctx.escalated,
        "cycle": ctx.cycle,
        "speaker": ctx.speaker if ctx.speaker in SPEAKERS else "owner",
        "channel": ctx.channel,
        "why_now": ctx.why_now,
        "agent_name": agent_name or NAME_PLACEHOLDER,
        "agent_first_name": first_name(agent_name) or agent_name or NAME_PLACEHOLDER,
        "signature": _signature(ctx.agent_signature) or agent_name or NAME_PLACEHOLDER,
        "handled_by": _clean(ctx.handled_by),
        "team_name": team_name,
        "callback": _clean(ctx.agent_phone) or CALLBACK_PLACEHOLDER,
        "review_link": _clean(ctx.review_url) or REVIEW_LINK_PLACEHOLDER,
        "review_invite": ctx.review_invite,
        # Only once a good outcome is confirmed and nothing since said otherwise: never on
        # the "has it held?" touch, after an escalation, a reopen or a no-reply retry.
        "referral_ask": ctx.referral_ask and story == "first",
    }


# Synthetic cases: the first two differ in every fact, the third lacks the optional ones so that
# checks reach the "missing" branches of every template.
SAMPLE_CASES: Final = (
    DraftContext(
        subject="Invoice 2291 charged twice",
        resolution="Refunded the second charge and fixed the payment retry that caused it",
        customer_name="Alex Example",
        company="Sample Freight Ltd",
        case_channel="email",
        closed_at=datetime(2024, 3, 12, 15, 30, tzinfo=UTC),
        case_reference="generic #sample-1",
        case_url="https://helpdesk.example/cases/sample-1",
        touch_number=1,
        template="check_in",
        channel="email",
        why_now="72 hours after the case was closed",
        agent_name="Sam Sample",
        handled_by="Jo Sample",
        team_name="Sample Support",
    ),
    DraftContext(
        subject="Mobile app logs out every few minutes",
        resolution="Extended the session token lifetime and cleared the stale device record",
        customer_name="Robin Placeholder",
        company="Other Works GmbH",
        case_channel="phone",
        closed_at=datetime(2024, 6, 3, 9, 0, tzinfo=UTC),
        case_reference="generic #sample-2",
        case_url=None,
        touch_number=2,
        template="check_in",
        channel="email",
        why_now="second check-in, 30 days on",
        agent_name="Kim Tester",
        agent_phone="+44 20 7946 0000",
        review_url="https://reviews.example/sample",
    ),
    DraftContext(
        subject=None,
        resolution=None,
        customer_name=None,
        company=None,
        case_channel="chat",
        closed_at=datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        case_reference="generic #sample-3",
        case_url=None,
        touch_number=1,
        template="check_in",
        channel="email",
        why_now="48 hours after a query was closed",
        agent_name="Lee",
    ),
    # After a lead handled an escalation, with their new fix; a long subject, a third-person
    # note, an honorific, a team still named by its slug, and a lead standing in.
    DraftContext(
        subject=(
            "Single sign-on stopped working for the whole finance department after the"
            " identity provider certificate was rotated on Friday evening"
        ),
        resolution="Corrected the SAML audience URL in their tenant settings",
        customer_name="Mrs Adaeze Nwosu",
        company="Costa Logistics",
        case_channel="email",
        closed_at=datetime(2024, 5, 7, 14, 0, tzinfo=UTC),
        case_reference="generic #sample-4",
        case_url=None,
        touch_number=3,
        template="check_in",
        channel="email",
        why_now="a fresh check-in after an escalation was handled",
        agent_name="Grace Lead",
        team_name="default",
        team_slug="default",
        case_kind="complaint",
        speaker="lead",
        escalated=True,
        new_fix="Re-issued the certificate and walked them through re-linking their IdP",
    ),
    # After an escalation the lead handled without saying what was done this time.
    DraftContext(
        subject="Deliveries arrive hours late",
        resolution="Restarted the stuck webhook queue",
        customer_name="Noor",
        company=None,
        case_channel="chat",
        closed_at=datetime(2024, 8, 1, 12, 0, tzinfo=UTC),
        case_reference="generic #sample-5",
        case_url=None,
        touch_number=2,
        template="check_in",
        channel="chat",
        why_now="a fresh check-in after an escalation was handled",
        agent_name="Ada Agent",
        team_name="Sample Support",
        case_kind="incident",
        escalated=True,
    ),
    # Reopened and closed again; a how-to answer; the account manager with every setting.
    DraftContext(
        subject="How do I export last year's invoices?",
        resolution="walked them through Settings > Data > Export and the date filter.",
        customer_name="Dr. Chidi Okafor",
        company="Okafor & Sons",
        case_channel="phone",
        closed_at=datetime(2024, 9, 9, 9, 0, tzinfo=UTC),
        case_reference="generic #sample-6",
        case_url=None,
        touch_number=1,
        template="check_in",
        channel="phone",
        why_now="72 hours after the case was closed again",
        agent_name="Marco Manager",
        agent_phone="+39 06 0000 0000",
        agent_signature="Marco Manager\nAccount manager, Sample Support",
        review_url="https://reviews.example/sample",
        team_name="Sample Support",
        case_kind="query",
        cycle=2,
        speaker="account_manager",
    ),
)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def _clean_subject(value: str | None) -> str | None:
    text = _clean(value)
    if text is None or text.lower() in _EMPTY_SUBJECTS:
        return None
    return text


def _clean_resolution(value: str | None) -> str | None:
    """The resolution as customer text (see `bot.render.customer_text`)."""
    fix = customer_clause(value)
    return fix.text if fix else None


def _signature(value: str | None) -> str | None:
    if value is None:
        return None
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    return "\n".join(line for line in lines if line) or None


def _day(moment: datetime) -> str:
    """A date as people say it, in the time zone it carries: "Tuesday 12 March"."""
    return f"{moment:%A} {moment.day} {moment:%B}"
