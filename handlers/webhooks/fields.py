"""Payload readers of the webhook adapters: vendor JSON and form bodies into case values.

Each reader takes a vendor's raw value and the field's name, and returns ours or raises a 400
(`WebhookRejected`) naming the field; `make_case` turns the values into a `ClosedCase`.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from bot.cases import (
    MAX_RESOLUTION,
    MAX_SHORT,
    MAX_SUBJECT,
    CaseError,
    ClosedCase,
    Event,
    Severity,
    case_time_problem,
)

from .base import WebhookRequest, bad, check_content_type

MAX_JSON_DEPTH = 64


# --- bodies -----------------------------------------------------------------------------------


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad("body", f"is not valid UTF-8 (byte {err.start})") from err


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(body: bytes) -> Any:
    """Decode a JSON body: 400 for invalid UTF-8, invalid JSON or nesting deeper than 64."""
    text = decode_text(body)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise bad("body", "is empty")
    # Cheap count first: only a body with many brackets needs the full scan.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nesting_depth(text) > MAX_JSON_DEPTH:
        raise bad("body", f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError as err:
        raise bad("body", "JSON is nested too deeply") from err
    except ValueError as err:
        raise bad("body", f"is not valid JSON ({err})") from err


def parse_object(body: bytes) -> dict[str, Any]:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise bad("body", "must be a JSON object")
    return data


def parse_form(body: bytes) -> dict[str, Any]:
    text = decode_text(body)
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
    except ValueError as err:
        raise bad("body", f"is not a valid form ({err})") from err


def parse_object_or_form(request: WebhookRequest) -> dict[str, Any]:
    kind = check_content_type(request, form=True)
    return parse_form(request.body) if kind == "form" else parse_object(request.body)


# --- reading fields ---------------------------------------------------------------------------

_UNRENDERED = re.compile(r"^\{\{.*\}\}$|^\{%.*%\}$", re.S)


def dig(data: Any, *path: str | int) -> Any:
    """The value at a path of keys/indexes, or None when any step is missing or the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
            data = data[step]
        else:
            if not isinstance(data, dict):
                return None
            data = data.get(step)
    return data


def obj(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def text(value: Any, name: str) -> str | None:
    """A string field: None when absent, empty or an unrendered placeholder; numbers allowed."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise bad(name, "must be a string")
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise bad(name, "must be a string")
    value = value.strip()
    if not value or _UNRENDERED.match(value):
        return None
    return value


def required_text(value: Any, name: str) -> str:
    result = text(value, name)
    if result is None:
        raise bad(name, "is required")
    return result


def ident(value: Any, name: str) -> str | None:
    """An id sent as a string (kept as sent) or a JSON number that is a finite integer.

    Python's json reads `1e999` as infinity and `NaN` as not-a-number: stored as "inf" or "nan",
    different tickets would become one, so they are refused, as are fractions and booleans.
    """
    if isinstance(value, bool):
        raise bad(name, "must be a string or an integer, not true or false")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise bad(name, f"must be a string or a whole number, not {value!r}")
        value = int(value)
    return text(value, name)


def required_ident(value: Any, name: str) -> str:
    result = ident(value, name)
    if result is None:
        raise bad(name, "is required")
    return result


def email(value: Any, name: str) -> str | None:
    """An email address, or None when absent or not shaped like one (vendors send blanks)."""
    result = text(value, name)
    if result is None or "@" not in result or len(result) > 320 or any(c.isspace() for c in result):
        return None
    return result


def clip(value: str | None, limit: int) -> str | None:
    """Vendor text cut to a field's limit (a vendor's long subject must not refuse the event)."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def full_name(*parts: Any) -> str | None:
    words = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
    return " ".join(words) or None


_TAG = re.compile(r"<[^>]+>")


def strip_html(value: str | None) -> str | None:
    if value is None:
        return None
    plain = html.unescape(_TAG.sub(" ", value))
    plain = " ".join(plain.split())
    return plain or None


def tag_list(value: Any, name: str, *, key: str | None = None, sep: str | None = None) -> tuple:
    """Tags from a list of strings, a list of objects (by `key`) or a separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = value.replace(",", " ").split() if sep is None else value.split(sep)
    elif isinstance(value, list):
        items = value
    else:
        raise bad(name, "must be a list of tags")
    tags: list[str] = []
    for item in items:
        if isinstance(item, dict) and key is not None:
            item = item.get(key)
        if isinstance(item, str) and item.strip() and not _UNRENDERED.match(item.strip()):
            tag = item.strip()[:100]
            if tag not in tags:
                tags.append(tag)
    return tuple(tags[:50])


def parse_time(value: Any, name: str, *, now: datetime, required: bool = False) -> datetime | None:
    """ISO 8601 (with an offset or Z) or a Unix time in seconds or milliseconds.

    Every case time of every adapter comes through here: a time outside the sane window (from
    2000-01-01 to one year after `now`, the time the request was received) is a 400 naming the
    field, checked before any arithmetic on the value (year 9999 + a day overflows).
    """
    moment = _read_time(value, name)
    if moment is None:
        if required:
            raise bad(name, "is required")
        return None
    problem = case_time_problem(moment, now)
    if problem is not None:
        raise bad(name, problem)
    return moment


def _read_time(value: Any, name: str) -> datetime | None:
    if value is None or value == "" or (isinstance(value, str) and _UNRENDERED.match(value)):
        return None
    if isinstance(value, bool):
        raise bad(name, "must be a time")
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdecimal():
        value = float(value.strip())
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise bad(name, "is not a valid Unix time")
        seconds = value / 1000 if abs(value) > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise bad(name, "is not a valid Unix time") from err
    if not isinstance(value, str):
        raise bad(name, "must be an ISO 8601 time")
    raw = value.strip()
    try:
        moment = datetime.fromisoformat(raw.replace(" UTC", "+00:00"))
    except ValueError as err:
        raise bad(name, f"is not an ISO 8601 time: {raw[:40]!r}") from err
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise bad(name, "must carry a time zone (ISO 8601 with offset or Z)")
    return moment


def lookup(table: Mapping[str, Any], value: str | None, default: Any = None) -> Any:
    """Map a vendor's word onto ours by the first table key found in it (case-insensitive)."""
    if value is None:
        return default
    lowered = value.lower()
    for key, result in table.items():
        if key in lowered:
            return result
    return default


def priority_of(value: str | None) -> Severity:
    """Our severity for a vendor's priority word."""
    table = {
        "urgent": Severity.URGENT,
        "highest": Severity.URGENT,
        "critical": Severity.URGENT,
        "blocker": Severity.URGENT,
        "high": Severity.HIGH,
        "low": Severity.LOW,
        "medium": Severity.NORMAL,
        "normal": Severity.NORMAL,
    }
    return lookup(table, value, Severity.NORMAL)


def template_body_fields(
    data: Mapping[str, Any],
    event: Event,
    request: WebhookRequest,
    *,
    owner_key: str,
    company_key: str,
    closed_key: str,
) -> dict[str, Any]:
    """Case fields from a body an admin writes with a helpdesk's placeholders.

    Zendesk triggers and Freshdesk automation rules both post such a flat body, with keys our
    templates fix (ZENDESK_TRIGGER_BODY, FRESHDESK_RULE_BODY; docs/helpdesks.md); only the
    names of the owner, company and time keys differ.
    """
    ticket_id = required_ident(data.get("ticket_id"), "ticket_id")
    if event is Event.CLOSED:
        subject = required_text(data.get("subject"), "subject")
    else:
        subject = text(data.get("subject"), "subject") or ""
    owner = email(data.get(owner_key), owner_key)
    return {
        "external_id": ticket_id,
        "subject": clip(subject, MAX_SUBJECT) or "",
        "closed_at": parse_time(data.get(closed_key), closed_key, now=request.received_at)
        or request.received_at,
        "owner_email": owner,
        "customer_name": clip(text(data.get("requester_name"), "requester_name"), MAX_SHORT),
        "customer_email": email(data.get("requester_email"), "requester_email"),
        "customer_external_id": ident(data.get("requester_id"), "requester_id"),
        "company": clip(text(data.get(company_key), company_key), MAX_SHORT),
        "team": clip(text(data.get("group"), "group"), MAX_SHORT),
        "resolution": clip(text(data.get("resolution"), "resolution"), MAX_RESOLUTION),
        "event": event,
    }


def make_case(**fields: Any) -> ClosedCase:
    """Build a ClosedCase, turning its validation error into a 400 naming the field."""
    try:
        return ClosedCase(**fields)
    except CaseError as err:
        raise bad(err.field, err.message) from err
