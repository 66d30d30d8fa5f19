"""Cases whose owner cannot be found: never dropped, posted to the triage channel to assign."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
    UserSelectElement,
)

from bot import ids
from bot.deps import Deps
from bot.slack.text import escaped_short
from db import cases as store
from db import followups as followup_store
from db.models import FollowUp

log = logging.getLogger("followup.triage")


def triage_blocks(
    followup_id: int,
    reference: str,
    subject: str,
    owner_hint: str | None,
    assigned_to: str | None = None,
) -> list[Block]:
    """The triage post: the case, why it is here, and a user picker (or who took it)."""
    hint = (
        f" The helpdesk named *{escaped_short(owner_hint, 200)}*, who is not in Slack."
        if owner_hint
        else ""
    )
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"triage-{followup_id}",
            text=MarkdownTextObject(
                text=f"*{escaped_short(subject, 500)}* ({escaped_short(reference, 200)})\n"
                f"A follow-up is due but I could not tell who should do it.{hint}"
            ),
        )
    ]
    if assigned_to:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Assigned to <@{assigned_to}>.")])
        )
    else:
        blocks.append(
            ActionsBlock(
                block_id=f"{ids.TRIAGE_ASSIGN_BLOCK_PREFIX}{followup_id}",
                elements=[
                    UserSelectElement(
                        action_id=ids.ACTION_TRIAGE_ASSIGN, placeholder="Who should follow up?"
                    )
                ],
            )
        )
    return blocks


def send_to_triage(deps: Deps, followup_id: int) -> None:
    """Post an unassignable follow-up to TRIAGE_CHANNEL (it stays in state `triage`)."""
    channel = deps.settings.triage_channel
    with deps.session_factory() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        case = followup.case
        reference = f"{case.source} #{case.external_id}"
        subject, hint = case.subject, case.owner_email or case.owner_external_id
    if channel is None:
        log.warning("follow-up %s has no owner and TRIAGE_CHANNEL is not set", followup_id)
        return
    blocks = triage_blocks(followup_id, reference, subject, hint)
    try:
        response = deps.client.chat_postMessage(
            channel=channel,
            text=f"Unassigned follow-up: {escaped_short(subject, 200)}",
            blocks=[b.to_dict() for b in blocks],
        )
    except SlackApiError as error:
        log.warning("could not post to triage: %s", error.response.get("error"))
        return
    with deps.session_factory.begin() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        followup.slack_channel, followup.slack_ts = response["channel"], response["ts"]


def assign_from_triage(deps: Deps, followup_id: int, slack_user_id: str, actor: str) -> bool:
    """Give a triaged follow-up to `slack_user_id`; it becomes due now. False if already taken."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = session.get(FollowUp, followup_id, with_for_update=True)
        if followup is None or followup.state != "triage":
            return False
        agent = store.agent_by_slack_id(session, slack_user_id, now, followup.case.team_id)
        followup_store.set_assignee(session, [followup_id], agent)
        channel, ts = followup.slack_channel, followup.slack_ts
        reference = f"{followup.case.source} #{followup.case.external_id}"
        subject = followup.case.subject
        followup.state, followup.due_at = "planned", now
        followup.slack_channel = followup.slack_ts = None
        followup.updated_at = now
        store.audit(
            session,
            at=now,
            actor=actor,
            surface="triage",
            entity="follow_up",
            entity_id=followup_id,
            action="assigned",
            detail={"to": slack_user_id},
        )
    if channel and ts:
        blocks = triage_blocks(followup_id, reference, subject, None, assigned_to=slack_user_id)
        try:
            deps.client.chat_update(
                channel=channel,
                ts=ts,
                text=f"Assigned: {escaped_short(subject, 100)}",
                blocks=[b.to_dict() for b in blocks],
            )
        except SlackApiError as error:
            log.warning("could not update the triage post: %s", error.response.get("error"))
    return True
