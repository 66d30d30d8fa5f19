"""What every helpdesk's write-back does, whatever its API: `deliver` one job (a note, and a
reopen when the fix did not hold) and `check` the credentials for `followup doctor`.

A vendor module is a class taking the source's settings (`WRITEBACK_<SOURCE>_<FIELD>`, by
field) and the `Http` client. It raises `Transient`, `RateLimited` or `Permanent` (see
`bot/writeback/transport.py`) and never logs: the worker decides and logs, without the note.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.writeback.transport import Http, Response, fail_for


@dataclass(frozen=True)
class Job:
    """One outbox row as a vendor sees it."""

    id: int
    source: str
    ticket: str
    """The helpdesk's id of the ticket or conversation (the case's external id)."""
    body: str
    """The internal note, plain text, `marker` on its last line."""
    marker: str
    reopen: bool
    """Put the ticket back in the vendor's open state (after the note), so its SLAs and
    queues take over."""
    retried: bool
    """An earlier attempt may have landed (it timed out, or its process died): look for
    `marker` on the ticket before adding the note again, where the API can read notes back."""
    event: str = "outcome"
    detail: Mapping[str, Any] = field(default_factory=dict)
    """The event's fields (for the generic webhook, which sends them as JSON)."""
    sent_at: datetime | None = None
    """The bot's clock when the delivery starts (the generic webhook signs it)."""


@dataclass(frozen=True)
class Delivered:
    """What landed, for the operator's list: like "note 4711; status open"."""

    result: str


class Vendor(Protocol):
    """One helpdesk's write-back."""

    def deliver(self, job: Job) -> Delivered:
        """Add the note (unless `job.retried` and it is already there), then reopen if asked."""
        ...

    def check(self) -> str:
        """One authenticated read that proves the credentials; what it found (like "agent
        ada@example.com"). Raises a `WritebackError` naming what is wrong."""
        ...


def basic_auth(user: str, password: str) -> str:
    """An `Authorization` header value for HTTP Basic (RFC 7617)."""
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def ok(response: Response, call: str, code_key: str | None = None) -> Response:
    """`response` if 2xx, else raise what its status means (`fail_for`), with the vendor's
    error code from the JSON body's `code_key` when there is one."""
    if 200 <= response.status < 300:
        return response
    code = None
    if code_key:
        try:
            body = response.json()
        except Exception:
            body = None
        if isinstance(body, dict) and isinstance(body.get(code_key), str | int):
            code = str(body[code_key])[:80]
    raise fail_for(response, call, code)


def plain_html(text: str) -> str:
    """Plain text as HTML that shows it as typed: each line escaped (so a customer's words
    never become a link, an image or markup), `<br>` between lines; the `fu-...` marker has
    nothing to escape."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<div>" + "<br>".join(html.escape(line) for line in lines) + "</div>"


def has_marker(texts: list[str], marker: str) -> bool:
    """Whether any of a ticket's notes (as the vendor returns them: text or HTML) carries
    `marker`."""
    return any(marker in (text or "") for text in texts)


__all__ = [
    "Delivered",
    "Http",
    "Job",
    "Vendor",
    "basic_auth",
    "has_marker",
    "ok",
    "plain_html",
]
