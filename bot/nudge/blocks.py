"""Block Kit builders for the nudge DM: pure functions from follow-up data (and "now") to blocks.

Outside text (subjects, names, companies, outcome notes) is escaped here, once, as it goes into
a block; draft text arrives already escaped by the template renderer and is not escaped again.
Every text is shortened to Slack's limits and a message never has more than 50 blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.ids import ACTION_FOLLOWED_UP, ACTION_SKIP, ACTION_SNOOZE, COMMAND
from bot.render.drafts import Draft
from bot.slack.blocks_text import duration, mrkdwn_link, slack_date, split_text
from bot.slack.text import escape, escaped_short, shorten

MAX_BLOCKS: Final = 50
SECTION_TEXT_MAX: Final = 3000
CONTEXT_TEXT_MAX: Final = 2000
HEADER_TEXT_MAX: Final = 150
FALLBACK_TEXT_MAX: Final = 300
"""Notification text: Slack allows far more, but a notification shows one or two lines."""
ID_MAX: Final = 200

# A draft section holds a label line and a code block around one chunk of the draft; the margin
# leaves room for the fences and for clients that count characters differently (emoji).
_DRAFT_CHUNK: Final = 2800
_MAX_DRAFT_SECTIONS: Final = 8
_REST_LINES: Final = 15

OPEN_STATES: Final = frozenset({"due", "overdue", "snoozed", "planned", "claimed", "sent"})
"""States that still need the agent; any other state is finished and shows no buttons."""

_HEADLINES: Final = {
    "due": "Follow-up due",
    "overdue": "Follow-up overdue",
    "snoozed": "Follow-up snoozed",
    "done": "Followed up",
    "skipped": "Follow-up skipped",
    "escalated": "Escalated to a lead",
    "cancelled": "Follow-up cancelled",
    "missed": "Follow-up missed",
    "failed": "Follow-up not delivered",
}
_DRAFT_LABELS: Final = {
    "email": "Draft email",
    "phone": "Call script",
    "chat": "Draft chat message",
}


@dataclass(frozen=True)
class NudgeItem:
    """One follow-up as the agent's DM shows it. Text fields are raw (unescaped)."""

    follow_up_id: int | str
    source: str
    external_id: str
    subject: str | None
    customer_name: str | None
    company: str | None
    channel: str
    closed_at: datetime
    case_url: str | None
    why_now: str
    draft: Draft
    state: str
    due_at: datetime
    assignee: str | None = None
    handed_from: str | None = None
    """Who the follow-up was handed over from while they are away."""
    priority: int = 0
    """Higher comes first when several follow-ups share one message."""

    def __post_init__(self) -> None:
        if not 0 < len(str(self.follow_up_id)) <= ID_MAX:
            raise ValueError(f"follow_up_id must be 1 to {ID_MAX} characters")

    @property
    def key(self) -> str:
        return str(self.follow_up_id)

    @property
    def reference(self) -> str:
        """The case as people name it: "zendesk #48213"."""
        return f"{self.source} #{self.external_id}"


@dataclass(frozen=True)
class Message:
    """A message ready for chat.postMessage / chat.update: fallback `text` and `blocks`."""

    text: str
    blocks: list[Block]

    def to_dict(self) -> dict[str, Any]:
        """The payload fields; slack_sdk validates every block's limits here."""
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}


def nudge_message(items: Sequence[NudgeItem], now: datetime, cap: int = 5) -> Message:
    """The DM for the follow-ups due for one agent: one in full, or `cap` and a list of the rest."""
    unique = _by_priority(items)
    if not unique:
        raise ValueError("a nudge needs at least one follow-up")
    if len(unique) == 1:
        return _single(unique[0], now)
    return _several(unique, now, max(cap, 1))


def resolved_message(
    item: NudgeItem, outcome_text: str, now: datetime, referral: str | None = None
) -> Message:
    """The same DM after the follow-up's state changed; finished follow-ups lose their buttons.

    `outcome_text` is raw text (it may quote the customer) and is escaped here. `referral` is
    a rendered (already escaped) referral ask, offered once the customer confirmed it resolved.
    """
    recorded = SectionBlock(
        block_id=f"fu-{item.key}-outcome",
        text=MarkdownTextObject(text=_outcome_text(item, outcome_text, now)),
    )
    fallback = _fallback_one(item, f"{_headline(item.state)}: {outcome_text}")
    if item.state in OPEN_STATES:
        # Snoozed (or back to due): still open, so the draft and the buttons stay.
        single = _single(item, now)
        return Message(text=fallback, blocks=[*single.blocks[:2], recorded, *single.blocks[2:]])
    blocks: list[Block] = [
        _header(_headline(item.state), item.key),
        _summary(item, now),
        recorded,
    ]
    if referral and referral.strip():
        blocks.append(_referral_section(item, referral))
    blocks.append(_status_context(item, now))
    return Message(text=fallback, blocks=blocks)


def _referral_section(item: NudgeItem, referral: str) -> SectionBlock:
    """The moment DOMAIN.md names for a referral ask: the customer has just confirmed a good
    outcome. Offered to the agent as an optional next line, never sent on its own."""
    text = re.sub("`(?=`)", "`\u200b", referral.strip())
    head = "*They're happy with it: if it feels natural, a low-pressure introduction ask:*"
    body = f"{head}\n```\n{shorten(text, SECTION_TEXT_MAX - len(head) - 10)}\n```"
    return SectionBlock(block_id=f"fu-{item.key}-referral", text=MarkdownTextObject(text=body))


# --- one follow-up ---------------------------------------------------------------------------


def _single(item: NudgeItem, now: datetime) -> Message:
    fixed = 5 + (1 if item.draft.advice else 0)  # header, summary, actions, context, advice
    blocks: list[Block] = [
        _header(_headline(_live_state(item, now)), item.key),
        _summary(item, now),
    ]
    blocks += _draft_sections(item, min(_MAX_DRAFT_SECTIONS, MAX_BLOCKS - fixed))
    blocks += _item_tail(item, now)
    return Message(text=_fallback_one(item, _state_phrase(item, now)), blocks=blocks)


def _item_tail(item: NudgeItem, now: datetime) -> list[Block]:
    tail: list[Block] = []
    if item.draft.advice:
        tail.append(_advice(item))
    tail.append(_buttons(item))
    tail.append(_status_context(item, now))
    return tail


# --- several follow-ups (the attention budget) -----------------------------------------------


def _several(items: list[NudgeItem], now: datetime, cap: int) -> Message:
    shown = items[:cap]

    def base(item: NudgeItem) -> int:
        # divider, summary, one draft section, actions, status context, and advice when flagged
        return 5 + (1 if item.draft.advice else 0)

    def fixed(count: int) -> int:
        return 2 + (1 if count < len(items) else 0)  # header, intro, the rest

    while len(shown) > 1 and fixed(len(shown)) + sum(base(i) for i in shown) > MAX_BLOCKS:
        shown = shown[:-1]
    rest = items[len(shown) :]
    spare = MAX_BLOCKS - fixed(len(shown)) - sum(base(i) for i in shown)
    sections_each = min(_MAX_DRAFT_SECTIONS, 1 + spare // len(shown))

    title = f"{len(items)} follow-ups due"
    blocks: list[Block] = [
        HeaderBlock(block_id="fu-list-header", text=PlainTextObject(text=title)),
        ContextBlock(
            block_id="fu-list-intro",
            elements=[
                MarkdownTextObject(
                    text="Highest priority first, then the longest waiting."
                    " Each one has a draft ready to copy."
                )
            ],
        ),
    ]
    for item in shown:
        blocks.append(DividerBlock(block_id=f"fu-{item.key}-divider"))
        blocks.append(_summary(item, now))
        blocks += _draft_sections(item, sections_each)
        blocks += _item_tail(item, now)
    if rest:
        blocks.append(_rest_section(rest, now))
    subjects = ", ".join(f"“{item.subject or 'no subject'}”" for item in shown[:3])
    text = f"{len(items)} follow-ups due: {subjects}" + (" and more" if len(items) > 3 else "")
    return Message(text=escaped_short(text, FALLBACK_TEXT_MAX), blocks=blocks[:MAX_BLOCKS])


def _rest_section(rest: list[NudgeItem], now: datetime) -> SectionBlock:
    lines = [f"*{len(rest)} more due*, not shown here to keep this short:"]
    for item in rest[:_REST_LINES]:
        who = " · ".join(escaped_short(v, 80) for v in (item.customer_name, item.company) if v)
        subject = escaped_short(item.subject or "(no subject)", 120)
        lines.append(
            f"• {subject}" + (f" ({who})" if who else "") + f", {_state_phrase(item, now)}"
        )
    if len(rest) > _REST_LINES:
        lines.append(f"• …and {len(rest) - _REST_LINES} more")
    lines.append(f"See them all with `{COMMAND} due`.")
    return SectionBlock(
        block_id="fu-list-rest",
        text=MarkdownTextObject(text=shorten("\n".join(lines), SECTION_TEXT_MAX)),
    )


# --- parts ---------------------------------------------------------------------------------


def _header(text: str, key: str) -> HeaderBlock:
    return HeaderBlock(
        block_id=f"fu-{key}-header", text=PlainTextObject(text=shorten(text, HEADER_TEXT_MAX))
    )


def _summary(item: NudgeItem, now: datetime) -> SectionBlock:
    subject = escaped_short(item.subject, 300) if item.subject else "_(no subject)_"
    facts = [escaped_short(v, 150) for v in (item.customer_name, item.company) if v]
    facts.append(f"{escaped_short(item.channel, 20)} case closed {slack_date(item.closed_at)}")
    lines = [f"*{subject}*", " · ".join(facts)]
    link = mrkdwn_link(item.case_url, "open in helpdesk")
    lines.append(f"{escaped_short(item.reference, 150)}" + (f" · {link}" if link else ""))
    lines.append(f":calendar: *Why now:* {escaped_short(item.why_now, 300)}")
    if item.handed_from:
        lines.append(
            f":handshake: Handed over to you from {escaped_short(item.handed_from, 100)}"
            " while they are away."
        )
    return SectionBlock(
        block_id=f"fu-{item.key}-case",
        text=MarkdownTextObject(text=shorten("\n".join(lines), SECTION_TEXT_MAX)),
    )


def _draft_sections(item: NudgeItem, max_sections: int) -> list[Block]:
    draft = item.draft
    label = _DRAFT_LABELS.get(draft.channel, "Draft")
    text = draft.text if draft.text.strip() else "(the template produced no text)"
    # A run of backticks in the draft would close our code block early.
    text = re.sub("`(?=`)", "`\u200b", text)
    chunks = split_text(text, _DRAFT_CHUNK)
    cut = len(chunks) > max(max_sections, 1)
    if cut:
        chunks = chunks[: max(max_sections, 1)]
        chunks[-1] = shorten(chunks[-1], _DRAFT_CHUNK - 80)
    sections: list[Block] = []
    for index, chunk in enumerate(chunks):
        parts = []
        if index == 0:
            parts.append(f"*{label}*, yours to edit before you send it:")
        parts.append(f"```\n{chunk}\n```")
        if cut and index == len(chunks) - 1:
            parts.append("_The draft is too long to show in full; shorten it before sending._")
        sections.append(
            SectionBlock(
                block_id=f"fu-{item.key}-draft-{index}",
                text=MarkdownTextObject(text=shorten("\n".join(parts), SECTION_TEXT_MAX)),
            )
        )
    return sections


def _advice(item: NudgeItem) -> ContextBlock:
    lines = [":warning: *Before you send it:*"] + [f"• {escape(a)}" for a in item.draft.advice]
    return ContextBlock(
        block_id=f"fu-{item.key}-advice",
        elements=[MarkdownTextObject(text=shorten("\n".join(lines), CONTEXT_TEXT_MAX))],
    )


def _buttons(item: NudgeItem) -> ActionsBlock:
    value = item.key
    return ActionsBlock(
        block_id=f"fu-{item.key}-actions",
        elements=[
            ButtonElement(
                text="Followed up", action_id=ACTION_FOLLOWED_UP, value=value, style="primary"
            ),
            ButtonElement(text="Snooze", action_id=ACTION_SNOOZE, value=value),
            ButtonElement(text="Skip", action_id=ACTION_SKIP, value=value),
        ],
    )


def _status_context(item: NudgeItem, now: datetime) -> ContextBlock:
    phrase = _state_phrase(item, now)
    parts = [phrase[:1].upper() + phrase[1:], escaped_short(item.reference, 150)]
    if item.assignee:
        parts.append(f"for {escaped_short(item.assignee, 100)}")
    return ContextBlock(
        block_id=f"fu-{item.key}-status",
        elements=[MarkdownTextObject(text=shorten(" · ".join(parts), CONTEXT_TEXT_MAX))],
    )


def _outcome_text(item: NudgeItem, outcome_text: str, now: datetime) -> str:
    icon = {
        "done": ":white_check_mark:",
        "skipped": ":fast_forward:",
        "escalated": ":rotating_light:",
        "cancelled": ":leftwards_arrow_with_hook:",
        "snoozed": ":zzz:",
    }.get(item.state, ":memo:")
    head = f"{icon} *Recorded {slack_date(now)}:* "
    return head + escaped_short(outcome_text, SECTION_TEXT_MAX - len(head))


# --- time and text -------------------------------------------------------------------------


def _by_priority(items: Sequence[NudgeItem]) -> list[NudgeItem]:
    seen: set[str] = set()
    unique: list[NudgeItem] = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            unique.append(item)
    return sorted(unique, key=lambda i: (-i.priority, i.due_at, i.closed_at, i.key))


def _live_state(item: NudgeItem, now: datetime) -> str:
    if item.state == "due" and now - item.due_at >= timedelta(days=1):
        return "overdue"
    return item.state


def _headline(state: str) -> str:
    return _HEADLINES.get(state, state.replace("_", " ").capitalize() or "Follow-up")


def _state_phrase(item: NudgeItem, now: datetime) -> str:
    """Due or overdue, as the agent reads it: "due now", "overdue by 3 days", "snoozed until …"."""
    state = _live_state(item, now)
    if state == "snoozed":
        return f"snoozed until {slack_date(item.due_at)}"
    if state in ("due", "overdue"):
        late = now - item.due_at
        if late < timedelta(0):
            return f"due in {duration(-late)}"
        if state == "overdue" or late >= timedelta(days=1):
            return f"overdue by {duration(late)}"
        return "due now"
    return _headline(state).lower()


def _fallback_one(item: NudgeItem, status: str) -> str:
    who = " at ".join(v for v in (item.customer_name, item.company) if v) or "the customer"
    subject = f"“{item.subject}”" if item.subject else "their case"
    text = f"Follow up with {who} about {subject}: {status}"
    return escaped_short(" ".join(text.split()), FALLBACK_TEXT_MAX)
