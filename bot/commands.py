"""`/followup` subcommands: one routing table; each entry lives in its own `bot` module."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.deps import Deps
from bot.slack.text import escape


@dataclass(frozen=True)
class Reply:
    """An ephemeral reply: fallback text and Block Kit blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def blocks_as_dicts(self) -> list[dict[str, Any]] | None:
        return [b.to_dict() for b in self.blocks] or None


@dataclass(frozen=True)
class Invocation:
    """One `/followup` call: who, where, the words after the subcommand, and the trigger."""

    deps: Deps
    user_id: str
    channel_id: str
    args: list[str]
    trigger_id: str | None


Handler = Callable[[Invocation], "Reply | None"]

# subcommand -> "module:function" taking an Invocation; imported on first use so a slow or
# broken feature module never stands between an agent and `/followup help`.
ROUTES: dict[str, str] = {
    "help": "bot.commands:help_reply",
    "due": "bot.loop.queue:due_command",
    "agents": "bot.people.roster:agents_command",
    "log": "bot.intake.log_case:log_command",
    "done": "bot.loop.commands:done_command",
    "snooze": "bot.loop.commands:snooze_command",
    "stats": "bot.loop.commands:stats_command",
    "away": "bot.people.away:away_command",
    "digest": "bot.digest.views:digest_command",
}


def help_reply(call: Invocation) -> Reply:
    text = call.deps.renderer.render("slack/help.j2", {})
    return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def _handler(name: str) -> Handler:
    module, function = ROUTES[name].split(":")
    handler: Handler = getattr(import_module(module), function)
    return handler


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
        return _handler(name)(call)
    known = ", ".join(f"`{s}`" for s in ROUTES)
    return Reply(
        text=f"I don't know `/followup {escape(words[0])}`. Try one of {known}, "
        "or `/followup help`."
    )
