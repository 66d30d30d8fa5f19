"""The helpdesk sandbox's state, faults and routing (the vendors' modules hold the APIs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

from bot.sandbox.server import Answer


@dataclass
class Note:
    """A note, comment or internal message on a ticket."""

    id: str
    body: str
    private: bool
    author: str | None = None
    kind: str = "note"
    """What the vendor calls it (`comment`, `note`, `internal_note`...), for tests to read."""


@dataclass
class Ticket:
    """A ticket or conversation as the sandbox keeps it."""

    source: str
    id: str
    status: str
    notes: list[Note] = field(default_factory=list)
    subject: str = "Sandbox ticket"
    history: list[str] = field(default_factory=list)
    """Each status it was given, in order (the first is its initial one)."""
    followup_of: str | None = None
    """Zendesk: the closed ticket this one follows up."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Vendor-specific state (HubSpot's associations, Jira's transitions...)."""

    def set_status(self, status: str) -> None:
        self.status = status
        self.history.append(status)

    def note_bodies(self) -> list[str]:
        return [n.body for n in self.notes]


@dataclass(frozen=True)
class Request:
    """One HTTP request as a vendor module sees it: path without the vendor's prefix."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    def json(self) -> Any:
        """The JSON body, or raises ValueError (the vendor module answers its own 400)."""
        if not self.body:
            raise ValueError("empty body")
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""


@dataclass(frozen=True)
class Call:
    """A recorded call: what was asked, with what, and what the sandbox answered."""

    source: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int


class Box(Protocol):
    """What a vendor module may use of the sandbox."""

    state: dict[str, Any]

    def url(self, source: str) -> str: ...

    def find(self, source: str, ticket_id: str) -> Ticket | None: ...

    def add_ticket(self, source: str, ticket_id: str, status: str | None = None) -> Ticket: ...

    def new_id(self) -> str: ...


class VendorModule(Protocol):
    """A vendor's stand-in: `bot/sandbox/helpdesks/<source>.py`."""

    CLOSED_STATUS: str
    """The state a ticket starts in: the vendor's solved/closed state."""

    def settings(self, box: Box) -> dict[str, str]:
        """WRITEBACK_<SOURCE>_<FIELD> values (by FIELD) the sandbox accepts."""
        ...

    def handle(self, box: Box, request: Request) -> Answer:
        """Answer one call to this vendor's API."""
        ...

    def error_body(self, status: int) -> dict[str, Any] | str:
        """The body the vendor sends with `status` (for injected faults)."""
        ...
