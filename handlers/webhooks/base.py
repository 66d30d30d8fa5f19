"""Shared pieces of the webhook adapters: request/result types, rejections, signatures.

Adapters are pure: they take a `WebhookRequest` (raw bytes and headers, as received) and return
a `WebhookResult` or raise `WebhookRejected`. The HTTP server and the store live elsewhere.
Reading a payload's fields into case values is handlers/webhooks/fields.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.cases import ClosedCase

MAX_BODY_BYTES = 1024 * 1024
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


TOKEN_HEADER = "X-Followup-Token"
"""Where a sender that cannot sign puts the shared token (= WEBHOOK_SECRET_<SOURCE>)."""
TOKEN_PARAM = "token"
"""The URL query parameter for a sender that can set neither a signature nor a header."""
TOKEN_PLACES = ("header", "query")


@dataclass(frozen=True)
class WebhookConfig:
    """Per-source settings, built from the settings object (bot/config.py) for one request."""

    secret: str | None
    insecure: bool = False
    # HubSpot's default ticket pipeline: 1 New, 2 Waiting on contact, 3 Waiting on us, 4 Closed.
    # Stage ids are unique in a HubSpot account, so one flat set covers every pipeline.
    hubspot_closed_stages: frozenset[str] = frozenset({"4"})
    # A move into one of these is a reopen; into a stage in neither set, ignored with a reason.
    hubspot_open_stages: frozenset[str] = frozenset({"1", "2", "3"})
    # HubSpot v1/v2 signatures carry no timestamp (replayable); off unless asked for
    # (HUBSPOT_ACCEPT_V2), and then a v2 body must carry a fresh time (hubspot.py).
    hubspot_accept_v1_v2: bool = False
    freshdesk_token_header: str = TOKEN_HEADER
    token_place: str | None = None
    """"header" or "query" when this source may authenticate with the shared token instead of
    a signature (WEBHOOK_TOKEN_SOURCES); None when it must sign (Freshdesk never signs: header)."""
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


def check_token(
    request: WebhookRequest, secret: str, *, place: str, header: str = TOKEN_HEADER
) -> None:
    """The shared token, from a header or from `?token=`, compared in constant time.

    Weaker than a signature: whoever sees one request can replay it, and a token in the URL
    shows in every proxy's access log. Only for senders that cannot sign."""
    if place == "query":
        given, where = request.query.get(TOKEN_PARAM), f"the {TOKEN_PARAM} in the URL"
        missing = f"missing ?{TOKEN_PARAM}= in the URL"
    else:
        given, where, missing = request.header(header), header, f"missing {header} header"
    if given is None or not given.strip():
        raise unauthorized(missing)
    if not same(given, secret):
        raise unauthorized(f"{where} is wrong")


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
