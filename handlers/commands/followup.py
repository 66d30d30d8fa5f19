"""`/followup <subcommand>`: ack within Slack's 3 seconds, route by the first word, reply
ephemerally."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.commands import Handler, Invocation, Reply
from bot.deps import Deps
from bot.digest.views import digest_command
from bot.intake.log_case import log_command
from bot.loop.commands import done_command, snooze_command, stats_command
from bot.loop.queue import due_command
from bot.people.away import away_command
from bot.people.roster import agents_command
from bot.people.settings import profile_command
from bot.slack.text import escape


def help_reply(call: Invocation) -> Reply:
    text = call.deps.renderer.render("slack/help.j2", {})
    return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


ROUTES: dict[str, Handler] = {
    "help": help_reply,
    "due": due_command,
    "agents": agents_command,
    "log": log_command,
    "done": done_command,
    "snooze": snooze_command,
    "stats": stats_command,
    "away": away_command,
    "digest": digest_command,
    "profile": profile_command,
}
"""Each subcommand and the function that answers it."""


def run_command(
    deps: Deps, *, user_id: str, channel_id: str, text: str, trigger_id: str | None
) -> Reply | None:
    """Answer `/followup <text>` for `user_id`; None when the handler replied another way."""
    try:
        words = shlex.split(text.strip())
    except ValueError:  # an unbalanced quote: fall back to plain words
        words = text.split()
    name = words[0].lower() if words else "help"
    call = Invocation(deps, user_id, channel_id, words[1:], trigger_id)
    if name in ROUTES:
        return ROUTES[name](call)
    known = ", ".join(f"`{s}`" for s in ROUTES)
    return Reply(
        text=f"I don't know `/followup {escape(words[0])}`. Try one of {known}, "
        "or `/followup help`."
    )


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
