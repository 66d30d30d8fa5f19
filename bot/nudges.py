"""From stored follow-ups to the DM an agent sees: drafts rendered, blocks built, kept current."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks import Message, NudgeItem, nudge_message, resolved_message
from bot.deps import Deps
from bot.drafting import Draft, DraftContext
from db import followups as followup_store
from db.models import Agent, FollowUp, Outcome
from db.outcomes import confirmed_earlier, review_offered_since

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


def draft_context(followup: FollowUp) -> DraftContext:
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
        referral_ask=followup.referral_eligible and _confirmed_earlier(followup),
        handled_by=handled_by,
        team_name=case.team.name if case.team else None,
    )


def nudge_item(
    deps: Deps, followup: FollowUp, now: datetime, *, listed_only: bool = False
) -> NudgeItem:
    """One follow-up as a message shows it. `listed_only`: it appears as a line in the list
    of the rest (subject and state), so its draft is not rendered."""
    case = followup.case
    draft = (
        Draft(
            channel=followup.channel, template=followup.template, source="", subject=None, body=""
        )
        if listed_only
        else deps.renderer.render_draft(draft_context(followup))
    )
    state = followup.state
    if state == "planned" and followup.snoozed_until and followup.snoozed_until > now:
        state = "snoozed"
    elif state in ("claimed", "sent", "planned"):
        state = "overdue" if followup.missed_at and now >= followup.missed_at else "due"
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
        handed_from=_handed_from(followup),
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
    return [nudge_item(deps, f, now, listed_only=i >= cap) for i, f in enumerate(ordered)]


def _handed_from(followup: FollowUp) -> str | None:
    """Who an away hand-off came from, by name, for the DM's hand-off line."""
    session = Session.object_session(followup)
    if session is None or followup.handed_from_id is None:
        return None
    agent = session.get(Agent, followup.handed_from_id)
    return (agent.display_name or agent.slack_user_id) if agent else None


def _confirmed_earlier(followup: FollowUp) -> bool:
    session = Session.object_session(followup)
    return session is not None and confirmed_earlier(session, followup)


def decide_review_invite(deps: Deps, session: Session, followup: FollowUp, now: datetime) -> bool:
    """Offer a neutral public review invitation where the policy makes the case eligible, to
    one customer at most once per configured period. It never depends on how the case went:
    asking only the customers expected to be happy is review gating, which platforms forbid."""
    if not followup.review_eligible:
        return False
    email = followup.case.customer_email
    if not email:
        return True
    since = now - timedelta(days=deps.policy.review_once_per_days)
    return not review_offered_since(session, email, since, excluding=followup.id)


def build_nudge(deps: Deps, session: Session, rows: list[FollowUp], now: datetime) -> BuiltNudge:
    """The DM for these follow-ups (one agent's batch), as it goes out: decides each review
    invitation and records each draft's specificity flags."""
    for followup in rows:
        followup.review_offered = decide_review_invite(deps, session, followup, now)
        session.flush()
    items = [nudge_item(deps, f, now) for f in rows]
    for followup, item in zip(rows, items, strict=True):
        followup.draft_flags = list(item.draft.flags)
    message = nudge_message(items, now, cap=deps.policy.batch_cap)
    return _as_dicts(message)


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
    item = nudge_item(deps, shown[0], now)
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
    items = [nudge_item(deps, f, now) for f in rows]
    return _as_dicts(nudge_message(items, now, cap=deps.policy.batch_cap))
