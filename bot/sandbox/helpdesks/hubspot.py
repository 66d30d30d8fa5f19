"""HubSpot's CRM API as far as write-back uses it: tickets (v3), notes (v3, with associations
and batch read), ticket-to-note associations (v4) and account details.
bot/writeback/vendors/hubspot.py cites each fact. Auth is `Bearer <private app token>`; a
ticket's status is its `hs_pipeline_stage`, which must be a stage of its `hs_pipeline`
(`ticket.extra["pipeline"]`, "0" by default). Notes are always internal.

`box.state["hubspot.scopes"]` (a set) narrows the token's scopes: account details need
`oauth`, tickets calls `tickets`; creating a note needs `crm.objects.contacts.write`, reading one
`crm.objects.contacts.read` (the scopes the notes API lists). The token gets 100 calls per
10 seconds (a Free or Starter account), then 429 without Retry-After (the stricter reading:
HubSpot's docs do not promise one)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request, Ticket
from bot.sandbox.server import Answer

TOKEN = "pat-na1-00000000-sandbox-token-0123456789"
CLOSED_STATUS = "4"
PORTAL_ID = 62515
PIPELINES: dict[str, tuple[str, ...]] = {
    "0": ("1", "2", "3", "4"),
    "812723471": ("1234912", "1234913", "1234914"),
}
"""Pipeline id -> its stage ids (the default support pipeline, and one custom pipeline)."""
TICKET_PROPERTIES = ("subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority")
ALL_SCOPES = frozenset(
    {"oauth", "tickets", "crm.objects.contacts.read", "crm.objects.contacts.write"}
)
NOTE_TO_TICKET = 228
TICKET_TO_NOTE = 227
MAX_NOTE = 65_536
BURST_LIMIT = 100
BURST_WINDOW = 10.0

_TICKET = re.compile(r"^/crm/v3/objects/tickets/([^/]+)$")
_TICKET_NOTES = re.compile(
    r"^/crm/v4/objects/(?:ticket|tickets|0-5)/([^/]+)/associations/(?:note|notes|0-46)$"
)


def settings(box: Box) -> dict[str, str]:
    return {"TOKEN": TOKEN, "REOPEN_STAGE": "3", "URL": box.url("hubspot")}


def _error(status: int, message: str, category: str, **extra: Any) -> Answer:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Answer(status, body)


def _rate_limited() -> dict[str, Any]:
    return {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": "TEN_SECONDLY_ROLLING",
    }


def error_body(status: int) -> dict[str, Any] | str:
    if status == 429:
        return _rate_limited()
    return {
        "status": "error",
        "message": f"HTTP {status}",
        "correlationId": str(uuid.uuid4()),
        "category": "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR",
    }


def handle(box: Box, request: Request) -> Answer:
    if request.header("Authorization") != f"Bearer {TOKEN}":
        return _error(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication "
            "and you can find more details at "
            "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
        )
    now = time.monotonic()
    recent = [t for t in box.state.get("hubspot.calls", []) if now - t < BURST_WINDOW]
    if len(recent) >= BURST_LIMIT:
        return Answer(429, _rate_limited())
    box.state["hubspot.calls"] = [*recent, now]
    if request.method in ("POST", "PATCH", "PUT") and not request.header("Content-Type").startswith(
        "application/json"
    ):
        return _error(415, "Unsupported Media Type", "VALIDATION_ERROR")
    path, method = request.path.rstrip("/"), request.method
    if method == "GET" and path == "/account-info/v3/details":
        return _needs(box, "oauth") or Answer(200, _account())
    if path == "/crm/v3/objects/tickets" and method == "GET":
        return _needs(box, "tickets") or Answer(200, {"results": []})
    found = _TICKET.match(path)
    if found and method == "GET":
        return _needs(box, "tickets") or _get_ticket(box, found.group(1))
    if found and method == "PATCH":
        return _needs(box, "tickets") or _update_ticket(box, found.group(1), request)
    if path == "/crm/v3/objects/notes" and method == "POST":
        return _needs(box, "crm.objects.contacts.write") or _create_note(box, request)
    if path == "/crm/v3/objects/notes/batch/read" and method == "POST":
        return _needs(box, "crm.objects.contacts.read") or _read_notes(box, request)
    found = _TICKET_NOTES.match(path)
    if found and method == "GET":
        return _needs(box, "tickets") or _ticket_notes(box, found.group(1), request)
    return Answer(404, "")


def _needs(box: Box, scope: str) -> Answer | None:
    if scope in box.state.get("hubspot.scopes", ALL_SCOPES):
        return None
    return _error(
        403,
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]},
            }
        ],
    )


def _account() -> dict[str, Any]:
    return {
        "portalId": PORTAL_ID,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18000000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


def _not_found() -> Answer:
    return _error(404, "resource not found", "OBJECT_NOT_FOUND")


def _pipeline(ticket: Ticket) -> str:
    return str(ticket.extra.get("pipeline", "0"))


def _shown_ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "properties": {
            "hs_object_id": ticket.id,
            "hs_pipeline": _pipeline(ticket),
            "hs_pipeline_stage": ticket.status,
            "subject": ticket.subject,
        },
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
        "archived": False,
    }


def _get_ticket(box: Box, ticket_id: str) -> Answer:
    ticket = box.find("hubspot", ticket_id)
    return _not_found() if ticket is None else Answer(200, _shown_ticket(ticket))


def _invalid_property(name: str, message: str, error: str) -> Answer:
    detail = f'[{{"isValid":false,"message":"{message}","error":"{error}","name":"{name}"}}]'
    return _error(400, f"Property values were not valid: {detail}", "VALIDATION_ERROR")


def _update_ticket(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("hubspot", ticket_id)
    if ticket is None:
        return _not_found()
    try:
        body = request.json()
    except ValueError:
        return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        return _error(400, "properties is required", "VALIDATION_ERROR")
    for name, value in properties.items():
        if name not in TICKET_PROPERTIES:
            return _invalid_property(
                name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST"
            )
        if not isinstance(value, str):
            return _invalid_property(name, f"{value!r} is not a string", "INVALID_OPTION")
    pipeline = str(properties.get("hs_pipeline", _pipeline(ticket)))
    if pipeline not in PIPELINES:
        return _invalid_property("hs_pipeline", f"{pipeline} is not a pipeline", "INVALID_OPTION")
    stage = properties.get("hs_pipeline_stage", ticket.status)
    if stage not in PIPELINES[pipeline]:
        return _invalid_property(
            "hs_pipeline_stage",
            f"{stage} was not one of the allowed options for pipeline {pipeline}",
            "INVALID_OPTION",
        )
    ticket.extra["pipeline"] = pipeline
    if stage != ticket.status:
        ticket.set_status(stage)
    if "subject" in properties:
        ticket.subject = properties["subject"]
    return Answer(200, _shown_ticket(ticket))


def _valid_timestamp(raw: Any) -> bool:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw >= 0
    if not isinstance(raw, str) or not raw:
        return False
    if raw.isdigit():
        return True
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _create_note(box: Box, request: Request) -> Answer:
    try:
        body = request.json()
    except ValueError:
        return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        return _error(400, "properties is required", "VALIDATION_ERROR")
    if not _valid_timestamp(properties.get("hs_timestamp")):
        return _invalid_property(
            "hs_timestamp", "hs_timestamp is required: a timestamp in ms or UTC", "INVALID_DATE"
        )
    text = properties.get("hs_note_body", "")
    if not isinstance(text, str) or len(text) > MAX_NOTE:
        return _invalid_property(
            "hs_note_body", f"hs_note_body is at most {MAX_NOTE} characters", "INVALID_OPTION"
        )
    tickets: list[Ticket] = []
    associations = body.get("associations", [])
    if not isinstance(associations, list):
        return _error(400, "associations must be a list", "VALIDATION_ERROR")
    for association in associations:
        target = association.get("to") if isinstance(association, dict) else None
        types = association.get("types") if isinstance(association, dict) else None
        target_id = target.get("id") if isinstance(target, dict) else None
        if not isinstance(target_id, str | int) or not isinstance(types, list) or not types:
            return _error(400, "Each association needs to.id and types", "VALIDATION_ERROR")
        for kind in types:
            if not isinstance(kind, dict) or kind.get("associationCategory") != "HUBSPOT_DEFINED":
                return _error(400, "Invalid association category", "VALIDATION_ERROR")
            if kind.get("associationTypeId") != NOTE_TO_TICKET:
                return _error(
                    400,
                    f"association type {kind.get('associationTypeId')} is not note to ticket",
                    "VALIDATION_ERROR",
                )
        ticket = box.find("hubspot", str(target_id))
        if ticket is None:
            return _error(
                400, f"One or more associations are invalid: ticket {target_id}", "VALIDATION_ERROR"
            )
        tickets.append(ticket)
    note_id = box.new_id()
    box.state.setdefault("hubspot.notes", {})[note_id] = text
    for ticket in tickets:
        ticket.notes.append(Note(note_id, text, private=True, kind="note"))
    return Answer(201, _shown_note(note_id, text, ["hs_note_body", "hs_timestamp"]))


def _shown_note(note_id: str, text: str, properties: list[str]) -> dict[str, Any]:
    values = {"hs_note_body": text, "hs_timestamp": "2024-01-01T00:00:00.000Z"}
    shown = {name: values[name] for name in properties if name in values}
    shown.update(
        hs_object_id=note_id,
        hs_createdate="2024-01-01T00:00:00.000Z",
        hs_lastmodifieddate="2024-01-01T00:00:00.000Z",
    )
    return {
        "id": note_id,
        "properties": shown,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
        "archived": False,
    }


def _ticket_notes(box: Box, ticket_id: str, request: Request) -> Answer:
    ticket = box.find("hubspot", ticket_id)
    if ticket is None:
        return _not_found()
    try:
        limit = int(request.query.get("limit", "500"))
        start = int(request.query.get("after", "0") or "0")
    except ValueError:
        return _error(400, "limit and after must be numbers", "VALIDATION_ERROR")
    limit = max(1, min(limit, 500))
    ids = list(dict.fromkeys(n.id for n in ticket.notes if n.kind == "note"))
    page = ids[start : start + limit]
    body: dict[str, Any] = {
        "results": [
            {
                "toObjectId": int(note_id),
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": TICKET_TO_NOTE, "label": None}
                ],
            }
            for note_id in page
        ]
    }
    if start + limit < len(ids):
        body["paging"] = {"next": {"after": str(start + limit), "link": None}}
    return Answer(200, body)


def _read_notes(box: Box, request: Request) -> Answer:
    try:
        body = request.json()
    except ValueError:
        return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs or len(inputs) > 100:
        return _error(400, "inputs: between 1 and 100 ids", "VALIDATION_ERROR")
    properties = body.get("properties", [])
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        return _error(400, "properties must be a list of names", "VALIDATION_ERROR")
    notes: dict[str, str] = box.state.get("hubspot.notes", {})
    results, missing = [], []
    for item in inputs:
        note_id = str(item.get("id")) if isinstance(item, dict) else ""
        if note_id in notes:
            results.append(_shown_note(note_id, notes[note_id], properties))
        else:
            missing.append(note_id)
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": "2024-01-01T00:00:00.000Z",
        "completedAt": "2024-01-01T00:00:00.000Z",
    }
    if not missing:
        return Answer(200, answer)
    answer["numErrors"] = 1
    answer["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some NOTE objects, they may be deleted or not exist.",
            "context": {"ids": missing},
        }
    ]
    return Answer(207, answer)
