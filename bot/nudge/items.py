"""From stored follow-ups to the DM an agent sees: drafts rendered, blocks built, kept current."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.cases import SOURCE_NAMES
from bot.deps import Deps
from bot.nudge.blocks import Message, NudgeItem, nudge_message, resolved_message
from bot.nudge.review_cap import decide_review_invites
from bot.render.drafts import Draft, DraftContext
from bot.slack.block_dicts import as_dict
from db import agents as agent_store
from db import followups as followup_store
from db import nudge_rows
from db import outcomes as outcome_store
from db import writebacks as writeback_store
from db.models import Outcome
from db.nudge_rows import EarlierFix, NudgeRow
from db.outcomes import first_confirmed_touches

log = logging.getLogger("followup.nudges")

FINISHED_TEXT = {
    "cancelled": "The case was reopened in the helpdesk, so this follow-up was cancelled.",
    "done": "Loop closed: the customer confirmed it's resolved.",
    "skipped": "Skipped.",
    "escalated": "Escalated: the resolution did not hold.",
    "escalation_handled": "Escalated, and handled by a lead; a fresh check-in is planned.",
    "no_reply": "No reply yet: one more gentle follow-up is planned.",
    "no_response": "Closed as no response after one more gentle try.",
    "failed": "Could not be delivered.",
}
HANDED_BACK_TEXT = (
    "Escalated, and handled by a lead; the case is back in the helpdesk, and its next "
    "close plans the check-in."
)
"""The handled text once the case was reopened in its helpdesk (by write-back or by hand):
the fresh check-in is the next cycle's first touch, not one planned here."""
UNHAPPY_TEXT = {
    "escalated": "Escalated: resolved, but the customer is unhappy with how it went.",
    "done": "Loop closed: resolved, and a lead took up how it went for the customer.",
}
"""What the DM says instead when the outcome was "resolved, but unhappy": the fix held."""


@dataclass(frozen=True)
class BuiltNudge:
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Lookups:
    """What drafting a batch of follow-ups needs beyond their rows, fetched once per batch."""

    confirmed: Mapping[tuple[int, int], int] = field(default_factory=dict)
    """(case, cycle) → the first touch at which the customer confirmed a good outcome."""
    names: Mapping[int, str] = field(default_factory=dict)
    """Agent id → name, for the agents touches were handed from."""
    escalations: Mapping[tuple[int, int], Sequence[EarlierFix]] = field(default_factory=dict)
    """(case, cycle) → its handled escalations, oldest first: the story before a touch."""

    @classmethod
    def of(cls, session: Session, rows: Sequence[NudgeRow]) -> Lookups:
        referral = {f.case_id for f in rows if f.referral_eligible}
        handed = {f.handed_from_id for f in rows if f.handed_from_id is not None}
        names: dict[int, str] = {}
        if handed:
            for agent in agent_store.by_ids(session, handed):
                name = agent.display_name or agent.slack_user_id
                names[agent.id] = f"{name} (no longer in Slack)" if agent.deactivated else name
        escalations: dict[tuple[int, int], list[EarlierFix]] = {}
        for fix in nudge_rows.handled_escalations(session, [f.case_id for f in rows]):
            escalations.setdefault((fix.case_id, fix.cycle), []).append(fix)
        return cls(first_confirmed_touches(session, referral), names, escalations)

    def escalation_before(self, row: NudgeRow) -> EarlierFix | None:
        """The latest escalation of this cycle a lead handled before this touch, if any."""
        earlier = [
            e for e in self.escalations.get((row.case_id, row.cycle), ()) if e.touch < row.touch
        ]
        return earlier[-1] if earlier else None

    def confirmed_earlier(self, row: NudgeRow) -> bool:
        first = self.confirmed.get((row.case_id, row.cycle))
        return first is not None and first < row.touch


def draft_context(row: NudgeRow, lookups: Lookups) -> DraftContext:
    """What the draft template sees for one follow-up: the case, its story so far (a handled
    escalation, a reopen), and the sender's own settings (name, phone, signature, team)."""
    handled_by = None
    if row.owner_id is not None and row.assignee_id is not None and row.owner_id != row.assignee_id:
        handled_by = row.owner_name
    escalation = lookups.escalation_before(row)
    return DraftContext(
        subject=row.subject,
        resolution=row.resolution,
        customer_name=row.customer_name,
        company=row.company,
        case_channel=row.case_channel,
        closed_at=row.closed_at,
        case_reference=row.reference,
        case_url=row.case_url,
        touch_number=row.touch,
        template=row.template,
        channel=row.channel,
        why_now=row.why,
        # Signed by the person who sends it: their display name, never a Slack id.
        agent_name=row.assignee_display or "",
        review_invite=row.review_offered,
        referral_ask=row.referral_eligible and lookups.confirmed_earlier(row),
        handled_by=handled_by,
        team_name=row.team_name,
        agent_phone=row.assignee_phone,
        review_url=row.team_review_link,
        case_kind=row.case_kind,
        cycle=row.cycle,
        speaker=speaker_of(row),
        escalated=escalation is not None,
        new_fix=escalation.what_we_did if escalation else None,
        team_slug=row.team_slug,
        agent_signature=row.assignee_signature,
    )


def speaker_of(row: NudgeRow) -> str:
    """The sender's role on this case, whatever the rule asked for: the case's account manager,
    else a lead, else the owner's role (a support agent), so a stand-in never claims the
    account manager's part."""
    if row.assignee_id is not None and row.assignee_id == row.account_manager_id:
        return "account_manager"
    if row.assignee_is_lead:
        return "lead"
    return "owner"


def nudge_item(
    deps: Deps,
    row: NudgeRow,
    now: datetime,
    lookups: Lookups,
    *,
    listed_only: bool = False,
) -> NudgeItem:
    """One follow-up as a message shows it. `listed_only`: it appears as a line in the list
    of the rest (subject and state), so its draft is not rendered."""
    draft = (
        Draft(channel=row.channel, template=row.template, source="", subject=None, body="")
        if listed_only
        else deps.renderer.render_draft(draft_context(row, lookups))
    )
    state = row.state
    if state == "planned" and row.snoozed_until and row.snoozed_until > now:
        state = "snoozed"
    elif state in ("claimed", "sent", "planned"):
        state = "overdue" if row.missed_at and now >= row.missed_at else "due"
    handed_from = lookups.names.get(row.handed_from_id) if row.handed_from_id else None
    return NudgeItem(
        follow_up_id=row.id,
        source=row.source,
        external_id=row.external_id,
        subject=row.subject,
        customer_name=row.customer_name,
        company=row.company,
        channel=row.case_channel,
        closed_at=row.closed_at,
        case_url=row.case_url,
        why_now=row.why,
        draft=draft,
        state=state,
        due_at=row.due_at,
        assignee=row.assignee_display,
        handed_from=handed_from,
        priority=row.priority,
    )


def queue_items(
    deps: Deps, rows: Sequence[NudgeRow], now: datetime, lookups: Lookups
) -> list[NudgeItem]:
    """Items for a queue (/followup due, App Home): drafts only for those shown in full.

    The message shows the first `batch_cap` (highest priority, then oldest) with their
    drafts and lists the rest by subject; drafts are rendered only for those shown, as
    rendering every open one is costly under load (docs/performance.md).
    """
    ordered = sorted(rows, key=lambda f: (-f.priority, f.due_at, f.closed_at, str(f.id)))
    cap = deps.policy.batch_cap
    return [nudge_item(deps, f, now, lookups, listed_only=i >= cap) for i, f in enumerate(ordered)]


def prepare_items(
    deps: Deps, session: Session, rows: Sequence[NudgeRow], now: datetime
) -> list[NudgeItem]:
    """The items of the DMs about to go out for these follow-ups (any number of agents): decides
    each review invitation and records it with each draft's specificity flags, in one statement.
    """
    lookups = Lookups.of(session, rows)
    items: list[NudgeItem] = []
    changes: list[dict[str, Any]] = []
    for row, offer in zip(rows, decide_review_invites(deps, session, rows, now), strict=True):
        row.review_offered = offer
        item = nudge_item(deps, row, now, lookups)
        changes.append({"b_id": row.id, "b_offered": offer, "b_flags": list(item.draft.flags)})
        items.append(item)
    followup_store.record_drafts(session, changes)
    return items


def nudge_dicts(items: Sequence[NudgeItem], now: datetime, cap: int) -> BuiltNudge:
    """One agent's DM from its items, as `chat.postMessage` takes it."""
    return _as_dicts(nudge_message(items, now, cap=cap))


def _as_dicts(message: Message) -> BuiltNudge:
    return BuiltNudge(message.text, [as_dict(block) for block in message.blocks])


def refresh_messages(deps: Deps, followup_ids: list[int]) -> None:
    """Update the DMs showing these follow-ups in place (chat.update) now, so no stale buttons
    stay: for what someone just did in Slack. Bulk changes queue theirs (bot/nudge/refresh.py)."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        rows = nudge_rows.by_ids(session, followup_ids)
        messages = {(f.slack_channel, f.slack_ts) for f in rows if f.slack_ts and f.slack_channel}
        built = {
            (channel, ts): current_message(
                deps, session, nudge_rows.of_message(session, channel, ts), now
            )
            for channel, ts in messages
            if channel is not None and ts is not None
        }
    # Slack is called after the transaction: on SQLite it holds the one writer's lock, and a
    # rate-limited chat.update may wait seconds.
    for (channel, ts), message in built.items():
        _update(deps, channel, ts, message)


def _update(deps: Deps, channel: str, ts: str, message: BuiltNudge) -> None:
    try:
        deps.client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
    except SlackApiError as error:
        log.warning("could not update DM %s/%s: %s", channel, ts, error.response.get("error"))


def message_at(
    deps: Deps, session: Session, channel: str, ts: str, now: datetime
) -> BuiltNudge | None:
    """The DM at (channel, ts) as it should read now; None when no follow-up shows it."""
    shown = nudge_rows.of_message(session, channel, ts)
    return current_message(deps, session, shown, now) if shown else None


def current_message(
    deps: Deps, session: Session, shown: list[NudgeRow], now: datetime
) -> BuiltNudge:
    """The DM showing `shown` (not empty), rendered from their state now."""
    lookups = Lookups.of(session, shown)
    open_rows = [f for f in shown if f.state not in FINISHED_TEXT]
    if len(shown) > 1 and open_rows:
        items = [nudge_item(deps, f, now, lookups) for f in open_rows]
        return nudge_dicts(items, now, deps.policy.batch_cap)
    item = nudge_item(deps, shown[0], now, lookups)
    outcome = outcome_store.for_followup(session, shown[0].id)
    text = outcome_text(session, shown[0], now, outcome) + writeback_warning(session, shown[0])
    referral = referral_offer(deps, shown[0], outcome, item)
    return _as_dicts(resolved_message(item, text, now, referral))


def referral_offer(
    deps: Deps, row: NudgeRow, outcome: Outcome | None, item: NudgeItem
) -> str | None:
    """The referral ask, rendered, when the customer has just confirmed the outcome is good on a
    case the policy makes eligible (../shared/DOMAIN.md: "offered only once the customer has
    confirmed the outcome is good"); None otherwise, or once the agent recorded asking."""
    if row.state != "done" or not row.referral_eligible:
        return None
    if outcome is None or outcome.result != "resolved" or outcome.referral_asked:
        return None
    variables = {"channel": item.draft.channel, "handled_by": None, "company": item.company}
    return deps.renderer.render("drafts/referral_ask.j2", variables)


def outcome_text(session: Session, row: NudgeRow, now: datetime, outcome: Outcome | None) -> str:
    """What the updated DM says was recorded (raw text: the builder escapes it); `outcome` is
    the row's, read once by the caller."""
    if row.state == "planned" and row.snoozed_until and row.snoozed_until > now:
        return "Snoozed: I'll bring it back at the time you picked."
    text = FINISHED_TEXT.get(row.state, "")
    if row.state == "escalation_handled" and row.handed_back:
        text = HANDED_BACK_TEXT
    if outcome is None:
        return text
    if outcome.result == "unhappy":
        text = UNHAPPY_TEXT.get(row.state, text)
    recorder = agent_store.by_slack_id(session, outcome.recorded_by)
    name = (recorder.display_name if recorder else None) or outcome.recorded_by
    who = f" Recorded by {name}."
    if outcome.skip_reason:
        return f"Skipped: {outcome.skip_reason}.{who}"
    said = f" They said: “{outcome.customer_said}”" if outcome.customer_said else ""
    return f"{text}{said}{who}"


def writeback_warning(session: Session, row: NudgeRow) -> str:
    """After a helpdesk write-back gave up: what did not reach the ticket, and the fix."""
    failed = writeback_store.failed_for_followups(session, [row.id]).get(row.id)
    if failed is None:
        return ""
    vendor = SOURCE_NAMES.get(failed.source, failed.source)
    retry = (
        f"ask whoever runs Followup to run `followup writeback retry {failed.id}` once the "
        "cause is fixed"
    )
    why = failed.last_error or "failed"
    if not failed.reopen:
        return (
            f" ⚠ The note for {vendor} ticket {failed.ticket} did not go through ({why}). "
            f"Add it there by hand, or {retry}."
        )
    # The note goes first: it may be on the ticket with only the reopen left undone.
    return (
        f" ⚠ Followup could not finish the note and reopen on {vendor} ticket "
        f"{failed.ticket} ({why}). Check the ticket: if the note is there (it ends "
        f"“Followup ref {failed.marker}”), only the reopen is left. Finish it by hand, or {retry}."
    )


def refresh_message_at(deps: Deps, channel: str, ts: str, followup_id: int) -> None:
    """Update one particular message (e.g. an earlier DM clicked after a snooze) in place."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        rows = nudge_rows.by_ids(session, [followup_id])
        if not rows:
            return
        message = current_message(deps, session, rows, now)
    _update(deps, channel, ts, message)
