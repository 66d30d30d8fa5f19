"""A follow-up's buttons (DM, /followup due, App Home): open the matching modal at once."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.loop.outcomes import Refused, prepare_modal
from handlers.actions.common import OUT_OF_DATE, row_id, tell


def _origin(body: dict[str, Any]) -> tuple[str | None, str | None, str]:
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None, None, "home"
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts"), "dm" if str(channel).startswith("D") else "message"


def _open(
    kind: str,
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
    if followup_id is None:
        tell(body, client, respond, OUT_OF_DATE)
        return
    try:
        view = prepare_modal(deps, kind, followup_id, body["user"]["id"], channel, ts, surface)
    except Refused as refused:
        tell(body, client, respond, str(refused))
        return
    # trigger_id lives about 3 seconds: the modal is built from our own tables, no Slack calls.
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_followed_up(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    _open("done", ack, body, action, client, respond, deps)


def handle_snooze(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    _open("snooze", ack, body, action, client, respond, deps)


def handle_skip(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    _open("skip", ack, body, action, client, respond, deps)
