"""Help Scout's Mailbox API 2.0, as far as write-back uses it (developer.helpscout.com/
mailbox-api/; bot/writeback/vendors/helpscout.py cites each fact). OAuth2 client credentials
issue bearer tokens that expire; notes are always internal; statuses are active, pending, closed
and spam; a merged or deleted conversation is 404 and a locked one (100 threads, or too old)
412. Writes count twice against an account-wide per-minute limit.

Tests may call `expire_tokens(box)` (every issued token now answers 401, as after two days),
`lock(ticket)`, `merge(ticket)` and `set_limit(box, per_minute)`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

APP_ID = "hs-sandbox-app-id-0123456789abcdef"
APP_SECRET = "hs-sandbox-app-secret-fedcba9876543210"
CLOSED_STATUS = "closed"
STATUSES = ("active", "pending", "closed", "spam")
"""A conversation's statuses (the Conversation object)."""
NOTE_STATUSES = ("active", "closed", "pending", "spam")
"""`status` values a note may carry. The reference also lists `open` and `inbox_predefined`;
what they resolve to is unconfirmed, so the sandbox refuses them (write-back never sends
them)."""
TOKEN_SECONDS = 172800
"""What the token endpoint answers in `expires_in` (two days)."""
RATE_LIMIT = 200
"""Requests a minute (unconfirmed: the number depends on the plan; tests lower it)."""
MAX_THREADS = 100
USER: dict[str, Any] = {
    "id": 4,
    "firstName": "Sandbox",
    "lastName": "Writeback",
    "email": "writeback@example.com",
    "role": "user",
    "type": "user",
}

_PATCH_OPS = ("add", "move", "remove", "replace")
_PATCH_PATHS = ("/assignTo", "/draft", "/mailboxId", "/primaryCustomer.id", "/status", "/subject")


def settings(box: Box) -> dict[str, str]:
    return {"APP_ID": APP_ID, "APP_SECRET": APP_SECRET, "URL": box.url("helpscout")}


def error_body(status: int) -> dict[str, Any] | str:
    messages = {429: "Too many requests", 503: "Service unavailable"}
    return _vnd_error(messages.get(status, f"HTTP {status}"))


def expire_tokens(box: Box) -> None:
    """Every token issued so far is now expired (as after `expires_in`)."""
    _state(box)["tokens"].clear()


def set_limit(box: Box, per_minute: int) -> None:
    """The account's requests a minute (its plan's limit)."""
    _state(box)["limit"] = per_minute


def lock(ticket: Ticket) -> None:
    """The conversation refuses new threads (412), as at 100 threads or when too old."""
    ticket.extra["locked"] = True


def merge(ticket: Ticket) -> None:
    """The conversation was merged into another: its old id now answers 404."""
    ticket.extra["merged"] = True


def _state(box: Box) -> dict[str, Any]:
    return box.state.setdefault("helpscout", {"tokens": {}, "calls": [], "limit": RATE_LIMIT})


def _vnd_error(message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "logRef": str(uuid.uuid4()),
        "message": message,
        "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}},
    }
    if errors:
        body["_embedded"] = {"errors": errors}
    return body


def _invalid(path: str, message: str, rejected: Any = None) -> Answer:
    error: dict[str, Any] = {"path": path, "message": message, "source": "JSON"}
    if rejected is not None:
        error["rejectedValue"] = rejected
    return Answer(400, _vnd_error("Bad request", [error]))


def _limited(box: Box, request: Request) -> Answer | None:
    """Writes count as 2 against the account's requests a minute (overview/rate-limiting).
    unconfirmed: whether token requests count; the sandbox counts them, as writes."""
    state = _state(box)
    now = time.monotonic()
    recent = [(t, w) for t, w in state["calls"] if now - t < 60.0]
    weight = 1 if request.method == "GET" else 2
    if sum(w for _, w in recent) + weight > int(state["limit"]):
        wait = max(1, int(60.0 - (now - recent[0][0])) + 1) if recent else 60
        return Answer(
            429,
            _vnd_error("Too many requests"),
            {
                "X-RateLimit-Limit-Minute": str(state["limit"]),
                "X-RateLimit-Remaining-Minute": "0",
                "X-RateLimit-Retry-After": str(wait),
            },
        )
    state["calls"] = [*recent, (now, weight)]
    return None


def handle(box: Box, request: Request) -> Answer:
    limited = _limited(box, request)
    if limited is not None:
        return limited
    path = request.path.rstrip("/")
    if path == "/v2/oauth2/token":
        if request.method != "POST":
            return Answer(405, _vnd_error("Method not allowed"))
        return _issue_token(box, request)
    refused = _unauthorised(box, request)
    if refused is not None:
        return refused
    parts = path.strip("/").split("/")
    if request.method == "GET" and parts == ["v2", "users", "me"]:
        return Answer(200, {**USER, "_links": {"self": {"href": "..."}}})
    if len(parts) >= 3 and parts[:2] == ["v2", "conversations"]:
        if not parts[2].isdigit():
            return Answer(404, _vnd_error("Not found"))
        ticket = box.find("helpscout", parts[2])
        if ticket is None or ticket.extra.get("merged"):
            return Answer(404, _vnd_error("Not found"))
        rest = parts[3:]
        if rest == ["notes"] and request.method == "POST":
            return _add_note(box, ticket, request)
        if rest == ["threads"] and request.method == "GET":
            return _threads(ticket, request)
        if rest == [] and request.method == "PATCH":
            return _update(ticket, request)
    return Answer(404, _vnd_error("Not found"))


# --- authentication ---------------------------------------------------------------------------


def _issue_token(box: Box, request: Request) -> Answer:
    """`POST /v2/oauth2/token`: JSON, form or query params "as long as the appropriate
    Content-Type header is included"."""
    content_type = request.header("Content-Type").lower()
    fields: dict[str, Any] = dict(request.query)
    if request.body:
        try:
            if content_type.startswith("application/json"):
                decoded = json.loads(request.body.decode("utf-8"))
                if not isinstance(decoded, dict):
                    raise ValueError("not an object")
                fields.update(decoded)
            elif content_type.startswith("application/x-www-form-urlencoded"):
                fields.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            else:
                return Answer(415, _vnd_error("Unsupported Media Type"))
        except (ValueError, UnicodeDecodeError):
            return Answer(400, {"error": "invalid_request", "error_description": "Invalid body"})
    if fields.get("grant_type") != "client_credentials":
        # unconfirmed: the wording; the sandbox only issues client-credentials tokens
        return Answer(
            400,
            {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
        )
    if fields.get("client_id") != APP_ID or fields.get("client_secret") != APP_SECRET:
        # unconfirmed: 400 (credentials in the body) rather than 401; the body is Help Scout's
        return Answer(
            400,
            {"error": "invalid_client", "error_description": "Invalid client authentication"},
        )
    token = uuid.uuid4().hex
    _state(box)["tokens"][token] = time.monotonic() + TOKEN_SECONDS
    return Answer(
        200,
        {"token_type": "bearer", "access_token": token, "expires_in": TOKEN_SECONDS},
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _unauthorised(box: Box, request: Request) -> Answer | None:
    """Bearer token required on every call. unconfirmed: the 401 bodies (those of the OAuth2
    gateway in front of api.helpscout.net)."""
    given = request.header("Authorization")
    if not given.startswith("Bearer ") or not given[7:].strip():
        return Answer(
            401,
            {"error": "invalid_request", "error_description": "The access token is missing"},
            {"WWW-Authenticate": 'Bearer realm="service"'},
        )
    expiry = _state(box)["tokens"].get(given[7:].strip())
    if expiry is None or expiry <= time.monotonic():
        return Answer(
            401,
            {
                "error": "invalid_token",
                "error_description": "The access token is invalid or has expired",
            },
            {"WWW-Authenticate": 'Bearer realm="service" error="invalid_token"'},
        )
    return None


# --- conversations ----------------------------------------------------------------------------


def _json_object(request: Request) -> dict[str, Any] | Answer:
    content_type = request.header("Content-Type").lower()
    if not content_type.startswith(("application/json", "application/json-patch+json")):
        return Answer(415, _vnd_error("Unsupported Media Type"))
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _vnd_error("Malformed JSON"))
    if not isinstance(body, dict):
        return Answer(400, _vnd_error("Malformed JSON"))
    return body


def _add_note(box: Box, ticket: Ticket, request: Request) -> Answer:
    """`POST /v2/conversations/{id}/notes`: `text` required; `status` optional."""
    body = _json_object(request)
    if isinstance(body, Answer):
        return body
    text = body.get("text")
    if text is None:
        return _invalid("text", "may not be null")
    if not isinstance(text, str):
        return _invalid("text", "must be a string", text)
    if not text.strip():
        return _invalid("text", "may not be empty")
    status = body.get("status")
    if status is not None and status not in NOTE_STATUSES:
        expected = ", ".join(f"'{s}'" for s in NOTE_STATUSES)
        return _invalid("status", f"Expected one of these: {expected}", status)
    if body.get("imported") is not None and not isinstance(body.get("imported"), bool):
        return _invalid("imported", "must be a boolean", body.get("imported"))
    if ticket.extra.get("locked") or len(ticket.notes) >= MAX_THREADS - 1:
        return Answer(412, _vnd_error("Conversation is locked"))
    note = Note(box.new_id(), text, private=True, author=USER["email"], kind="note")
    note_times = ticket.extra.setdefault("note_times", {})
    note_times[note.id] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticket.notes.append(note)
    if status is not None and status != ticket.status:
        ticket.set_status(str(status))
    return Answer(201, "", {"Resource-ID": note.id, "Location": f"/v2/conversations/{ticket.id}"})


def _update(ticket: Ticket, request: Request) -> Answer:
    """`PATCH /v2/conversations/{id}`: one JSON Patch operation."""
    body = _json_object(request)
    if isinstance(body, Answer):
        return body
    op, path, value = body.get("op"), body.get("path"), body.get("value")
    if op not in _PATCH_OPS:
        return _invalid("op", "Expected one of these: " + ", ".join(_PATCH_OPS), op)
    if path not in _PATCH_PATHS:
        return _invalid("path", "Expected one of these: " + ", ".join(_PATCH_PATHS), path)
    if ticket.extra.get("locked"):
        return Answer(412, _vnd_error("Conversation is locked"))
    if path == "/status":
        if op != "replace":
            return _invalid("op", "Expected one of these: replace", op)
        if value not in STATUSES:
            expected = ", ".join(f"'{s}'" for s in STATUSES)
            return _invalid("value", f"Expected one of these: {expected}", value)
        if value != ticket.status:
            ticket.set_status(str(value))
        return Answer(204, "")
    if path == "/subject" and op == "replace" and isinstance(value, str) and value.strip():
        ticket.subject = value
        return Answer(204, "")
    return _invalid(str(path), "not supported by the sandbox", value)


def _threads(ticket: Ticket, request: Request) -> Answer:
    """`GET /v2/conversations/{id}/threads`: newest first, 50 a page (unconfirmed: the page
    size)."""
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        return _invalid("page", "must be a number", request.query.get("page"))
    if page < 1:
        return _invalid("page", "must be greater than or equal to 1", page)
    size = 50
    times = ticket.extra.get("note_times", {})
    threads = [
        {
            "id": int(n.id),
            "type": "note",
            "status": ticket.status,
            "state": "published",
            "body": n.body,
            "createdBy": {
                "id": USER["id"],
                "type": "user",
                "first": USER["firstName"],
                "last": USER["lastName"],
                "email": USER["email"],
            },
            "createdAt": times.get(n.id),
        }
        for n in reversed(ticket.notes)
    ]
    total_pages = max(1, -(-len(threads) // size))
    chunk = threads[(page - 1) * size : page * size]
    return Answer(
        200,
        {
            "_embedded": {"threads": chunk},
            "_links": {"self": {"href": f"/v2/conversations/{ticket.id}/threads"}},
            "page": {
                "size": size,
                "totalElements": len(threads),
                "totalPages": total_pages,
                "number": page,
            },
        },
    )
