"""A lead marks an escalation handled; the post updates and a fresh check-in is planned."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.escalation import mark_escalation_handled
from bot.nudges import refresh_messages
from bot.outcomes import Refused


def handle_escalation_handled(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    ack()
    try:
        blocks = mark_escalation_handled(deps, int(action["value"]), body["user"]["id"])
    except Refused as refused:
        respond(text=str(refused), response_type="ephemeral", replace_original=False)
        return
    refresh_messages(deps, [int(action["value"])])  # the agent's DM says it was handled
    container = body.get("container") or {}
    client.chat_update(
        channel=container["channel_id"],
        ts=container["message_ts"],
        text="Escalation handled",
        blocks=[b.to_dict() for b in blocks],
    )
