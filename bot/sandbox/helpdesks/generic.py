"""A receiver of Followup's generic write-back events, as docs/writeback.md tells anyone to
build one: it checks the signature and the 5-minute window, keeps each `X-Followup-Delivery`
it has seen (a retry of one it took is answered 200 and dropped), notes the event on the
ticket it names, and reopens it when the event asks."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from bot.sandbox.helpdesks.core import Box, Note, Request
from bot.sandbox.server import Answer

SECRET = "generic-writeback-secret-0123456789"
CLOSED_STATUS = "closed"
WINDOW_SECONDS = 300


def settings(box: Box) -> dict[str, str]:
    return {"URL": box.url("generic") + "/events", "SECRET": SECRET}


def error_body(status: int) -> dict[str, Any] | str:
    return {"error": f"HTTP {status}"}


def handle(box: Box, request: Request) -> Answer:
    if request.method != "POST" or request.path != "/events":
        return Answer(404, {"error": "not found"})
    stamp = request.header("X-Followup-Timestamp")
    now = box.state.get("now", time.time)()
    if not stamp.isdigit() or abs(now - int(stamp)) > WINDOW_SECONDS:
        return Answer(401, {"error": "timestamp missing or more than 5 minutes off"})
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
    if not hmac.compare_digest(
        request.header("X-Followup-Signature"), "sha256=" + digest.hexdigest()
    ):
        return Answer(401, {"error": "bad signature"})
    delivery = request.header("X-Followup-Delivery")
    if not delivery:
        return Answer(400, {"error": "X-Followup-Delivery is missing"})
    seen: set[str] = box.state.setdefault("generic_seen", set())
    if delivery in seen:
        return Answer(200, {"ok": True, "duplicate": True})
    try:
        event = request.json()
        case = event["case"]
        note = str(event["note"])
        reopen = event["reopen"]
        source_id = str(case["id"])
    except (ValueError, KeyError, TypeError):
        return Answer(400, {"error": "expected event, case.id, note and reopen"})
    if not isinstance(reopen, bool) or event.get("event") not in (
        "outcome_recorded",
        "escalation_handled",
    ):
        return Answer(400, {"error": "unknown event or reopen not a boolean"})
    ticket = box.find("generic", source_id) or box.add_ticket("generic", source_id)
    ticket.notes.append(Note(box.new_id(), note, private=True, kind="event"))
    if reopen and ticket.status != "open":
        ticket.set_status("open")
    seen.add(delivery)
    box.state.setdefault("generic_events", []).append(event)
    return Answer(200, {"ok": True})
