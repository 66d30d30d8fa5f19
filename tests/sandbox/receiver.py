"""A stand-in for the bot's `/slack/events` used by the driver tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class Received:
    """One request the receiver accepted: raw body, headers, and the body as Bolt parses it."""

    raw: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A stand-in for the bot's `/slack/events`: verifies signatures, records, answers."""

    url: str
    requests: list[Received] = field(default_factory=list)
    rejected: int = 0
    answer_status: int = 200
    answer_body: dict[str, Any] | None = None
