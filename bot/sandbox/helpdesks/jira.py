"""Jira Cloud as far as write-back uses it: the platform REST API v3 (issues, transitions,
myself) and Jira Service Management's servicedeskapi (request comments).
bot/writeback/vendors/jira.py cites each fact. Auth is Basic `{email}:{api_token}`; a
request's status has a category (new, indeterminate, done) and changes only by the workflow's
transitions available from it. The sandbox workflow is a service request's: "Canceled" has no
transition out (it cannot be reopened) and "Closed" has none either and takes no comments
(unconfirmed: a final status with `jira.issue.editable = false`; the stricter choice).

A ticket is found by the id or key the test added it under. `box.state["jira.account_type"]`
("atlassian" by default) makes the token a portal customer: its comments are then public
whatever it asks ("Customers can set comments to public visibility only")."""

from __future__ import annotations

import base64
import re
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

EMAIL = "writeback@example.com"
TOKEN = "ATATT3xFfGF0-sandbox-token-0123456789"
ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"
CLOSED_STATUS = "Resolved"
MAX_BODY = 32_767
MAX_PAGE = 50
"""The largest comment page the sandbox serves (unconfirmed; clients must follow isLastPage)."""

STATUSES: dict[str, tuple[str, str]] = {
    "Waiting for support": ("10001", "new"),
    "In progress": ("3", "indeterminate"),
    "Waiting for customer": ("10002", "indeterminate"),
    "Resolved": ("10003", "done"),
    "Canceled": ("10004", "done"),
    "Closed": ("6", "done"),
}
"""Status name -> (id, category key)."""
CATEGORIES = {"new": (2, "To Do"), "indeterminate": (4, "In Progress"), "done": (3, "Done")}
NOT_EDITABLE = ("Closed",)
TRANSITIONS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("11", "Respond to customer", ("Waiting for support", "In progress"), "Waiting for customer"),
    ("21", "Start work", ("Waiting for support", "Waiting for customer"), "In progress"),
    (
        "31",
        "Resolve this issue",
        ("Waiting for support", "In progress", "Waiting for customer"),
        "Resolved",
    ),
    ("41", "Close", ("Resolved",), "Closed"),
    ("51", "Back to in progress", ("Resolved",), "In progress"),
    ("61", "Reopen", ("Resolved",), "Waiting for support"),
)
"""(id, name, from statuses, to status), in the order Jira lists them."""

_API = r"/rest/api/(?:2|3|latest)"
_ISSUE = re.compile(rf"^{_API}/issue/([^/]+)$")
_TRANSITIONS = re.compile(rf"^{_API}/issue/([^/]+)/transitions$")
_COMMENTS = re.compile(r"^/rest/servicedeskapi/request/([^/]+)/comment$")
_MYSELF = re.compile(rf"^{_API}/myself$")
_MYPERMISSIONS = re.compile(rf"^{_API}/mypermissions$")
_COMMENT = re.compile(rf"^{_API}/issue/([^/]+)/comment/([0-9]+)$")


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("jira"), "EMAIL": EMAIL, "TOKEN": TOKEN, "REOPEN_TRANSITION": ""}


def error_body(status: int) -> dict[str, Any] | str:
    if status == 401:
        return "Client must be authenticated to access this resource."
    return {"errorMessages": [f"HTTP {status}"], "errors": {}}


def _platform_error(status: int, message: str, errors: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"errorMessages": [message] if message else [], "errors": errors or {}})


def _sd_error(status: int, message: str, key: str) -> Answer:
    return Answer(
        status, {"errorMessage": message, "i18nErrorMessage": {"i18nKey": key, "parameters": []}}
    )


def _authorised(request: Request) -> bool:
    expected = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    return request.header("Authorization") == f"Basic {expected}"


def handle(box: Box, request: Request) -> Answer:
    if not _authorised(request):
        return Answer(401, "Client must be authenticated to access this resource.")
    path = request.path.rstrip("/")
    if request.method in ("POST", "PUT") and not request.header("Content-Type").startswith(
        "application/json"
    ):
        return Answer(415, "Unsupported Media Type")
    if request.method == "GET" and _MYSELF.match(path):
        return Answer(200, _myself(box))
    if request.method == "GET" and _MYPERMISSIONS.match(path):
        return _mypermissions(box, request)
    found = _COMMENTS.match(path)
    if found and request.method == "POST":
        return _add_comment(box, found.group(1), request)
    if found and request.method == "GET":
        return _comments(box, found.group(1), request)
    found = _TRANSITIONS.match(path)
    if found and request.method == "GET":
        return _transitions(box, found.group(1))
    if found and request.method == "POST":
        return _transition(box, found.group(1), request)
    found = _ISSUE.match(path)
    if found and request.method == "GET":
        return _issue(box, found.group(1))
    found = _COMMENT.match(path)
    if found and request.method == "DELETE":  # platform API: Delete comment, 204
        ticket = box.find("jira", found.group(1))
        kept = [n for n in ticket.notes if n.id != found.group(2)] if ticket else []
        if ticket is None or len(kept) == len(ticket.notes):
            return _platform_error(404, "Can not find a comment for the id: " + found.group(2))
        ticket.notes[:] = kept
        return Answer(204, "")
    return _platform_error(404, "null for uri: " + path)


def _mypermissions(box: Box, request: Request) -> Answer:
    """Get my permissions: `permissions` is required (a comma-separated list of keys); with an
    issue, each key's `havePermission` there. Agents hold SERVICEDESK_AGENT; a portal customer
    does not (an Atlassian account or not)."""
    keys = [k for k in request.query.get("permissions", "").split(",") if k]
    if not keys:
        return _platform_error(400, "The permissions query parameter is required.")
    issue = request.query.get("issueId") or request.query.get("issueKey")
    if issue is not None and box.find("jira", issue) is None:
        return _platform_error(404, "Issue does not exist or you do not have permission to see it.")
    agent = box.state.get("jira.account_type", "atlassian") != "customer" and not box.state.get(
        "jira.not_agent"
    )
    shown = {
        key: {"key": key, "type": "PROJECT", "havePermission": key != "SERVICEDESK_AGENT" or agent}
        for key in keys
    }
    return Answer(200, {"permissions": shown})


def _myself(box: Box) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "accountType": box.state.get("jira.account_type", "atlassian"),
        "emailAddress": EMAIL,
        "displayName": "Followup Writeback",
        "active": True,
        "timeZone": "Etc/UTC",
    }


def _status(name: str) -> dict[str, Any]:
    status_id, category = STATUSES[name]
    category_id, category_name = CATEGORIES[category]
    return {
        "id": status_id,
        "name": name,
        "statusCategory": {"id": category_id, "key": category, "name": category_name},
    }


def _issue_not_found() -> Answer:
    return _platform_error(404, "Issue does not exist or you do not have permission to see it.")


def _request_not_found() -> Answer:
    return _sd_error(
        404,
        "Request does not exist or you do not have permission to see it.",
        "sd.request.error.not.found",
    )


def _refs(ticket: Ticket) -> tuple[str, str]:
    """The issue's (id, key), whichever the test added it under."""
    if ticket.id.isdigit():
        return ticket.id, str(ticket.extra.get("key") or f"SUP-{ticket.id}")
    return str(ticket.extra.get("id") or 10000 + len(ticket.id)), ticket.id


def _issue(box: Box, ref: str) -> Answer:
    ticket = box.find("jira", ref)
    if ticket is None:
        return _issue_not_found()
    issue_id, key = _refs(ticket)
    return Answer(
        200,
        {
            "id": issue_id,
            "key": key,
            "fields": {"status": _status(ticket.status), "summary": ticket.subject},
        },
    )


def _available(ticket: Ticket) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [t for t in TRANSITIONS if ticket.status in t[2]]


def _transitions(box: Box, ref: str) -> Answer:
    ticket = box.find("jira", ref)
    if ticket is None:
        return _issue_not_found()
    shown = [
        {
            "id": transition_id,
            "name": name,
            "to": _status(target),
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        for transition_id, name, _, target in _available(ticket)
    ]
    return Answer(200, {"expand": "transitions", "transitions": shown})


def _transition(box: Box, ref: str, request: Request) -> Answer:
    ticket = box.find("jira", ref)
    if ticket is None:
        return _issue_not_found()
    try:
        body = request.json()
    except ValueError:
        return _platform_error(400, "Unexpected character in the request body: not JSON")
    transition = body.get("transition") if isinstance(body, dict) else None
    if not isinstance(transition, dict) or transition.get("id") is None:
        return _platform_error(400, "Missing 'transition' identifier")
    wanted = transition["id"]
    if not isinstance(wanted, str) or not wanted.isdigit():
        return _platform_error(400, "'transition' identifier must be an integer")
    for transition_id, _, _, target in _available(ticket):
        if transition_id == wanted:
            ticket.set_status(target)
            return Answer(204, "")
    return _platform_error(400, f"Transition id '{wanted}' is not valid for this issue.")


def _add_comment(box: Box, ref: str, request: Request) -> Answer:
    ticket = box.find("jira", ref)
    if ticket is None:
        return _request_not_found()
    try:
        body = request.json()
    except ValueError:
        return _sd_error(400, "The request body is not valid JSON.", "sd.rest.invalid.json")
    if not isinstance(body, dict):
        return _sd_error(400, "The request body is not valid JSON.", "sd.rest.invalid.json")
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        return _sd_error(400, "The comment body can't be empty.", "sd.comment.body.required")
    if len(text) > MAX_BODY:
        return _sd_error(400, "The comment is too long.", "sd.comment.body.too.long")
    public = body.get("public", True)
    if not isinstance(public, bool):
        return _sd_error(400, "public must be true or false.", "sd.rest.invalid.field")
    if ticket.status in NOT_EDITABLE:
        return _sd_error(
            403, "You can't comment on this request.", "sd.request.comment.not.permitted"
        )
    if box.state.get("jira.account_type", "atlassian") == "customer":
        public = True
    note = Note(box.new_id(), text, private=not public, author=EMAIL, kind="comment")
    ticket.notes.append(note)
    return Answer(201, _comment(note))


def _comment(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "body": note.body,
        "public": not note.private,
        "author": {"accountId": ACCOUNT_ID, "emailAddress": EMAIL, "displayName": "Followup"},
        "created": {"iso8601": "2024-01-01T00:00:00+0000", "epochMillis": 1704067200000},
    }


def _flag(request: Request, name: str) -> bool | None:
    raw = request.query.get(name, "true")
    return {"true": True, "false": False}.get(raw.lower())


def _comments(box: Box, ref: str, request: Request) -> Answer:
    ticket = box.find("jira", ref)
    if ticket is None:
        return _request_not_found()
    public, internal = _flag(request, "public"), _flag(request, "internal")
    try:
        start = int(request.query.get("start", "0"))
        limit = int(request.query.get("limit", str(MAX_PAGE)))
    except ValueError:
        return _sd_error(400, "start and limit must be numbers.", "sd.rest.invalid.field")
    if public is None or internal is None or start < 0 or limit < 1:
        return _sd_error(400, "Invalid query parameter.", "sd.rest.invalid.field")
    limit = min(limit, MAX_PAGE)
    shown = [n for n in ticket.notes if (internal if n.private else public)]
    page = shown[start : start + limit]
    return Answer(
        200,
        {
            "size": len(page),
            "start": start,
            "limit": limit,
            "isLastPage": start + len(page) >= len(shown),
            "values": [_comment(n) for n in page],
        },
    )
