"""A lead clicks "Handled" on an escalation: the modal asking what was done this time opens at
once (handlers/views/escalation_handled.py records it)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.loop.access import Refused
from bot.loop.escalation import handled_modal_for
from bot.loop.views import HandledMeta
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
    container = body.get("container") or {}
    meta = HandledMeta(
        followup_id,
        slack_id(container.get("channel_id"), SLACK_CHANNEL),
        slack_id(container.get("message_ts"), SLACK_TS),
    )
    try:
        view = handled_modal_for(deps, meta, body["user"]["id"])
    except Refused as refused:
        tell(body, client, respond, str(refused))
        return
    # trigger_id lives about 3 seconds: the modal is built from our own tables, no Slack calls.
    client.views_open(trigger_id=body["trigger_id"], view=view)
