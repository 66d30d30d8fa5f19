"""The helpdesk sandbox: a local HTTP stand-in for the REST APIs write-back calls.

One server, one path prefix per vendor (`/zendesk/api/v2/...`, `/front/conversations/...`).
Each vendor's module (`zendesk.py`, ...) checks authentication and body shape as that vendor's
API reference describes, and answers with the vendor's own status codes and error bodies.
Tickets keep a state and their notes; every call is recorded; faults can be injected per
vendor: an HTTP status (429 with Retry-After, 5xx), a hang past the client's timeout (before or
after the change lands) and an outage of a given length.
"""

from __future__ import annotations

from bot.sandbox.helpdesks.box import HelpdeskSandbox
from bot.sandbox.helpdesks.core import Call, Note, Request, Ticket

__all__ = ["Call", "HelpdeskSandbox", "Note", "Request", "Ticket"]
