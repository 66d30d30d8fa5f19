"""A lead marks an escalation handled; the post updates and a fresh check-in is planned."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.loop.access import Refused
from bot.loop.escalation import mark_escalation_handled
from bot.nudge.items import refresh_messages
from handlers.actions.common import OUT_OF_DATE, SLACK_CHANNEL, SLACK_TS, row_id, slack_id, tell


def handle_escalation_handled(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    ack()
    followup_id = row_id(action.get("value"))
    if followup_id is None:
        tell(body, client, respond, OUT_OF_DATE)
        return
    try:
        blocks = mark_escalation_handled(deps, followup_id, body["user"]["id"])
    except Refused as refused:
        tell(body, client, respond, str(refused))
        return
    refresh_messages(deps, [followup_id])  # the agent's DM says it was handled
    container = body.get("container") or {}
    channel = slack_id(container.get("channel_id"), SLACK_CHANNEL)
    ts = slack_id(container.get("message_ts"), SLACK_TS)
    if channel and ts:
        client.chat_update(
            channel=channel,
            ts=ts,
            text="Escalation handled",
            blocks=[b.to_dict() for b in blocks],
        )
