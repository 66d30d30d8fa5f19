"""`generic`: our own documented JSON for any helpdesk or script (docs/helpdesks.md).

Signing is ours too: `X-Followup-Timestamp: <unix seconds>` and
`X-Followup-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, refused when the
timestamp is more than five minutes away from the time the request arrived.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.cases import Channel, Event, Kind, Severity

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_fresh,
    epoch_header,
    hmac_hex,
    require_header,
    same,
    secret_for,
    unauthorized,
)
from .fields import (
    make_case,
    parse_object,
    parse_time,
)
from .recipe import Recipe

TIMESTAMP_HEADER = "X-Followup-Timestamp"
SIGNATURE_HEADER = "X-Followup-Signature"

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_OPTIONAL_TEXT = ("resolution", "customer_name", "company", "team")


def sign_generic(secret: str, body: bytes, timestamp: int | datetime) -> dict[str, str]:
    """Headers that sign `body` for the generic endpoint (tests, the demo, benchmarks)."""
    seconds = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)
    message = f"{seconds}.".encode() + body
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(seconds),
        SIGNATURE_HEADER: f"sha256={hmac_hex(secret, message, 'sha256')}",
    }


def _string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(name, "must be a string")
    return value.strip() or None


def _choice(data: dict[str, Any], name: str, kind: type[StrEnum], default: Any) -> Any:
    value = _string(data, name)
    if value is None:
        return default
    try:
        return kind(value.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise bad(name, f"unknown value {value!r} (one of: {allowed})") from None


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(name, "must be true or false")
    return value


def _email(data: dict[str, Any], name: str) -> str | None:
    value = _string(data, name)
    if value is not None and (value.count("@") != 1 or any(c.isspace() for c in value)):
        raise bad(name, f"is not an email address: {value[:80]!r}")
    return value


class GenericAdapter:
    source = "generic"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        moment = epoch_header(request, TIMESTAMP_HEADER, millis=False)
        given = require_header(request, SIGNATURE_HEADER)
        check_fresh(moment, request, config, TIMESTAMP_HEADER)
        timestamp = require_header(request, TIMESTAMP_HEADER)
        expected = f"sha256={hmac_hex(secret, f'{timestamp}.'.encode() + request.body, 'sha256')}"
        if not same(given, expected):
            raise unauthorized(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        event = _choice(data, "event", Event, Event.CLOSED)
        case_id = data.get("case_id")
        if isinstance(case_id, bool) or not isinstance(case_id, str | int):
            raise bad("case_id", "is required (a string)")
        subject = data.get("subject", "" if event is Event.REOPENED else None)
        if not isinstance(subject, str):
            raise bad("subject", "is required (a string)")
        closed_at = data.get("closed_at")
        if not isinstance(closed_at, str):
            raise bad("closed_at", "is required (ISO 8601 with an offset)")
        owner_email = _email(data, "owner_email")
        owner_slack_id = _string(data, "owner_slack_id")
        if owner_slack_id is not None and not _SLACK_USER.match(owner_slack_id):
            raise bad("owner_slack_id", f"is not a Slack user id: {owner_slack_id[:40]!r}")
        tags = data.get("tags", [])
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise bad("tags", "must be a list of strings")
        url = _string(data, "url")
        if url is not None and not url.lower().startswith(("https://", "http://")):
            raise bad("url", "must be an http(s) URL")
        optional = {name: _string(data, name) for name in _OPTIONAL_TEXT}
        case = make_case(
            source=self.source,
            external_id=str(case_id).strip(),
            subject=subject.strip(),
            closed_at=parse_time(
                closed_at.strip(), "closed_at", required=True, now=request.received_at
            ),
            owner_email=owner_email,
            owner_slack_id=owner_slack_id,
            customer_email=_email(data, "customer_email"),
            customer_external_id=_string(data, "customer_id"),  # the helpdesk's requester id
            account_manager_email=_email(data, "account_manager_email"),
            channel=_choice(data, "channel", Channel, Channel.EMAIL),
            severity=_choice(data, "severity", Severity, Severity.NORMAL),
            kind=_choice(data, "kind", Kind, Kind.REQUEST),
            b2b=_flag(data, "b2b"),
            senior_involved=_flag(data, "senior_involved"),
            tags=tuple(t.strip() for t in tags if t.strip()),
            url=url,
            event=event,
            **optional,
        )
        if event is Event.CLOSED and not (owner_email or owner_slack_id):
            raise bad("owner_email", "an owner_email or owner_slack_id is required")
        return WebhookResult(cases=[case])


_SAMPLE_BODY = {
    "case_id": "followup-test-1",
    "subject": "Invoice shows the wrong billing address",
    "resolution": "Updated the billing address and re-issued the invoice",
    "closed_at": "<ISO 8601 time the case closed, with offset>",
    "owner_email": "agent@example.com",
    "customer_name": "Priya Shah",
    "customer_email": "priya@example.org",
    "channel": "email",
}

RECIPE = Recipe(
    source="generic",
    vendor="Generic JSON (your own script, or a helpdesk not listed)",
    steps=(
        "When a case closes, POST one JSON object to {url} with Content-Type application/json "
        "(fields: docs/helpdesks.md, The endpoint).",
        "Sign it: header X-Followup-Timestamp = the Unix time in seconds, header "
        'X-Followup-Signature = "sha256=" + hex HMAC-SHA256 of "<timestamp>.<raw body>" '
        "keyed with the secret.",
        'When the case is reopened, POST the same object with "event": "reopened" and '
        '"closed_at" the time it reopened: only a reopen starts a new follow-up cycle.',
    ),
    secret="a random value of at least 16 characters you make and give your sender "
    '(python3 -c "import secrets; print(secrets.token_urlsafe(24))")',
    body=json.dumps(_SAMPLE_BODY, indent=2),
    body_label="Example body",
    notes=(
        "A timestamp more than 5 minutes from the bot's clock is refused: keep the sender's "
        "clock synchronised.",
        "owner_email (or owner_slack_id) is required: it names who follows up.",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A signed close as the recipe's sender makes it (`followup webhooks test generic`)."""
    body = json.dumps(_SAMPLE_BODY | {"case_id": case_id, "closed_at": now.isoformat()}).encode()
    return body, sign_generic(secret, body, now)
