"""Messages in watched channels: a helpdesk's own Slack app announcing solved tickets."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.watched import receive_channel_message


def handle_channel_message(
    event: dict[str, Any], body: dict[str, Any], deps: Deps, context: dict[str, Any]
) -> None:
    receive_channel_message(
        deps,
        event=event,
        event_id=body.get("event_id"),
        own_bot_id=context.get("bot_id"),
        own_user_id=context.get("bot_user_id"),
    )
