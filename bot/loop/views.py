"""Pure Block Kit builders for recording outcomes: the modals and the escalation post."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.slack.text import escaped_short

RESULTS: dict[str, str] = {
    "resolved": "Customer confirmed it's resolved",
    "not_resolved": "Still not right",
    "unhappy": "Resolved, but unhappy with how it went",
    "no_reply": "No reply yet",
    "unreachable": "Could not reach them",
}
ASKS: dict[str, str] = {
    "review_asked": "Asked for an honest public review",
    "review_given": "They left a review",
    "referral_asked": "Asked for an introduction or referral",
    "referral_given": "They made an introduction",
}
SNOOZES: dict[str, str] = {
    "later_today": "Later today (in 3 working hours)",
    "next_morning": "Next working morning",
    "next_day": "Next working day",
    "three_days": "In 3 days",
    "pick_date": "On a date I pick below",
}
ESCALATING = ("not_resolved", "unhappy")
"""Results that go to the lead at once. Only "not_resolved" means the fix did not hold: after
"unhappy" the fix stands, so the lead's "Handled" plans no fresh check-in."""
SAID_LIMIT = 500
INSIGHT_LIMIT = 500
REASON_LIMIT = 300
DID_LIMIT = 1000


@dataclass(frozen=True)
class ModalCase:
    """What a modal shows of the case (raw text; escaped here)."""

    followup_id: int
    reference: str
    subject: str
    customer: str | None
    review_eligible: bool
    referral_eligible: bool


@dataclass(frozen=True)
class ModalMeta:
    """What a modal carries in its private_metadata (ids only): which follow-up, and which
    message to refresh afterwards; `surface` is where the button was (dm, home, command)."""

    followup_id: int
    channel: str | None = None
    ts: str | None = None
    surface: str = "modal"


def metadata(meta: ModalMeta) -> str:
    """private_metadata as the modal carries it (handlers/views/outcome.py reads it back)."""
    return json.dumps({"f": meta.followup_id, "c": meta.channel, "t": meta.ts, "s": meta.surface})


@dataclass(frozen=True)
class OutcomeForm:
    """The "Followed up" modal as submitted: each value as chosen, or None when left empty."""

    result: str | None
    said: str | None
    cause: str | None
    asks: frozenset[str] = frozenset()
    insight: str | None = None


@dataclass(frozen=True)
class SkipForm:
    """The "Skip" modal as submitted."""

    reason: str


@dataclass(frozen=True)
class SnoozeForm:
    """The "Snooze" modal as submitted: the option, and the date for "pick a date"."""

    option: str | None
    picked: date | None


def _case_section(case: ModalCase) -> SectionBlock:
    who = f" · {escaped_short(case.customer, 100)}" if case.customer else ""
    return SectionBlock(
        text=MarkdownTextObject(
            text=f"*{escaped_short(case.subject, 300)}*\n{escaped_short(case.reference, 100)}{who}"
        )
    )


def outcome_modal(case: ModalCase, root_causes: list[str], private_metadata: str) -> View:
    """ "Followed up": how it went, what the customer said, why it happened, the asks."""
    blocks: list[Block] = [
        _case_section(case),
        InputBlock(
            block_id=ids.OUTCOME_RESULT,
            label="How did it go?",
            element=RadioButtonsElement(
                action_id=ids.OUTCOME_RESULT_INPUT,
                options=[Option(value=k, text=v) for k, v in RESULTS.items()],
            ),
        ),
        InputBlock(
            block_id=ids.OUTCOME_SAID,
            label="What the customer said",
            optional=True,
            hint="Their words, thanks included, as they said them.",
            element=PlainTextInputElement(
                action_id=ids.OUTCOME_SAID_INPUT, multiline=True, max_length=SAID_LIMIT
            ),
        ),
        InputBlock(
            block_id=ids.OUTCOME_INSIGHT,
            label="What we should change",
            optional=True,
            hint="Your lesson for the team, not a thanks: what would have prevented this "
            "case or made it easier. The weekly digest quotes it.",
            element=PlainTextInputElement(
                action_id=ids.OUTCOME_INSIGHT_INPUT, multiline=True, max_length=INSIGHT_LIMIT
            ),
        ),
    ]
    if root_causes:
        blocks.append(
            InputBlock(
                block_id=ids.OUTCOME_CAUSE,
                label="Root cause",
                optional=True,
                element=StaticSelectElement(
                    action_id=ids.OUTCOME_CAUSE_INPUT,
                    placeholder="Why did this case happen?",
                    options=[Option(value=c[:75], text=c[:75]) for c in root_causes[:100]],
                ),
            )
        )
    asks = [
        k
        for k in ASKS
        if (k.startswith("review") and case.review_eligible)
        or (k.startswith("referral") and case.referral_eligible)
    ]
    if asks:
        blocks.append(
            InputBlock(
                block_id=ids.OUTCOME_ASKS,
                label="Reviews and referrals",
                optional=True,
                hint="A referral is only for a customer who confirmed it's resolved.",
                element=CheckboxesElement(
                    action_id=ids.OUTCOME_ASKS_INPUT,
                    options=[Option(value=k, text=ASKS[k]) for k in asks],
                ),
            )
        )
    return View(
        type="modal",
        callback_id=ids.VIEW_OUTCOME,
        title="Record the follow-up",
        submit="Save",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )


def skip_modal(case: ModalCase, private_metadata: str) -> View:
    """ "Skip": a reason is required, so the digest can tell skipped from forgotten."""
    return View(
        type="modal",
        callback_id=ids.VIEW_SKIP,
        title="Skip this follow-up",
        submit="Skip",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            _case_section(case),
            InputBlock(
                block_id=ids.SKIP_REASON,
                label="Why skip it?",
                element=PlainTextInputElement(
                    action_id=ids.SKIP_REASON_INPUT,
                    multiline=True,
                    min_length=3,
                    max_length=REASON_LIMIT,
                ),
            ),
        ],
    )


def snooze_modal(case: ModalCase, private_metadata: str, today: date) -> View:
    """ "Snooze": every option lands inside the agent's working hours."""
    return View(
        type="modal",
        callback_id=ids.VIEW_SNOOZE,
        title="Snooze",
        submit="Snooze",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            _case_section(case),
            InputBlock(
                block_id=ids.SNOOZE_WHEN,
                label="Remind me",
                element=RadioButtonsElement(
                    action_id=ids.SNOOZE_WHEN_INPUT,
                    options=[Option(value=k, text=v) for k, v in SNOOZES.items()],
                    initial_option=Option(value="next_morning", text=SNOOZES["next_morning"]),
                ),
            ),
            InputBlock(
                block_id=ids.SNOOZE_DATE,
                label="Date",
                optional=True,
                element=DatePickerElement(
                    action_id=ids.SNOOZE_DATE_INPUT, initial_date=today.isoformat()
                ),
            ),
        ],
    )


def escalation_blocks(
    *,
    followup_id: int,
    reference: str,
    subject: str,
    customer: str | None,
    customer_said: str | None,
    agent_id: str,
    lead_id: str | None,
    permalink: str | None,
    handled_by: str | None = None,
    result: str = "not_resolved",
    what_we_did: str | None = None,
    next_step: str | None = None,
) -> list[Block]:
    """The post in the escalation channel: the case, the customer's words, who to ping; once
    handled, what the lead did this time."""
    lead = f"<@{lead_id}> " if lead_id else ""
    who = f" ({escaped_short(customer, 100)})" if customer else ""
    said = escaped_short(customer_said, 1500) if customer_said else "_nothing recorded_"
    link = f" · <{permalink}|the follow-up DM>" if permalink else ""
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"esc-{followup_id}",
            text=MarkdownTextObject(
                text=f":rotating_light: {lead}{ESCALATION_HEADLINES.get(result, HEADLINE)}\n"
                f"*{escaped_short(subject, 300)}*{who}\n"
                f"{escaped_short(reference, 100)} · followed up by <@{agent_id}>{link}"
            ),
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*What the customer said*\n>{said}")),
    ]
    if handled_by:
        blocks.extend(_handled_blocks(handled_by, what_we_did, next_step or next_step_text(result)))
    else:
        blocks.append(
            ActionsBlock(
                block_id=f"esc-actions-{followup_id}",
                elements=[
                    ButtonElement(
                        text="Handled",
                        action_id=ids.ACTION_ESCALATION_HANDLED,
                        value=str(followup_id),
                        style="primary",
                    ),
                ],
            )
        )
    return blocks


HEADLINE = "a resolution did not hold."
ESCALATION_HEADLINES: dict[str, str] = {
    "not_resolved": HEADLINE,
    "unhappy": "resolved, but the customer is unhappy with how it went.",
}


def next_step_text(result: str, *, handed_back: bool = False, reopen_underway: bool = False) -> str:
    """What follows a handled escalation, as the escalation post says it."""
    if result != "not_resolved":
        return "the fix stands."
    if handed_back:
        return "the case is back in the helpdesk; its next close plans the check-in."
    if reopen_underway:
        return (
            "a fresh check-in is planned, unless the helpdesk takes the case back (its reopen "
            "is on its way)."
        )
    return "a fresh check-in is planned."


def _handled_blocks(handled_by: str, what_we_did: str | None, next_step: str) -> list[Block]:
    blocks: list[Block] = []
    if what_we_did:
        text = f"*What we did this time*\n>{escaped_short(what_we_did, 1500)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f":white_check_mark: Handled by <@{handled_by}>; {next_step}"
                )
            ]
        )
    )
    return blocks


@dataclass(frozen=True)
class HandledMeta:
    """The "Handled" modal's private_metadata: the escalated follow-up and the channel post
    to update once it is handled (ids only)."""

    followup_id: int
    channel: str | None = None
    ts: str | None = None


def handled_metadata(meta: HandledMeta) -> str:
    return json.dumps({"f": meta.followup_id, "c": meta.channel, "t": meta.ts})


def handled_modal(case: ModalCase, result: str, private_metadata: str) -> View:
    """The lead's "Handled": what was done this time (optional but encouraged), which the
    customer's next check-in states as the new fix."""
    if result == "not_resolved":
        hint = (
            "The customer's fresh check-in says this as the new fix, so write it as you would "
            'to them, e.g. "refunded the second charge and corrected the December invoice".'
        )
    else:
        hint = "What you did about how it went, e.g. an apology call; the fix itself stands."
    return View(
        type="modal",
        callback_id=ids.VIEW_ESCALATION_HANDLED,
        title="Escalation handled",
        submit="Handled",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            _case_section(case),
            InputBlock(
                block_id=ids.HANDLED_DID,
                label="What did you do this time?",
                optional=True,
                hint=hint,
                element=PlainTextInputElement(
                    action_id=ids.HANDLED_DID_INPUT, multiline=True, max_length=DID_LIMIT
                ),
            ),
        ],
    )
