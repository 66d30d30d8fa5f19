"""Intercom's REST API 2.14, as far as write-back uses it (developers.intercom.com/docs/
references/2.14/rest-api/; operationIds replyConversation, manageConversation,
retrieveConversation, identifyAdmin, retrieveAdmin; bot/writeback/vendors/intercom.py cites
each fact). Auth is `Authorization: Bearer <token>`; states are open, closed and snoozed;
errors are `error.list` bodies."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

TOKEN = "ic-sandbox-token-0123456789"
ADMIN_ID = "991267459"
EMAIL = "writeback@example.com"
CLOSED_STATUS = "closed"
STATES = ("open", "closed", "snoozed")
VERSIONS: tuple[str, ...] = (
    *(f"1.{n}" for n in range(5)),
    *(f"2.{n}" for n in range(15)),
    "Unstable",
)
"""The Intercom-Version values of the 2.14 description's `intercom_version` enum."""
MAX_PARTS = 500
"""Parts a retrieve returns: the most recent ("Hard limit of 500 parts")."""

_CONVERSATION = re.compile(r"^/conversations/([^/]+)/?$")
_REPLY = re.compile(r"^/conversations/([^/]+)/reply/?$")
_PARTS = re.compile(r"^/conversations/([^/]+)/parts/?$")
_ADMIN = re.compile(r"^/admins/([^/]+)/?$")
_part_ids = itertools.count(100)


def settings(box: Box) -> dict[str, str]:
    return {"TOKEN": TOKEN, "ADMIN_ID": ADMIN_ID, "URL": box.url("intercom")}


def _errors(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [error]}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return _errors("rate_limit_exceeded", "Exceeded rate limit of 1667 in 10_seconds")
    if status >= 500:
        return _errors("server_error", f"HTTP {status}")
    return _errors("client_error", f"HTTP {status}")


def handle(box: Box, request: Request) -> Answer:
    if request.header("Authorization") != f"Bearer {TOKEN}":
        return Answer(401, _errors("unauthorized", "Access Token Invalid"))
    version = request.header("Intercom-Version")
    if version not in VERSIONS:
        # The real API falls back to the app's version when the header is missing; the sandbox
        # wants it, so a client that forgets to pin fails here. Unconfirmed: the error code of
        # an unknown version.
        return Answer(400, _errors("intercom_version_invalid", "Intercom-Version is invalid"))
    path, method = request.path, request.method
    if method == "GET" and path.rstrip("/") == "/me":
        return Answer(200, _me())
    found = _ADMIN.match(path)
    if found and method == "GET":
        if found.group(1) != ADMIN_ID:
            return Answer(404, _errors("admin_not_found", "Admin not found"))
        return Answer(200, _admin())
    found = _CONVERSATION.match(path)
    if found and method == "GET":
        ticket = _ticket(box, found.group(1))
        if ticket is None:
            return Answer(404, _errors("not_found", "Resource Not Found"))
        return Answer(200, _shown(ticket, _stored(ticket)[-MAX_PARTS:]))
    found = _REPLY.match(path)
    if found and method == "POST":
        return _reply(box, found.group(1), request)
    found = _PARTS.match(path)
    if found and method == "POST":
        return _manage(box, found.group(1), request)
    return Answer(404, _errors("not_found", "Resource Not Found"))


def _ticket(box: Box, conversation_id: str) -> Ticket | None:
    if not conversation_id.isascii() or not conversation_id.isdigit():
        return None
    return box.find("intercom", conversation_id)


def _body(request: Request) -> dict[str, Any] | Answer:
    if not request.header("Content-Type").startswith("application/json"):
        # Unconfirmed: Intercom's answer to another media type; every documented body is JSON.
        return Answer(415, _errors("unsupported", "Content-Type must be application/json"))
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _errors("bad_request", "The request body is not valid JSON"))
    if not isinstance(body, dict):
        return Answer(400, _errors("bad_request", "The request body must be an object"))
    return body


def _missing(field: str) -> Answer:
    return Answer(400, _errors("parameter_not_found", f"{field} is required", field))


def _invalid(field: str, message: str) -> Answer:
    return Answer(400, _errors("parameter_invalid", message, field))


def _admin_field(body: dict[str, Any]) -> Answer | None:
    admin_id = body.get("admin_id")
    if admin_id is None:
        return _missing("admin_id")
    if not isinstance(admin_id, str):
        # The schema says string (its own example sends a number); the sandbox wants the string.
        return _invalid("admin_id", "admin_id must be a string")
    if admin_id != ADMIN_ID:
        # Unconfirmed: the code for an unknown admin here (retrieveAdmin's is admin_not_found).
        return Answer(404, _errors("admin_not_found", "Admin not found"))
    return None


def _reply(box: Box, conversation_id: str, request: Request) -> Answer:
    ticket = _ticket(box, conversation_id)
    if ticket is None:
        return Answer(404, _errors("not_found", "Resource Not Found"))
    body = _body(request)
    if isinstance(body, Answer):
        return body
    message_type = body.get("message_type")
    if message_type is None:
        return _missing("message_type")
    if body.get("type") != "admin":
        # Contact replies (type user) are not part of write-back.
        return _invalid("type", "type must be admin")
    if message_type not in ("comment", "note", "quick_reply"):
        return _invalid("message_type", f"{message_type} is not a valid message_type")
    refused = _admin_field(body)
    if refused is not None:
        return refused
    text = body.get("body")
    if message_type in ("comment", "note") and (not isinstance(text, str) or not text.strip()):
        return _missing("body")
    if message_type == "quick_reply" and not body.get("reply_options"):
        return _missing("reply_options")
    part = _part(str(message_type), str(text) if text is not None else None, ticket)
    if message_type in ("comment", "note"):
        ticket.notes.append(
            Note(
                part["id"],
                str(text),
                private=message_type == "note",
                author=ADMIN_ID,
                kind=str(message_type),
            )
        )
    return Answer(200, _shown(ticket, [part]))


def _manage(box: Box, conversation_id: str, request: Request) -> Answer:
    ticket = _ticket(box, conversation_id)
    if ticket is None:
        return Answer(404, _errors("not_found", "Resource Not Found"))
    body = _body(request)
    if isinstance(body, Answer):
        return body
    message_type = body.get("message_type")
    if message_type is None:
        return _missing("message_type")
    if message_type not in ("close", "snoozed", "open", "assignment"):
        return _invalid("message_type", f"{message_type} is not a valid message_type")
    refused = _admin_field(body)
    if refused is not None:
        return refused
    if message_type == "open":
        if ticket.status == "open":
            # Unconfirmed: Intercom's answer to opening an open conversation; the sandbox
            # refuses it, so a client that relies on it fails here first.
            return _invalid("message_type", "Conversation is already open")
        ticket.set_status("open")
    elif message_type == "close":
        if body.get("type") != "admin":
            return _invalid("type", "type must be admin")
        if ticket.status != "closed":
            ticket.set_status("closed")
    elif message_type == "snoozed":
        until = body.get("snoozed_until")
        if not isinstance(until, int) or isinstance(until, bool):
            return _missing("snoozed_until")
        ticket.set_status("snoozed")
    else:
        return _invalid("message_type", "assignment is not part of the sandbox")
    text = body.get("body")
    part = _part(str(message_type), text if isinstance(text, str) else None, ticket)
    return Answer(200, _shown(ticket, [part]))


def _part(part_type: str, body: str | None, ticket: Ticket) -> dict[str, Any]:
    now = int(time.time())
    part: dict[str, Any] = {
        "type": "conversation_part",
        "id": str(next(_part_ids)),
        "part_type": part_type,
        "body": body,
        "created_at": now,
        "updated_at": now,
        "notified_at": now,
        "assigned_to": None,
        "author": {"id": ADMIN_ID, "type": "admin", "name": "Writeback", "email": EMAIL},
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "state": ticket.status,
    }
    _stored(ticket).append(part)
    return part


def _stored(ticket: Ticket) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = ticket.extra.setdefault("parts", [])
    return parts


def _shown(ticket: Ticket, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": ticket.id,
        "title": ticket.subject,
        "open": ticket.status != "closed",
        "state": ticket.status,
        "admin_assignee_id": int(ADMIN_ID),
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": parts,
            "total_count": len(parts),
        },
    }


def _me() -> dict[str, Any]:
    return {
        **_admin(),
        "email_verified": True,
        "app": {"type": "app", "id_code": "sandbox", "name": "Sandbox", "region": "US"},
    }


def _admin() -> dict[str, Any]:
    return {
        "type": "admin",
        "id": ADMIN_ID,
        "name": "Writeback",
        "email": EMAIL,
        "away_mode_enabled": False,
        "away_mode_reassign": False,
        "has_inbox_seat": True,
        "team_ids": [],
    }
