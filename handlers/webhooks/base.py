"""Shared pieces of the webhook adapters: request/result types, body decoding, signatures.

Adapters are pure: they take a `WebhookRequest` (raw bytes and headers, as received) and return
a `WebhookResult` or raise `WebhookRejected`. The HTTP server and the store live elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl

from bot.cases import (
    MAX_RESOLUTION,
    MAX_SHORT,
    MAX_SUBJECT,
    CaseError,
    ClosedCase,
    Event,
    Severity,
)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
DEFAULT_TOLERANCE = timedelta(minutes=5)


class CaseInsensitiveHeaders(Mapping[str, str]):
    """Read-only headers whose lookup ignores case, as HTTP says it must."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in (headers or {}).items():
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"CaseInsensitiveHeaders({dict(self.items())!r})"


@dataclass(frozen=True)
class WebhookRequest:
    """One inbound webhook call, exactly as received."""

    source: str
    method: str
    url: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveHeaders):
            object.__setattr__(self, "headers", CaseInsensitiveHeaders(self.headers))

    def header(self, name: str) -> str | None:
        """A header's value with surrounding blanks removed, or None when absent or empty."""
        value = self.headers.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None


@dataclass(frozen=True)
class WebhookConfig:
    """Per-source settings, built by the settings object from WEBHOOK_SECRET_<SOURCE> and co."""

    secret: str | None
    insecure: bool = False
    # HubSpot's default ticket pipeline: 1 New, 2 Waiting on contact, 3 Waiting on us, 4 Closed.
    hubspot_closed_stages: frozenset[str] = frozenset({"4"})
    # HubSpot v1/v2 signatures carry no timestamp (replayable); off unless asked for.
    hubspot_accept_v1_v2: bool = False
    freshdesk_token_header: str = "X-Followup-Token"
    timestamp_tolerance: timedelta = DEFAULT_TOLERANCE
    max_body_bytes: int = MAX_BODY_BYTES


class WebhookRejected(Exception):
    """A request refused with an HTTP status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class WebhookResult:
    """What one request carried: cases to store, events ignored, the vendor's delivery id."""

    cases: list[ClosedCase] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    delivery_id: str | None = None
    challenge: str | None = None
    """A handshake value the server must echo back (Front's `X-Front-Challenge`)."""


class Adapter(Protocol):
    source: str

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None: ...

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult: ...


# --- errors -----------------------------------------------------------------------------------


def bad(field_name: str, problem: str) -> WebhookRejected:
    return WebhookRejected(400, f"{field_name}: {problem}")


def unauthorized(problem: str) -> WebhookRejected:
    return WebhookRejected(401, problem)


def make_case(**fields: Any) -> ClosedCase:
    """Build a ClosedCase, turning its validation error into a 400 naming the field."""
    try:
        return ClosedCase(**fields)
    except CaseError as err:
        raise bad(err.field, err.message) from err


# --- secrets and signatures -------------------------------------------------------------------


def secret_for(request: WebhookRequest, config: WebhookConfig) -> str | None:
    """The secret to check against, None when the source is marked insecure; 401 when unset."""
    if config.insecure:
        return None
    if not config.secret:
        name = request.source.upper()
        raise unauthorized(f"no secret configured for {request.source}: set WEBHOOK_SECRET_{name}")
    return config.secret


def hmac_digest(secret: str, message: bytes, algorithm: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, getattr(hashlib, algorithm)).digest()


def hmac_hex(secret: str, message: bytes, algorithm: str) -> str:
    return hmac_digest(secret, message, algorithm).hex()


def hmac_b64(secret: str, message: bytes, algorithm: str) -> str:
    return base64.b64encode(hmac_digest(secret, message, algorithm)).decode("ascii")


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a received signature with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


def require_header(request: WebhookRequest, name: str) -> str:
    value = request.header(name)
    if value is None:
        raise unauthorized(f"missing {name} header")
    return value


def check_prefixed_hex(
    request: WebhookRequest, secret: str, header: str, prefix: str, algorithm: str
) -> None:
    """`<prefix>=<hex HMAC of the raw body>` (GitHub-style, used by Intercom, Jira, Zammad)."""
    given = require_header(request, header)
    expected = f"{prefix}={hmac_hex(secret, request.body, algorithm)}"
    # Hex case is not significant; the prefix must match exactly.
    if not same(given.lower() if given.startswith(prefix + "=") else given, expected):
        raise unauthorized(f"{header} does not match the body")


def check_fresh(
    moment: datetime, request: WebhookRequest, config: WebhookConfig, name: str
) -> None:
    """Refuse a signed timestamp further than the tolerance from the time we received it."""
    if abs(request.received_at - moment) > config.timestamp_tolerance:
        minutes = int(config.timestamp_tolerance.total_seconds() // 60)
        raise unauthorized(f"{name} is more than {minutes} minutes off: refused as stale")


def epoch_header(request: WebhookRequest, name: str, *, millis: bool) -> datetime:
    raw = require_header(request, name)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16:  # "²".isdigit() is True
        raise unauthorized(
            f"{name} must be a Unix time in {'milliseconds' if millis else 'seconds'}"
        )
    value = int(raw) / 1000 if millis else int(raw)
    return datetime.fromtimestamp(value, UTC)


# --- bodies -----------------------------------------------------------------------------------

JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"


def media_type(request: WebhookRequest) -> str | None:
    value = request.header("Content-Type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def check_content_type(request: WebhookRequest, *, form: bool = False) -> str:
    """'json' or 'form'; 415 for anything else (a missing Content-Type is read as JSON)."""
    kind = media_type(request)
    if kind is None or kind in JSON_TYPES or kind.endswith("+json"):
        return "json"
    if form and kind == FORM_TYPE:
        return "form"
    accepted = "application/json" + (f" or {FORM_TYPE}" if form else "")
    raise WebhookRejected(415, f"Content-Type {kind} is not accepted: send {accepted}")


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
    """An id sent as a string or an integer."""
    if isinstance(value, float) and value.is_integer():
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


def parse_time(value: Any, name: str, *, required: bool = False) -> datetime | None:
    """ISO 8601 (with an offset or Z) or a Unix time in seconds or milliseconds."""
    if value is None or value == "" or (isinstance(value, str) and _UNRENDERED.match(value)):
        if required:
            raise bad(name, "is required")
        return None
    if isinstance(value, bool):
        raise bad(name, "must be a time")
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdecimal():
        value = float(value.strip())
    if isinstance(value, int | float):
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

    Zendesk triggers and Freshdesk automation rules both post such a flat body, with keys the
    README's templates fix; only the names of the owner, company and time keys differ.
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
        "closed_at": parse_time(data.get(closed_key), closed_key) or request.received_at,
        "owner_email": owner,
        "customer_name": clip(text(data.get("requester_name"), "requester_name"), MAX_SHORT),
        "customer_email": email(data.get("requester_email"), "requester_email"),
        "company": clip(text(data.get(company_key), company_key), MAX_SHORT),
        "team": clip(text(data.get("group"), "group"), MAX_SHORT),
        "resolution": clip(text(data.get("resolution"), "resolution"), MAX_RESOLUTION),
        "event": event,
    }
