"""From stored follow-ups to the DM an agent sees: drafts rendered, blocks built, kept current."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.blocks import Message, NudgeItem, nudge_message, resolved_message
from bot.deps import Deps
from bot.drafting import Draft, DraftContext
from db import followups as followup_store
from db.models import Agent, FollowUp, Outcome
from db.outcomes import customers_invited_to_review_since, first_confirmed_touches

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

    @classmethod
    def of(cls, session: Session, rows: Sequence[FollowUp]) -> Lookups:
        referral = {f.case_id for f in rows if f.referral_eligible}
        handed = {f.handed_from_id for f in rows if f.handed_from_id is not None}
        names: dict[int, str] = {}
        if handed:
            for agent in session.scalars(select(Agent).where(Agent.id.in_(handed))):
                names[agent.id] = agent.display_name or agent.slack_user_id
        return cls(first_confirmed_touches(session, referral), names)

    def confirmed_earlier(self, followup: FollowUp) -> bool:
        first = self.confirmed.get((followup.case_id, followup.cycle))
        return first is not None and first < followup.touch


def draft_context(followup: FollowUp, lookups: Lookups) -> DraftContext:
    """What the draft template sees for one follow-up."""
    case = followup.case
    assignee = followup.assignee
    owner = case.owner
    # The draft is signed by the person who sends it; their Slack name until we know better.
    agent_name = (assignee.display_name or assignee.slack_user_id) if assignee else "the team"
    handled_by = None
    if owner is not None and assignee is not None and owner.id != assignee.id:
        handled_by = owner.display_name
    return DraftContext(
        subject=case.subject,
        resolution=case.resolution,
        customer_name=case.customer_name,
        company=case.company,
        case_channel=case.channel,
        closed_at=case.closed_at,
        case_reference=f"{case.source} #{case.external_id}",
        case_url=case.url,
        touch_number=followup.touch,
        template=followup.template,
        channel=followup.channel,
        why_now=followup.why,
        agent_name=agent_name,
        review_invite=followup.review_offered,
        referral_ask=followup.referral_eligible and lookups.confirmed_earlier(followup),
        handled_by=handled_by,
        team_name=case.team.name if case.team else None,
    )


def nudge_item(
    deps: Deps,
    followup: FollowUp,
    now: datetime,
    lookups: Lookups,
    *,
    listed_only: bool = False,
) -> NudgeItem:
    """One follow-up as a message shows it. `listed_only`: it appears as a line in the list
    of the rest (subject and state), so its draft is not rendered."""
    case = followup.case
    draft = (
        Draft(
            channel=followup.channel, template=followup.template, source="", subject=None, body=""
        )
        if listed_only
        else deps.renderer.render_draft(draft_context(followup, lookups))
    )
    state = followup.state
    if state == "planned" and followup.snoozed_until and followup.snoozed_until > now:
        state = "snoozed"
    elif state in ("claimed", "sent", "planned"):
        state = "overdue" if followup.missed_at and now >= followup.missed_at else "due"
    handed_from = (
        lookups.names.get(followup.handed_from_id) if followup.handed_from_id is not None else None
    )
    return NudgeItem(
        follow_up_id=followup.id,
        source=case.source,
        external_id=case.external_id,
        subject=case.subject,
        customer_name=case.customer_name,
        company=case.company,
        channel=case.channel,
        closed_at=case.closed_at,
        case_url=case.url,
        why_now=followup.why,
        draft=draft,
        state=state,
        due_at=followup.due_at,
        assignee=followup.assignee.display_name if followup.assignee else None,
        handed_from=handed_from,
        priority=followup.priority,
    )


def queue_items(deps: Deps, rows: list[FollowUp], now: datetime) -> list[NudgeItem]:
    """Items for a queue (/followup due, App Home): drafts only for those shown in full.

    The message shows the first `batch_cap` (highest priority, then oldest) with their
    drafts and lists the rest by subject; rendering two hundred drafts to show five made
    `/followup due` cost ~35 ms of CPU per request under load (bench_slack).
    """
    ordered = sorted(rows, key=lambda f: (-f.priority, f.due_at, f.case.closed_at, str(f.id)))
    cap = deps.policy.batch_cap
    session = Session.object_session(rows[0]) if rows else None
    lookups = Lookups.of(session, ordered[:cap]) if session is not None else Lookups()
    return [nudge_item(deps, f, now, lookups, listed_only=i >= cap) for i, f in enumerate(ordered)]


def decide_review_invites(
    deps: Deps, session: Session, rows: Sequence[FollowUp], now: datetime
) -> list[bool]:
    """For each follow-up about to go out: does its draft carry a neutral public review
    invitation? Where the policy makes the case eligible, one customer is invited at most once
    per configured period (one batch included). It never depends on how the case went: asking
    only the customers expected to be happy is review gating, which platforms forbid."""
    since = now - timedelta(days=deps.policy.review_once_per_days)
    emails = {f.case.customer_email for f in rows if f.review_eligible and f.case.customer_email}
    invited = customers_invited_to_review_since(session, emails, since, [f.id for f in rows])
    decisions: list[bool] = []
    for followup in rows:
        email = followup.case.customer_email
        offer = followup.review_eligible and (not email or email not in invited)
        if offer and email:
            invited.add(email)
        decisions.append(offer)
    return decisions


def prepare_items(
    deps: Deps, session: Session, rows: Sequence[FollowUp], now: datetime
) -> list[NudgeItem]:
    """The items of the DMs about to go out for these follow-ups (any number of agents): decides
    each review invitation and records it with each draft's specificity flags, in one statement.

    The rows need their case (with team and owner) and assignee loaded.
    """
    lookups = Lookups.of(session, rows)
    items: list[NudgeItem] = []
    changes: list[dict[str, Any]] = []
    for followup, offer in zip(rows, decide_review_invites(deps, session, rows, now), strict=True):
        set_committed_value(followup, "review_offered", offer)
        item = nudge_item(deps, followup, now, lookups)
        flags = list(item.draft.flags)
        set_committed_value(followup, "draft_flags", flags)
        changes.append({"b_id": followup.id, "b_offered": offer, "b_flags": flags})
        items.append(item)
    followup_store.record_drafts(session, changes)
    return items


def build_nudge(deps: Deps, session: Session, rows: list[FollowUp], now: datetime) -> BuiltNudge:
    """The DM for these follow-ups (one agent's batch), as it goes out."""
    return nudge_dicts(prepare_items(deps, session, rows, now), now, deps.policy.batch_cap)


def nudge_dicts(items: Sequence[NudgeItem], now: datetime, cap: int) -> BuiltNudge:
    """One agent's DM from its items, as `chat.postMessage` takes it."""
    return _as_dicts(nudge_message(items, now, cap=cap))


def _as_dicts(message: Message) -> BuiltNudge:
    return BuiltNudge(message.text, [block.to_dict() for block in message.blocks])


def refresh_messages(deps: Deps, followup_ids: list[int]) -> None:
    """Update the DMs showing these follow-ups in place (chat.update), so no stale buttons stay."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        rows = followup_store.by_ids(session, followup_ids)
        messages = {(f.slack_channel, f.slack_ts) for f in rows if f.slack_ts and f.slack_channel}
        for channel, ts in messages:
            assert channel is not None and ts is not None
            shown = followup_store.by_message(session, channel, ts)
            built = _current_message(deps, shown, now)
            try:
                deps.client.chat_update(
                    channel=channel, ts=ts, text=built.text, blocks=built.blocks
                )
            except SlackApiError as error:
                log.warning(
                    "could not update DM %s/%s: %s", channel, ts, error.response.get("error")
                )


def _current_message(deps: Deps, shown: list[FollowUp], now: datetime) -> BuiltNudge:
    open_rows = [f for f in shown if f.state not in FINISHED_TEXT]
    if len(shown) > 1 and open_rows:
        return build_nudge_readonly(deps, open_rows, now)
    item = nudge_item(deps, shown[0], now, _lookups(shown))
    return _as_dicts(resolved_message(item, outcome_text(shown[0], now), now))


def outcome_text(followup: FollowUp, now: datetime) -> str:
    """What the updated DM says was recorded (raw text: the builder escapes it)."""
    if followup.state == "planned" and followup.snoozed_until and followup.snoozed_until > now:
        return "Snoozed: I'll bring it back at the time you picked."
    text = FINISHED_TEXT.get(followup.state, "")
    session = Session.object_session(followup)
    if session is None:
        return text
    outcome = session.scalar(select(Outcome).where(Outcome.follow_up_id == followup.id))
    if outcome is None:
        return text
    recorder = session.scalar(select(Agent).where(Agent.slack_user_id == outcome.recorded_by))
    name = (recorder.display_name if recorder else None) or outcome.recorded_by
    who = f" Recorded by {name}."
    if outcome.skip_reason:
        return f"Skipped: {outcome.skip_reason}.{who}"
    said = f" They said: “{outcome.customer_said}”" if outcome.customer_said else ""
    return f"{text}{said}{who}"


def refresh_message_at(deps: Deps, channel: str, ts: str, followup_id: int) -> None:
    """Update one particular message (e.g. an earlier DM clicked after a snooze) in place."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        rows = followup_store.by_ids(session, [followup_id])
        if not rows:
            return
        built = _current_message(deps, rows, now)
        try:
            deps.client.chat_update(channel=channel, ts=ts, text=built.text, blocks=built.blocks)
        except SlackApiError as error:
            log.warning("could not update DM %s/%s: %s", channel, ts, error.response.get("error"))


def build_nudge_readonly(deps: Deps, rows: list[FollowUp], now: datetime) -> BuiltNudge:
    lookups = _lookups(rows)
    items = [nudge_item(deps, f, now, lookups) for f in rows]
    return _as_dicts(nudge_message(items, now, cap=deps.policy.batch_cap))


def _lookups(rows: Sequence[FollowUp]) -> Lookups:
    session = Session.object_session(rows[0]) if rows else None
    return Lookups.of(session, rows) if session is not None else Lookups()
