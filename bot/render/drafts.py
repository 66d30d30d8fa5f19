"""Case-specific follow-up drafts: what one draft needs (`DraftContext`), what it is (`Draft`),
the variables its template sees, and the synthetic cases the specificity check renders.

The values are raw (unescaped) text; `bot.render.templates` renders and escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

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

CALLBACK_PLACEHOLDER: Final = "[your direct number]"
REVIEW_LINK_PLACEHOLDER: Final = "[review link]"

# Subjects some helpdesks fill in when the customer wrote none: as good as no subject.
_EMPTY_SUBJECTS: Final = frozenset({"", "no subject", "(no subject)", "[no subject]", "untitled"})
# A resolution that opens with a past-tense verb ("Refunded ...") reads better lower-cased after
# a colon ("What we did: refunded ..."); proper nouns and acronyms keep their capitals.
_IRREGULAR_PAST: Final = frozenset(
    {"reset", "set", "sent", "rebuilt", "made", "put", "rewrote", "gave", "found", "cut", "ran"}
)
_HONORIFICS: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})


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


def draft_variables(ctx: DraftContext) -> dict[str, Any]:
    """The variables every draft template sees (raw values; `finalize` escapes them)."""
    subject = _clean_subject(ctx.subject)
    resolution = _clean_resolution(ctx.resolution)
    return {
        "subject": subject,
        "resolution": resolution,
        "customer_name": _clean(ctx.customer_name),
        "first_name": _first_name(ctx.customer_name),
        "company": _clean(ctx.company),
        "case_channel": str(ctx.case_channel),
        "closed_on": _day(ctx.closed_at),
        "case_reference": ctx.case_reference,
        "touch_number": ctx.touch_number,
        "touch": ctx.template,
        "channel": ctx.channel,
        "why_now": ctx.why_now,
        "agent_name": ctx.agent_name.strip(),
        "agent_first_name": _first_name(ctx.agent_name) or ctx.agent_name.strip(),
        "handled_by": _clean(ctx.handled_by),
        "team_name": _clean(ctx.team_name),
        "callback": _clean(ctx.agent_phone) or CALLBACK_PLACEHOLDER,
        "review_link": _clean(ctx.review_url) or REVIEW_LINK_PLACEHOLDER,
        "review_invite": ctx.review_invite,
        "referral_ask": ctx.referral_ask,
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
    """The resolution as a clause: one line, no trailing full stop, a leading verb lower-cased."""
    text = _clean(value)
    if text is None:
        return None
    text = text.rstrip(" .;,")
    if not text:
        return None
    first, _, rest = text.partition(" ")
    looks_like_verb = first.lower().endswith("ed") or first.lower() in _IRREGULAR_PAST
    if looks_like_verb and first[:1].isupper() and first[1:].islower():
        text = first.lower() + (" " + rest if rest else "")
    return text


def _first_name(full_name: str | None) -> str | None:
    words = (_clean(full_name) or "").split(" ")
    words = [w for w in words if w]
    if not words:
        return None
    if words[0].lower().rstrip(".") in _HONORIFICS:
        return " ".join(words)
    return words[0]


def _day(moment: datetime) -> str:
    """A date as people say it, in the time zone it carries: "Tuesday 12 March"."""
    return f"{moment:%A} {moment.day} {moment:%B}"
