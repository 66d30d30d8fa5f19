"""A follow-up's buttons (DM, /followup due, App Home): one listener for the family; each
opens the matching modal at once."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, Respond

from bot import ids
from bot.deps import Deps
from bot.loop.access import ModalKind, Refused, prepare_modal
from bot.loop.views import ModalMeta
from handlers.actions.common import OUT_OF_DATE, row_id, tell

MODALS: dict[str, ModalKind] = {
    ids.ACTION_FOLLOWED_UP: "done",
    ids.ACTION_SNOOZE: "snooze",
    ids.ACTION_SKIP: "skip",
}
"""Which modal each button opens."""
ACTION_PATTERN = re.compile("^(" + "|".join(re.escape(action) for action in MODALS) + ")$")


def _origin(body: dict[str, Any]) -> tuple[str | None, str | None, str]:
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None, None, "home"
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts"), "dm" if str(channel).startswith("D") else "message"


def handle_followup_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    ack()
    channel, ts, surface = _origin(body)
    followup_id = row_id(action.get("value"))
    kind = MODALS.get(str(action.get("action_id")))
    if followup_id is None or kind is None:
        tell(body, client, respond, OUT_OF_DATE)
        return
    meta = ModalMeta(followup_id, channel, ts, surface)
    try:
        view = prepare_modal(deps, kind, meta, body["user"]["id"])
    except Refused as refused:
        tell(body, client, respond, str(refused))
        return
    # trigger_id lives about 3 seconds: the modal is built from our own tables, no Slack calls.
    client.views_open(trigger_id=body["trigger_id"], view=view)
