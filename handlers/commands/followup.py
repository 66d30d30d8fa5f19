"""`/followup <subcommand>`: parse, ack within Slack's 3 seconds, reply ephemerally."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.commands import run_command
from bot.deps import Deps


def handle_followup_command(
    ack: Ack, command: dict[str, Any], respond: Respond, deps: Deps, client: Any
) -> None:
    ack()
    # PostgreSQL refuses NUL even in a query's parameters ("done %00" was a DataError).
    text = str(command.get("text") or "").replace("\x00", "")
    reply = run_command(
        deps,
        user_id=command["user_id"],
        channel_id=command.get("channel_id", ""),
        text=text,
        trigger_id=command.get("trigger_id"),
    )
    if reply is not None:
        respond(text=reply.text, blocks=reply.blocks_as_dicts(), response_type="ephemeral")
