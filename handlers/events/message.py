"""Messages in watched channels: a helpdesk's own Slack app announcing solved tickets."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.intake.watched import receive_channel_message


def handle_channel_message(
    event: dict[str, Any], body: dict[str, Any], deps: Deps, context: dict[str, Any]
) -> None:
    text = event.get("text")
    # PostgreSQL cannot store NUL: the announcement is kept without it.
    text = text.replace("\x00", "") if isinstance(text, str) else ""
    receive_channel_message(
        deps,
        event={**event, "text": text},
        event_id=body.get("event_id"),
        own_bot_id=context.get("bot_id"),
        own_user_id=context.get("bot_user_id"),
    )
