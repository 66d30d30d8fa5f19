"""Freshdesk's API v2, as far as write-back uses it (developers.freshdesk.com/api/: "Create a
Note", "Update a Ticket", "List all Conversations of a Ticket", "View Me";
bot/writeback/vendors/freshdesk.py cites each fact). Auth is Basic with the API key as the user
name and any password; statuses are 2 Open, 3 Pending, 4 Resolved, 5 Closed (kept here by
name); every call counts against a per-minute account limit, answered with 429 and
Retry-After past it.

Unconfirmed details, chosen strict: the 429 body, the exact wording of validation messages,
the 404 body (empty here) and the 415 answer to a body that is not JSON."""

from __future__ import annotations

import base64
import binascii
import html
import re
import time
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

API_KEY = "fd-sandbox-api-key-0123456789"
AGENT_EMAIL = "writeback@example.com"
CLOSED_STATUS = "resolved"
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
NUMBERS = {name: number for number, name in STATUSES.items()}
CALLS_PER_MINUTE = 50
"""A trial account's limit, the lowest Freshdesk documents (article 225439); every call counts,
failed ones too."""
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30

NOTE_FIELDS: dict[str, type] = {"body": str, "private": bool, "incoming": bool, "user_id": int}
TYPE_NAMES: dict[type, str] = {str: "String", bool: "Boolean", int: "Integer"}
NOTE_LIST_FIELDS = ("notify_emails",)
UPDATE_FIELDS = {"status", "priority", "subject", "description", "tags", "group_id"}

_TICKET = re.compile(r"^/api/v2/tickets/(\d+)$")
_NOTES = re.compile(r"^/api/v2/tickets/(\d+)/notes$")
_CONVERSATIONS = re.compile(r"^/api/v2/tickets/(\d+)/conversations$")
_TAG = re.compile(r"<[^>]*>")


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("freshdesk"), "API_KEY": API_KEY}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return {"code": "rate_limit_exceeded", "message": "API rate limit exceeded."}
    return {"code": "internal_error", "message": f"HTTP {status}"}


def _authorised(request: Request) -> bool:
    scheme, _, encoded = request.header("Authorization").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        user, sep, _password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(sep) and user == API_KEY  # "any set of characters as a dummy password"


def _limited(box: Box) -> Answer | dict[str, str]:
    """A 429 past the account's calls this minute, else the rate-limit headers to send."""
    now = time.monotonic()
    calls = [t for t in box.state.get("freshdesk_calls", []) if now - t < 60.0]
    if len(calls) >= CALLS_PER_MINUTE:
        box.state["freshdesk_calls"] = calls
        wait = max(1, int(60.0 - (now - calls[0])) + 1)
        return Answer(429, error_body(429), {"Retry-After": str(wait)})
    calls.append(now)
    box.state["freshdesk_calls"] = calls
    return {
        "X-RateLimit-Total": str(CALLS_PER_MINUTE),
        "X-RateLimit-Remaining": str(CALLS_PER_MINUTE - len(calls)),
        "X-RateLimit-Used-CurrentRequest": "1",
    }


def handle(box: Box, request: Request) -> Answer:
    limit = _limited(box)
    if isinstance(limit, Answer):
        return limit
    answer = _handle(box, request)
    answer.headers = {**limit, **answer.headers}
    return answer


def _handle(box: Box, request: Request) -> Answer:
    if not _authorised(request):
        return Answer(
            401,
            {
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            },
        )
    path = request.path.rstrip("/")
    if request.method in ("POST", "PUT"):
        content_type = request.header("Content-Type")
        if not content_type.startswith("application/json"):
            return Answer(
                415,
                {
                    "code": "invalid_content_type",
                    "message": f"Content-Type header is set to {content_type or 'nothing'}. "
                    "It should be set to application/json",
                },
            )
    if request.method == "GET" and path == "/api/v2/agents/me":
        return Answer(200, _agent())
    found = _NOTES.match(path)
    if found and request.method == "POST":
        return _note(box, found.group(1), request)
    found = _TICKET.match(path)
    if found and request.method == "PUT":
        return _update(box, found.group(1), request)
    if found and request.method == "GET":
        ticket = box.find("freshdesk", found.group(1))
        return Answer(200, _shown(ticket)) if ticket else Answer(404, "")
    found = _CONVERSATIONS.match(path)
    if found and request.method == "GET":
        return _conversations(box, found.group(1), request)
    if _TICKET.match(path) or _NOTES.match(path) or _CONVERSATIONS.match(path):
        return Answer(405, {"code": "method_not_allowed", "message": "Method not allowed"})
    return Answer(404, "")


def _invalid(*errors: tuple[str, str, str]) -> Answer:
    return Answer(
        400,
        {
            "description": "Validation failed",
            "errors": [
                {"field": field, "message": message, "code": code}
                for field, message, code in errors
            ],
        },
    )


def _json(request: Request) -> dict[str, Any] | Answer:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, {"code": "invalid_json", "message": "Request body has invalid json"})
    if not isinstance(body, dict):
        return Answer(400, {"code": "invalid_json", "message": "Request body has invalid json"})
    return body


def _note(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("freshdesk", ticket_id)
    if ticket is None:
        return Answer(404, "")
    body = _json(request)
    if isinstance(body, Answer):
        return body
    errors = [
        (name, "Unexpected/invalid field in request", "invalid_field")
        for name in body
        if name not in NOTE_FIELDS and name not in NOTE_LIST_FIELDS
    ]
    if "body" not in body:
        errors.append(("body", "It should be a/an String", "missing_field"))
    elif isinstance(body["body"], str) and not body["body"].strip():
        errors.append(("body", "It should not be blank", "invalid_value"))
    for name, kind in NOTE_FIELDS.items():
        value = body.get(name)
        if name in body and (
            not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        ):
            message = f"It should be a/an {TYPE_NAMES[kind]}"
            errors.append((name, message, "datatype_mismatch"))
    emails = body.get("notify_emails")
    if "notify_emails" in body and not (
        isinstance(emails, list) and all(isinstance(e, str) for e in emails)
    ):
        errors.append(("notify_emails", "It should be a/an Array", "datatype_mismatch"))
    if errors:
        return _invalid(*errors)
    note = Note(
        box.new_id(),
        str(body["body"]),
        private=body.get("private", True) is not False,
        author=AGENT_EMAIL,
        kind="note",
    )
    ticket.notes.append(note)
    return Answer(201, _conversation(ticket, note))


def _update(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("freshdesk", ticket_id)
    if ticket is None:
        return Answer(404, "")
    body = _json(request)
    if isinstance(body, Answer):
        return body
    errors = [
        (name, "Unexpected/invalid field in request", "invalid_field")
        for name in body
        if name not in UPDATE_FIELDS
    ]
    status = body.get("status")
    if "status" in body and (
        not isinstance(status, int) or isinstance(status, bool) or status not in STATUSES
    ):
        allowed = ",".join(str(n) for n in STATUSES)
        errors.append(("status", f"It should be one of these values: '{allowed}'", "invalid_value"))
    if errors:
        return _invalid(*errors)
    if isinstance(status, int) and STATUSES[status] != ticket.status:
        ticket.set_status(STATUSES[status])
    return Answer(200, _shown(ticket))


def _conversations(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("freshdesk", ticket_id)
    if ticket is None:
        return Answer(404, "")
    errors: list[tuple[str, str, str]] = []
    numbers: dict[str, int] = {}
    for name, default, most in (("page", 1, None), ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        raw = request.query.get(name)
        value = int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None
        if raw is not None and (value is None or value < 1 or (most and value > most)):
            limit = f" less than or equal to {most}" if most else ""
            errors.append((name, f"It should be a Positive Integer{limit}", "invalid_value"))
        numbers[name] = value or default
    if errors:
        return _invalid(*errors)
    page, per_page = numbers["page"], numbers["per_page"]
    items = [_conversation(ticket, n) for n in ticket.notes]
    shown = items[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    if len(items) > page * per_page:
        url = f"{box.url('freshdesk')}/api/v2/tickets/{ticket.id}/conversations"
        headers["Link"] = f'<{url}?page={page + 1}&per_page={per_page}>; rel="next"'
    return Answer(200, shown, headers)  # type: ignore[arg-type]


def _conversation(ticket: Ticket, note: Note) -> dict[str, Any]:
    text = _TAG.sub("", note.body.replace("<br>", "\n"))
    return {
        "id": int(note.id),
        "ticket_id": int(ticket.id),
        "body": note.body,
        "body_text": html.unescape(text),
        "private": note.private,
        "incoming": False,
        "source": 2,
        "user_id": 1,
        "attachments": [],
    }


def _agent() -> dict[str, Any]:
    return {
        "id": 1,
        "available": True,
        "occasional": False,
        "ticket_scope": 1,
        "contact": {"active": True, "email": AGENT_EMAIL, "name": "Followup Writeback"},
    }


def _shown(ticket: Ticket) -> dict[str, Any]:
    return {"id": int(ticket.id), "status": NUMBERS[ticket.status], "subject": ticket.subject}
