"""The lead's "Handled" modal submitted: record what was done this time (bot/loop/escalation.py),
then bring the escalation post and the agent's DM up to date."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.deps import Deps
from bot.loop.access import Refused
from bot.loop.escalation import mark_escalation_handled
from bot.loop.views import DID_LIMIT
from bot.nudge.items import refresh_messages
from handlers.actions.common import SLACK_CHANNEL, SLACK_TS, row_id, slack_id
from handlers.views import common


def read_did(values: dict[str, Any]) -> str | None:
    """What the lead typed into "What did you do this time?", or None when left empty."""
    element = (values.get(ids.HANDLED_DID) or {}).get(ids.HANDLED_DID_INPUT) or {}
    return (element.get("value") or "").strip() or None


def handle_handled_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    meta = common.metadata(view) or {}
    followup_id = row_id(meta.get("f"))
    if followup_id is None:
        ack(response_action="errors", errors={ids.HANDLED_DID: common.OUT_OF_DATE})
        return
    did = read_did(common.values(view))
    if did is not None and len(did) > DID_LIMIT:
        ack(
            response_action="errors",
            errors={ids.HANDLED_DID: f"Keep it to {DID_LIMIT} characters: what you did."},
        )
        return
    try:
        blocks = mark_escalation_handled(deps, followup_id, body["user"]["id"], did)
    except Refused as refused:
        ack(response_action="errors", errors={ids.HANDLED_DID: str(refused)})
        return
    ack()
    refresh_messages(deps, [followup_id])  # the agent's DM says it was handled
    channel = slack_id(meta.get("c"), SLACK_CHANNEL)
    ts = slack_id(meta.get("t"), SLACK_TS)
    if channel and ts:
        client.chat_update(
            channel=channel,
            ts=ts,
            text="Escalation handled",
            blocks=[b.to_dict() for b in blocks],
        )
