"""What a `/followup` subcommand takes (`Invocation`) and answers (`Reply`). The routing table
is handlers/commands/followup.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block

from bot.deps import Deps


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
