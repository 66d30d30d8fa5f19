"""`/followup` subcommands: parsing and replies. Listeners stay thin; the work is here."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.deps import Deps
from bot.slack_text import escape

SUBCOMMANDS = ("due", "help")


@dataclass(frozen=True)
class Reply:
    """An ephemeral reply: fallback text and Block Kit blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def blocks_as_dicts(self) -> list[dict[str, Any]] | None:
        return [b.to_dict() for b in self.blocks] or None


def help_reply(deps: Deps) -> Reply:
    text = deps.renderer.render("slack/help.j2", {})
    return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def run_command(
    deps: Deps, *, user_id: str, channel_id: str, text: str, trigger_id: str | None
) -> Reply | None:
    """Answer `/followup <text>` for `user_id`."""
    try:
        words = shlex.split(text.strip())
    except ValueError:
        words = text.split()
    if not words or words[0].lower() == "help":
        return help_reply(deps)
    name = words[0].lower()
    if name == "due":
        from bot.queue import due_reply

        return due_reply(deps, user_id)
    known = ", ".join(f"`{s}`" for s in SUBCOMMANDS)
    return Reply(
        text=f"I don't know `/followup {escape(words[0])}`. Try one of {known}, "
        "or `/followup help`."
    )
