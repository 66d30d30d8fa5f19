"""Chatwoot's Application API, as far as write-back uses it (developers.chatwoot.com/
api-reference/messages/create-new-message, .../messages/get-messages, .../conversations/
toggle-status, .../profile/fetch-user-profile; bot/writeback/vendors/chatwoot.py cites each
fact). Auth is the `api_access_token` header of a user in the account; statuses are open,
resolved, pending and snoozed; conversations are addressed by their display id."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

TOKEN = "cw-sandbox-token-0123456789"
"""An administrator's token: what write-back should be given."""
AGENT_TOKEN = "cw-sandbox-agent-token-9876543210"
"""An agent's token: its reopens assign the conversation to that agent, as Chatwoot does."""
ACCOUNT_ID = "7"
EMAIL = "writeback@example.com"
USERS: dict[str, dict[str, Any]] = {
    TOKEN: {"id": 42, "email": EMAIL, "name": "Writeback", "role": "administrator"},
    AGENT_TOKEN: {"id": 43, "email": "agent@example.com", "name": "Agent", "role": "agent"},
}
INBOX_ID = 3
CLOSED_STATUS = "resolved"
STATUSES = ("open", "resolved", "pending", "snoozed")
MESSAGE_TYPES = ("outgoing", "incoming")
CONTENT_TYPES: tuple[str, ...] = (
    "text",
    "input_text",
    "input_textarea",
    "input_email",
    "input_select",
    "cards",
    "form",
    "article",
    "incoming_email",
    "input_csat",
)
MAX_CONTENT = 150_000
PAGE = 20
"""Messages per read (MessageFinder#messages_latest and #messages_before)."""

_NOT_FOUND = {"error": "Resource could not be found"}
_ACCOUNT = re.compile(r"^/api/v1/accounts/([^/]+)(/.*)?$")
_MESSAGES = re.compile(r"^/conversations/([^/]+)/messages/?$")
_TOGGLE = re.compile(r"^/conversations/([^/]+)/toggle_status/?$")


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("chatwoot"), "ACCOUNT_ID": ACCOUNT_ID, "TOKEN": TOKEN}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return "Retry later\n"  # rack-attack's throttled response
    return {"error": f"HTTP {status}"}


def handle(box: Box, request: Request) -> Answer:
    token = request.header("api_access_token")
    if not token:
        # No token: Devise's session authentication answers.
        return Answer(401, {"errors": ["You need to sign in or sign up before continuing."]})
    user = USERS.get(token)
    if user is None:
        return Answer(401, {"error": "Invalid Access Token"})
    if request.method == "GET" and request.path.rstrip("/") == "/api/v1/profile":
        return Answer(200, _profile(token, user))
    found = _ACCOUNT.match(request.path)
    if found is None:
        return Answer(404, _NOT_FOUND)
    account, rest = found.group(1), found.group(2) or ""
    if not account.isascii() or not account.isdigit():
        return Answer(404, _NOT_FOUND)  # Account.find raises RecordNotFound
    if account != ACCOUNT_ID:
        return Answer(401, {"error": "You are not authorized to access this account"})
    messages = _MESSAGES.match(rest)
    if messages and request.method == "GET":
        return _list(box, messages.group(1), request)
    if messages and request.method == "POST":
        return _create(box, messages.group(1), request, user)
    toggle = _TOGGLE.match(rest)
    if toggle and request.method == "POST":
        return _toggle(box, toggle.group(1), request, user)
    return Answer(404, _NOT_FOUND)


def _conversation(box: Box, display_id: str) -> Ticket | None:
    if not display_id.isascii() or not display_id.isdigit():
        return None
    return box.find("chatwoot", display_id)


def _body(request: Request) -> dict[str, Any] | Answer:
    """The JSON body; Rails answers 400 to JSON it cannot parse. The sandbox takes only JSON
    (stricter than Rails, which also takes form bodies: write-back sends JSON)."""
    if not request.header("Content-Type").startswith("application/json"):
        return Answer(415, {"error": "Content-Type must be application/json"})
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return Answer(400, {"error": "Bad Request"})
    if not isinstance(body, dict):
        return Answer(400, {"error": "Bad Request"})
    return body


def _create(box: Box, display_id: str, request: Request, user: dict[str, Any]) -> Answer:
    conversation = _conversation(box, display_id)
    if conversation is None:
        return Answer(404, _NOT_FOUND)
    body = _body(request)
    if isinstance(body, Answer):
        return body
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        # The reference marks content required; a text message without it is refused.
        return Answer(422, {"message": "Content can't be blank", "attributes": ["content"]})
    if len(content) > MAX_CONTENT:
        return Answer(
            422,
            {
                "message": f"Content is too long (maximum is {MAX_CONTENT} characters)",
                "attributes": ["content"],
            },
        )
    message_type = body.get("message_type", "outgoing")
    if message_type not in MESSAGE_TYPES:
        return Answer(422, {"error": f"'{message_type}' is not a valid message_type"})
    if message_type == "incoming":
        # Sandbox conversations are not in an API inbox (Messages::MessageBuilder).
        return Answer(422, {"error": "Incoming messages are only allowed in Api inboxes"})
    private = body.get("private", False)
    if not isinstance(private, bool):
        # Rails would cast "true"/"1"; the sandbox is stricter and wants the JSON boolean.
        return Answer(422, {"error": "private must be a boolean"})
    content_type = body.get("content_type", "text")
    if content_type not in CONTENT_TYPES:
        return Answer(422, {"error": f"'{content_type}' is not a valid content_type"})
    note = Note(
        box.new_id(),
        content,
        private=private,
        author=str(user["email"]),
        kind="private_note" if private else "message",
    )
    conversation.notes.append(note)
    return Answer(200, _shown(note, conversation, content_type))


def _list(box: Box, display_id: str, request: Request) -> Answer:
    conversation = _conversation(box, display_id)
    if conversation is None:
        return Answer(404, _NOT_FOUND)
    notes = conversation.notes
    before = request.query.get("before")
    if before:
        if not before.isdigit():
            return Answer(200, {"meta": _meta(), "payload": []})
        notes = [n for n in notes if int(n.id) < int(before)]
    shown = [_shown(n, conversation, "text") for n in notes[-PAGE:]]
    return Answer(200, {"meta": _meta(), "payload": shown})


def _toggle(box: Box, display_id: str, request: Request, user: dict[str, Any]) -> Answer:
    conversation = _conversation(box, display_id)
    if conversation is None:
        return Answer(404, _NOT_FOUND)
    body = _body(request)
    if isinstance(body, Answer):
        return body
    status = body.get("status")
    if status in (None, ""):
        # No status: Conversation#toggle_status flips open and resolved; pending and
        # snoozed open.
        status = "resolved" if conversation.status == "open" else "open"
    elif status not in STATUSES:
        # Unconfirmed: Rails raises ArgumentError on an unknown enum value (likely a 500 in
        # production); the sandbox refuses it as the brief's 422.
        return Answer(422, {"error": f"'{status}' is not a valid status"})
    if status != conversation.status:
        conversation.set_status(str(status))
    if conversation.status == "open" and user["role"] == "agent":
        # ConversationsController#toggle_status: `assign_conversation if
        # should_assign_conversation?` (open, and the token's user is an agent).
        conversation.extra["assignee_id"] = user["id"]
    return Answer(
        200,
        {
            "meta": {},
            "payload": {
                "success": True,
                "current_status": conversation.status,
                "conversation_id": int(conversation.id),
            },
        },
    )


def _shown(note: Note, conversation: Ticket, content_type: str) -> dict[str, Any]:
    return {
        "id": int(note.id),
        "content": note.body,
        "account_id": int(ACCOUNT_ID),
        "inbox_id": INBOX_ID,
        "conversation_id": int(conversation.id),
        "message_type": 1,
        "content_type": content_type,
        "content_attributes": {},
        "created_at": int(time.time()),
        "private": note.private,
        "source_id": None,
        "sender": {"name": note.author, "type": "user"},
    }


def _meta() -> dict[str, Any]:
    return {"labels": [], "additional_attributes": {}, "contact_id": 27}


def _profile(token: str, user: dict[str, Any]) -> dict[str, Any]:
    account = {"id": int(ACCOUNT_ID), "name": "Sandbox", "status": "active", "role": user["role"]}
    return {
        "access_token": token,
        "account_id": int(ACCOUNT_ID),
        "available_name": user["name"],
        "email": user["email"],
        "id": user["id"],
        "name": user["name"],
        "role": user["role"],
        "type": "User",
        "accounts": [account],
    }
