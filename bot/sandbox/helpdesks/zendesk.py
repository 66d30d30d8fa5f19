"""Zendesk's Ticketing API, as far as write-back uses it (developer.zendesk.com/api-reference/
ticketing/tickets/tickets/ and .../ticket_comments/; bot/writeback/vendors/zendesk.py cites
each fact). Auth is Basic `{email}/token:{api_token}`; statuses are new, open, pending, hold,
solved and closed; a closed ticket refuses updates with 422 and takes follow-up tickets."""

from __future__ import annotations

import base64
import html
import re
import time
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

EMAIL = "writeback@example.com"
TOKEN = "zd-sandbox-token-0123456789"
CLOSED_STATUS = "solved"
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
UPDATE_LIMIT = 30
"""Updates of one ticket by one user per `UPDATE_WINDOW` ("Update Ticket" endpoint limit)."""
UPDATE_WINDOW = 600.0
IDEMPOTENCY_SECONDS = 2 * 3600
"""How long Zendesk keeps an `Idempotency-Key` (Ticketing API introduction, "Idempotency")."""

_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?$")
_COMMENTS = re.compile(r"^/api/v2/tickets/(\d+)/comments(?:\.json)?$")


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("zendesk"), "EMAIL": EMAIL, "TOKEN": TOKEN}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return "Too Many Requests"
    return {"error": "InternalError", "description": f"HTTP {status}"}


def _authorised(request: Request) -> bool:
    expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    return request.header("Authorization") == f"Basic {expected}"


def handle(box: Box, request: Request) -> Answer:
    if not _authorised(request):
        return Answer(401, {"error": "Couldn't authenticate you"})
    path = request.path
    if request.method == "GET" and path.rstrip("/") in (
        "/api/v2/users/me",
        "/api/v2/users/me.json",
    ):
        return Answer(200, {"user": {"id": 361, "email": EMAIL, "role": "agent"}})
    if request.method in ("PUT", "POST") and not request.header("Content-Type").startswith(
        "application/json"
    ):
        return Answer(415, {"error": "Unsupported Media Type"})  # every documented call is JSON
    found = _TICKET.match(path)
    if found and request.method == "PUT":
        return _update(box, found.group(1), request)
    if found and request.method == "GET":
        ticket = box.find("zendesk", found.group(1))
        if ticket is None:
            return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
        return Answer(200, {"ticket": _shown(ticket)})
    found = _COMMENTS.match(path)
    if found and request.method == "GET":
        return _comments(box, found.group(1), request)
    if path.rstrip("/") in ("/api/v2/tickets", "/api/v2/tickets.json") and request.method == "POST":
        return _idempotent(box, request)
    return Answer(404, {"error": "InvalidEndpoint", "description": "Not found"})


def _invalid(field: str, description: str) -> Answer:
    return Answer(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": "InvalidValue"}]},
        },
    )


def _ticket_body(request: Request) -> dict[str, Any] | Answer:
    try:
        body = request.json()
    except ValueError:
        return Answer(400, {"error": "Unprocessable Entity", "description": "invalid JSON"})
    ticket = body.get("ticket") if isinstance(body, dict) else None
    if not isinstance(ticket, dict):
        return Answer(400, {"error": "InvalidEndpoint", "description": "ticket is required"})
    comment = ticket.get("comment")
    if comment is not None and (
        not isinstance(comment, dict)
        or not isinstance(comment.get("body") or comment.get("html_body"), str)
        or not isinstance(comment.get("public", True), bool)
    ):
        return _invalid("comment", "Comment: body is required")
    status = ticket.get("status")
    if status is not None and status not in STATUSES:
        return _invalid("status", f"Status: {status} is not valid")
    return ticket


def _comment(box: Box, ticket: Ticket, comment: dict[str, Any]) -> Note:
    """A comment kept as Zendesk shows its `body`: plain text (from `html_body` when given,
    the HTML kept beside it for `html_body`)."""
    html_body = comment.get("html_body")
    text = _plain(str(html_body)) if html_body is not None else str(comment.get("body"))
    private = comment.get("public", True) is False
    note = Note(box.new_id(), text, private=private, author=EMAIL, kind="comment")
    if html_body is not None:
        ticket.extra.setdefault("html", {})[note.id] = str(html_body)
    return note


def _plain(markup: str) -> str:
    """HTML as its text: line breaks kept, tags dropped, entities decoded."""
    text = re.sub(r"<br\s*/?>|</p>\s*<p>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _idempotent(box: Box, request: Request) -> Answer:
    """Ticket creation honours `Idempotency-Key` for two hours: the same key and body get the
    first answer again (`x-idempotency-lookup: hit`); the same key with another body is a 400."""
    key = request.header("Idempotency-Key")
    if not key:
        return _create(box, request)
    seen: dict[str, tuple[bytes, Answer, float]] = box.state.setdefault("zendesk_idempotency", {})
    now = time.monotonic()
    if key in seen and now - seen[key][2] < IDEMPOTENCY_SECONDS:
        body, first, _ = seen[key]
        if body != request.body:
            return Answer(
                400,
                {"error": "IdempotentRequestError", "description": "key reused with another body"},
            )
        return Answer(first.status, first.body, {**first.headers, "x-idempotency-lookup": "hit"})
    answer = _create(box, request)
    if answer.status < 500:
        seen[key] = (request.body, answer, now)
    answer.headers["x-idempotency-lookup"] = "miss"
    return answer


def _update(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("zendesk", ticket_id)
    if ticket is None:
        return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
    body = _ticket_body(request)
    if isinstance(body, Answer):
        return body
    if ticket.status == "closed":
        return _invalid("status", "Status: closed prevents ticket update")
    now = time.monotonic()
    recent = [t for t in ticket.extra.get("updates", []) if now - t < UPDATE_WINDOW]
    if len(recent) >= UPDATE_LIMIT:
        return Answer(429, "Too Many Requests", {"Retry-After": str(int(UPDATE_WINDOW))})
    ticket.extra["updates"] = [*recent, now]
    if body.get("comment") is not None:
        ticket.notes.append(_comment(box, ticket, body["comment"]))
    if body.get("status") is not None and body["status"] != ticket.status:
        ticket.set_status(str(body["status"]))
    return Answer(200, {"ticket": _shown(ticket), "audit": {"id": int(box.new_id())}})


def _create(box: Box, request: Request) -> Answer:
    body = _ticket_body(request)
    if isinstance(body, Answer):
        return body
    if body.get("comment") is None:
        return _invalid("comment", "Comment: body is required")
    source_id = body.get("via_followup_source_id")
    parent = box.find("zendesk", str(source_id)) if source_id is not None else None
    if source_id is not None and parent is None:
        return _invalid("via_followup_source_id", "is not a ticket")
    ticket = box.add_ticket("zendesk", box.new_id(), str(body.get("status") or "new"))
    ticket.notes.append(_comment(box, ticket, body["comment"]))
    if parent is not None and parent.status == "closed":  # "only works with closed tickets"
        ticket.followup_of = parent.id
        ticket.subject = parent.subject
        parent.extra.setdefault("followup_ids", []).append(int(ticket.id))
    return Answer(201, {"ticket": _shown(ticket)})


def _comments(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("zendesk", ticket_id)
    if ticket is None:
        return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
    markup = ticket.extra.get("html", {})
    comments = [
        {
            "id": int(n.id),
            "type": "Comment",
            "body": n.body,
            "plain_body": n.body,
            "html_body": markup.get(n.id, f"<p>{html.escape(n.body)}</p>"),
            "public": not n.private,
        }
        for n in ticket.notes
    ]
    if request.query.get("sort_order") == "desc":
        comments.reverse()
    return Answer(200, {"comments": comments[:100], "next_page": None, "count": len(comments)})


def _shown(ticket: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": int(ticket.id),
        "status": ticket.status,
        "subject": ticket.subject,
        "followup_ids": list(ticket.extra.get("followup_ids", [])),
    }
    if ticket.followup_of is not None:
        shown["via"] = {
            "source": {"rel": "follow_up", "from": {"ticket_id": int(ticket.followup_of)}}
        }
    return shown
