"""Front's Core API, as far as write-back uses it (dev.frontapp.com/reference/;
bot/writeback/vendors/front.py cites each fact). Auth is a company API token as a Bearer token;
comments are internal; a conversation is assigned, unassigned, archived, deleted or spam, and
`PATCH {"status": "open"}` makes it assigned or unassigned again; a merged conversation answers
301 to the one it was merged into. Errors are `{"_error": {status, title, message, details}}`.

Tests may call `merge(box, ticket, into)`, `assign(ticket)` and `set_limit(box, per_minute)`.
"""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

TOKEN = "front-sandbox-api-token-0123456789abcdef"
CLOSED_STATUS = "archived"
UPDATE_STATUSES = ("archived", "open", "deleted", "spam")
"""`status` values `PATCH /conversations/{id}` takes."""
RATE_LIMIT = 50
"""Requests a minute on the Starter plan (Front's lowest; 100 and 200 on the others)."""
COMPANY = {"id": "cmp_sandbox", "name": "Sandbox Company"}
BOT_TEAMMATE: dict[str, Any] = {
    "id": "tea_apibot",
    "email": "api-token@sandbox.frontapp.com",
    "username": "api_token",
    "first_name": "API",
    "last_name": "token",
    "is_admin": False,
    "is_available": True,
    "is_blocked": False,
}
"""Who posts a comment sent without `author_id`: the API token's bot teammate."""

_COMMENT_FIELDS = {"author_id", "body", "is_pinned", "attachments"}
_UPDATE_FIELDS = {"assignee_id", "inbox_id", "status", "status_id", "tag_ids", "custom_fields"}


def settings(box: Box) -> dict[str, str]:
    return {"TOKEN": TOKEN, "URL": box.url("front")}


def error_body(status: int) -> dict[str, Any] | str:
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        429: "Too many requests",
        500: "Internal server error",
        502: "Bad gateway",
        503: "Service unavailable",
    }
    return _error(status, titles.get(status, f"HTTP {status}"), f"HTTP {status}")


def merge(box: Box, ticket: Ticket, into: Ticket) -> None:
    """`ticket` was merged into `into`: its id now answers 301 to `into`."""
    ticket.extra["merged_into"] = into.id


def set_limit(box: Box, per_minute: int) -> None:
    """The company's requests a minute (its plan's limit)."""
    _state(box)["limit"] = per_minute


def assign(ticket: Ticket, teammate: str = "tea_sandbox") -> None:
    """The conversation has an assignee, so reopening makes it `assigned`."""
    ticket.extra["assignee"] = teammate


def _error(
    status: int, title: str, message: str, details: list[str] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "title": title, "message": message}
    if details:
        error["details"] = details
    return {"_error": error}


def _state(box: Box) -> dict[str, Any]:
    return box.state.setdefault("front", {"calls": [], "limit": RATE_LIMIT})


def _limited(box: Box) -> Answer | None:
    """Per company, per minute; every response carries the x-ratelimit headers."""
    state = _state(box)
    now = time.monotonic()
    recent = [t for t in state["calls"] if now - t < 60.0]
    limit = int(state["limit"])
    if len(recent) >= limit:
        wait = max(1, int(60.0 - (now - recent[0])) + 1)
        return Answer(
            429,
            _error(429, "Too many requests", "Rate limit exceeded"),
            {
                "Retry-After": str(wait),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + wait),
            },
        )
    state["calls"] = [*recent, now]
    return None


def handle(box: Box, request: Request) -> Answer:
    if request.header("Authorization") != f"Bearer {TOKEN}":
        # unconfirmed: the wording of the message
        return Answer(401, _error(401, "Unauthorized", "Invalid authentication"))
    limited = _limited(box)
    if limited is not None:
        return limited
    parts = request.path.strip("/").split("/")
    if request.method == "GET" and parts == ["me"]:
        return Answer(200, {"_links": {"self": box.url("front") + "/me"}, **COMPANY})
    if len(parts) >= 2 and parts[0] == "conversations":
        ticket = box.find("front", parts[1])
        if ticket is None:
            return Answer(404, _error(404, "Not found", "Unknown conversation"))
        rest = parts[2:]
        merged_into = ticket.extra.get("merged_into")
        if merged_into and (rest in ([], ["comments"])):
            suffix = "/" + "/".join(rest) if rest else ""
            location = f"{box.url('front')}/conversations/{merged_into}{suffix}"
            return Answer(301, _error(301, "Moved permanently", "Merged"), {"Location": location})
        if rest == ["comments"] and request.method == "POST":
            return _add_comment(box, ticket, request)
        if rest == ["comments"] and request.method == "GET":
            return _comments(box, ticket)
        if rest == [] and request.method == "PATCH":
            return _update(ticket, request)
    return Answer(404, _error(404, "Not found", "Unknown route"))


def _json_object(request: Request) -> dict[str, Any] | Answer:
    if not request.header("Content-Type").lower().startswith("application/json"):
        # multipart/form-data is for attachments, which write-back never sends
        return Answer(415, _error(415, "Unsupported media type", "Expected application/json"))
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _error(400, "Bad request", "Invalid JSON body"))
    if not isinstance(body, dict):
        return Answer(400, _error(400, "Bad request", "Body must be an object"))
    return body


def _add_comment(box: Box, ticket: Ticket, request: Request) -> Answer:
    """`POST /conversations/{id}/comments`: `body` required; `author_id`, `is_pinned`."""
    body = _json_object(request)
    if isinstance(body, Answer):
        return body
    unknown = sorted(set(body) - _COMMENT_FIELDS)
    if unknown:
        # unconfirmed: whether Front refuses or ignores unknown fields; the sandbox refuses
        return Answer(400, _error(400, "Bad request", "Unknown fields", unknown))
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        return Answer(400, _error(400, "Bad request", "body is required", ["body"]))
    if body.get("author_id") is not None and not isinstance(body.get("author_id"), str):
        return Answer(400, _error(400, "Bad request", "author_id must be a string"))
    if body.get("is_pinned") is not None and not isinstance(body.get("is_pinned"), bool):
        return Answer(400, _error(400, "Bad request", "is_pinned must be a boolean"))
    note = Note(
        "com_" + box.new_id(), text, private=True, author=BOT_TEAMMATE["id"], kind="comment"
    )
    ticket.notes.append(note)
    posted = ticket.extra.setdefault("posted_at", {})
    posted[note.id] = round(time.time(), 3)
    return Answer(201, _comment(box, ticket, note))


def _comment(box: Box, ticket: Ticket, note: Note) -> dict[str, Any]:
    base = box.url("front")
    return {
        "_links": {
            "self": f"{base}/comments/{note.id}",
            "related": {
                "conversation": f"{base}/conversations/{ticket.id}",
                "mentions": f"{base}/comments/{note.id}/mentions",
                "comment_replied_to": None,
            },
        },
        "id": note.id,
        "author": {"_links": {"self": f"{base}/teammates/{BOT_TEAMMATE['id']}"}, **BOT_TEAMMATE},
        "body": note.body,
        "posted_at": ticket.extra.get("posted_at", {}).get(note.id),
        "attachments": [],
        "is_pinned": False,
    }


def _comments(box: Box, ticket: Ticket) -> Answer:
    """`GET /conversations/{id}/comments`: newest first."""
    return Answer(
        200,
        {
            "_pagination": {"next": None},
            "_links": {"self": f"{box.url('front')}/conversations/{ticket.id}/comments"},
            "_results": [_comment(box, ticket, n) for n in reversed(ticket.notes)],
        },
    )


def _update(ticket: Ticket, request: Request) -> Answer:
    """`PATCH /conversations/{id}`: `status` one of archived, open, deleted, spam."""
    body = _json_object(request)
    if isinstance(body, Answer):
        return body
    unknown = sorted(set(body) - _UPDATE_FIELDS)
    if unknown:
        return Answer(400, _error(400, "Bad request", "Unknown fields", unknown))
    status = body.get("status")
    if "status" in body and "status_id" in body:
        return Answer(
            400, _error(400, "Bad request", "Only one of status and status_id may be provided")
        )
    if "status_id" in body:
        # Ticketing is off in the sandbox's company.
        return Answer(400, _error(400, "Bad request", "Ticketing is not enabled"))
    if status is not None and status not in UPDATE_STATUSES:
        return Answer(
            400,
            _error(400, "Bad request", "status must be one of " + ", ".join(UPDATE_STATUSES)),
        )
    new: str | None = status
    if status == "open":
        new = "assigned" if ticket.extra.get("assignee") else "unassigned"
    if new is not None and new != ticket.status:
        ticket.set_status(str(new))
    return Answer(204, "")
