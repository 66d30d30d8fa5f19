"""From stored follow-ups to the DM an agent sees: drafts rendered, blocks built, kept current."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.blocks import Message, NudgeItem, nudge_message, resolved_message
from bot.deps import Deps
from bot.drafting import DraftContext
from db import followups as followup_store
from db.models import FollowUp

log = logging.getLogger("followup.nudges")

FINISHED_TEXT = {
    "cancelled": "The case was reopened in the helpdesk, so this follow-up was cancelled.",
    "done": "Loop closed.",
    "skipped": "Skipped.",
    "escalated": "Escalated: the resolution did not hold.",
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
        review_invite=followup.review_eligible,
        referral_ask=False,  # only after the customer confirmed a good outcome
        handled_by=handled_by,
        team_name=case.team.name if case.team else None,
    )


def nudge_item(deps: Deps, followup: FollowUp, now: datetime) -> NudgeItem:
    case = followup.case
    draft = deps.renderer.render_draft(draft_context(followup))
    state = followup.state
    if state in ("claimed", "sent", "planned"):
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


def _handed_from(followup: FollowUp) -> str | None:
    """Who an away hand-off came from, by name, for the DM's hand-off line."""
    from db.models import Agent

    session = Session.object_session(followup)
    if session is None or followup.handed_from_id is None:
        return None
    agent = session.get(Agent, followup.handed_from_id)
    return (agent.display_name or agent.slack_user_id) if agent else None


def build_nudge(deps: Deps, session: Session, rows: list[FollowUp], now: datetime) -> BuiltNudge:
    """The DM for these follow-ups (one agent's batch); records each draft's specificity flags."""
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
    if open_rows:
        return build_nudge_readonly(deps, open_rows, now)
    item = nudge_item(deps, shown[0], now)
    return _as_dicts(resolved_message(item, FINISHED_TEXT.get(shown[0].state, ""), now))


def build_nudge_readonly(deps: Deps, rows: list[FollowUp], now: datetime) -> BuiltNudge:
    items = [nudge_item(deps, f, now) for f in rows]
    return _as_dicts(nudge_message(items, now, cap=deps.policy.batch_cap))
