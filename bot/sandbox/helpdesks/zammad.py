"""Zammad's REST API, as far as write-back uses it (docs.zammad.org/en/latest/api/: tickets,
articles, users; Zammad's controllers and ticket policy where the docs are silent;
bot/writeback/vendors/zammad.py cites each fact). Auth is `Authorization: Token token=...`;
states are new, open, pending reminder, closed, merged and pending close; every error body is
`{"error": ..., "error_human": ...}`.

A ticket's group access for the token's agent is `ticket.extra["access"]` (full, change or
read; full by default): with read access a closed ticket refuses updates with Zammad's 422
"Cannot follow-up on a closed ticket", an open one with 403. Unconfirmed, chosen strict: the
answer to a PUT whose body is not JSON (Rails would ignore the body; here it is a 422)."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

TOKEN = "zm-sandbox-token-0123456789"
AGENT_EMAIL = "writeback@example.com"
AGENT: dict[str, Any] = {"id": 3, "login": AGENT_EMAIL, "email": AGENT_EMAIL}
CLOSED_STATUS = "closed"
STATES = {
    "new": (1, "new"),
    "open": (2, "open"),
    "pending reminder": (3, "pending reminder"),
    "closed": (4, "closed"),
    "merged": (5, "merged"),
    "pending close": (7, "pending action"),
}
"""State name -> (id, state type), as a default Zammad installs them ("States" > List);
`removed` is inactive and takes no tickets."""
ARTICLE_TYPES = (
    "email",
    "sms",
    "chat",
    "fax",
    "phone",
    "twitter status",
    "twitter direct-message",
    "facebook feed post",
    "facebook feed comment",
    "note",
    "web",
    "telegram personal-message",
)
SENDERS = ("Agent", "Customer", "System")
CONTENT_TYPES = ("text/plain", "text/html")
FOLLOW_UP = "Cannot follow-up on a closed ticket. Please create a new ticket."

_TICKET = re.compile(r"^/api/v1/tickets/(\d+)$")
_ARTICLES = re.compile(r"^/api/v1/ticket_articles/by_ticket/(\d+)$")
_TOKEN = re.compile(r'^Token token="?([^",\s]+)"?$')


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("zammad"), "TOKEN": TOKEN}


def _error(message: str) -> dict[str, Any]:
    return {"error": message, "error_human": message}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return "Retry later\n"  # rack-attack's default throttled answer
    return {"error": f"Error ID sandbox{status}: Please contact your administrator."}


def _authenticate(request: Request) -> Answer | None:
    """None when the token is right; else Zammad's answer (authenticates.rb)."""
    header = request.header("Authorization")
    if not header:
        return Answer(403, _error("Authentication required"), {"X-Failure": "Authentication"})
    if header.startswith("Basic "):
        return Answer(401, _error("Invalid BasicAuth credentials"))
    found = _TOKEN.match(header)
    if found is None or found.group(1) != TOKEN:
        return Answer(401, _error("Can't find User for Token"), {"X-Failure": "Token"})
    return None


def handle(box: Box, request: Request) -> Answer:
    refused = _authenticate(request)
    if refused is not None:
        return refused
    path = request.path.rstrip("/")
    expand = request.query.get("expand") == "true"
    if request.method == "GET" and path == "/api/v1/users/me":
        return Answer(200, _user(expand))
    found = _TICKET.match(path)
    if found and request.method == "GET":
        ticket = box.find("zammad", found.group(1))
        if ticket is None:
            return _not_found(found.group(1))
        return Answer(200, _shown(ticket, expand))
    if found and request.method == "PUT":
        return _update(box, found.group(1), request)
    found = _ARTICLES.match(path)
    if found and request.method == "GET":
        ticket = box.find("zammad", found.group(1))
        if ticket is None:
            return _not_found(found.group(1))
        articles = [_article(ticket, n) for n in ticket.notes]
        return Answer(200, articles)  # type: ignore[arg-type]
    return Answer(404, _error(f"No route matches [{request.method}] {path}"))


def _not_found(ticket_id: str) -> Answer:
    return Answer(404, _error(f"Couldn't find Ticket with 'id'={ticket_id}"))


def _unprocessable(message: str) -> Answer:
    return Answer(422, _error(message))


def _update(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("zammad", ticket_id)
    if ticket is None:
        return _not_found(ticket_id)
    if not request.header("Content-Type").startswith("application/json"):
        return _unprocessable("Content-Type must be application/json")  # sandbox only
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _error("Error occurred while parsing request parameters"))
    if not isinstance(body, dict):
        return Answer(400, _error("Error occurred while parsing request parameters"))
    refused = _follow_up(ticket)
    if refused is not None:
        return refused
    state = body.get("state")
    if "state" in body and (not isinstance(state, str) or state not in STATES):
        return _unprocessable(f"No lookup value found for 'state': {_inspect(state)}")
    article = body.get("article")
    created: tuple[Note, dict[str, str]] | None = None
    if article:  # Rails' `params[:article].present?`
        made = _new_article(box, article)
        if isinstance(made, Answer):
            return made
        created = made
    if isinstance(state, str) and state != ticket.status:
        ticket.set_status(state)
    if created is not None:
        note, meta = created
        ticket.notes.append(note)
        ticket.extra.setdefault("articles", {})[note.id] = meta
    return Answer(200, _shown(ticket, False))


def _follow_up(ticket: Ticket) -> Answer | None:
    """TicketPolicy#follow_up? then #update? for an agent with `access` to the group."""
    can_change = ticket.extra.get("access", "full") in ("full", "change")
    if STATES[ticket.status][1] == "closed":
        return None if can_change else _unprocessable(FOLLOW_UP)
    return None if can_change else Answer(403, _error("Not authorized"))


def _new_article(box: Box, article: Any) -> tuple[Note, dict[str, str]] | Answer:
    if not isinstance(article, dict) or not article.get("body"):
        return _unprocessable('Need at least article: { body: "some text" }')
    if not isinstance(article["body"], str):
        return _unprocessable("article body must be a string")
    kind = article.get("type", "note")
    if kind not in ARTICLE_TYPES:
        return _unprocessable(f"No lookup value found for 'type': {_inspect(kind)}")
    sender = article.get("sender", "Agent")
    if sender not in SENDERS:
        return _unprocessable(f"No lookup value found for 'sender': {_inspect(sender)}")
    internal = article.get("internal", False)
    if not isinstance(internal, bool):
        return _unprocessable("article internal must be true or false")
    content_type = article.get("content_type", "text/plain")
    if content_type not in CONTENT_TYPES:
        return _unprocessable(f"Invalid content_type {_inspect(content_type)}")
    note = Note(box.new_id(), article["body"], private=internal, author=AGENT_EMAIL, kind=kind)
    return note, {"content_type": content_type, "sender": sender}


def _inspect(value: Any) -> str:
    """Ruby's `inspect` of a JSON value, as the lookup errors quote it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "nil" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _article(ticket: Ticket, note: Note) -> dict[str, Any]:
    meta = ticket.extra.get("articles", {}).get(note.id, {})
    return {
        "id": int(note.id),
        "ticket_id": int(ticket.id),
        "body": note.body,
        "content_type": meta.get("content_type", "text/plain"),
        "internal": note.private,
        "type": note.kind,
        "sender": meta.get("sender", "Agent"),
        "created_by": note.author,
    }


def _user(expand: bool) -> dict[str, Any]:
    user: dict[str, Any] = {**AGENT, "firstname": "Followup", "lastname": "Writeback"}
    user.update({"active": True, "role_ids": [2]})
    if expand:
        user["roles"] = ["Agent"]
    return user


def _shown(ticket: Ticket, expand: bool) -> dict[str, Any]:
    state_id, _ = STATES[ticket.status]
    shown: dict[str, Any] = {
        "id": int(ticket.id),
        "number": str(31000 + int(ticket.id)),
        "title": ticket.subject,
        "state_id": state_id,
        "article_ids": [int(n.id) for n in ticket.notes],
    }
    if expand:
        shown["state"] = ticket.status
    return shown
