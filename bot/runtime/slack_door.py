"""The door of `POST /slack/events`: size, timestamp and signature hold before Bolt sees a byte.

Slack signs each request it sends: `X-Slack-Request-Timestamp` is unix seconds and
`X-Slack-Signature` is `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` keyed with the
app's signing secret; a timestamp more than five minutes from local time is to be refused as a
possible replay (Slack's "Verifying requests from Slack"). Bolt checks the same, but only
after its adapter has read and decoded the whole body, and a non-numeric timestamp crashes its
check into the error handler, which would answer the unverified body's `response_url`. Here
nothing unverified is parsed, answered 500 or acted on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_SLACK_BODY = 1024 * 1024
"""1 MiB: a modal submission with a full view state is a few tens of KB."""
MAX_SKEW_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


@dataclass(frozen=True)
class Refusal:
    """Why a request was turned away: the HTTP status and a short reason (no echo of input)."""

    status: int
    reason: str


def check_signature(
    headers: Mapping[str, str], body: bytes, secret: str, now: float
) -> Refusal | None:
    """None when `body` carries a fresh, valid Slack signature; else 401 with the reason.

    Header names match in any case, as HTTP's do.
    """
    headers = {name.lower(): value for name, value in headers.items()}
    if not secret:
        return Refusal(401, "no signing secret is configured")
    stamp = headers.get("x-slack-request-timestamp", "").strip()
    if not stamp:
        return Refusal(401, "missing X-Slack-Request-Timestamp")
    if not _TIMESTAMP.match(stamp):
        return Refusal(401, "malformed X-Slack-Request-Timestamp (unix seconds expected)")
    if abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        return Refusal(401, "stale X-Slack-Request-Timestamp (more than 5 minutes off)")
    signature = headers.get("x-slack-signature", "").strip()
    if not _SIGNATURE.match(signature):
        return Refusal(401, "missing or malformed X-Slack-Signature")
    expected = hmac.new(
        secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(signature, f"v0={expected}"):
        return Refusal(401, "invalid X-Slack-Signature")
    return None


def body_problem(body: bytes, content_type: str | None) -> str | None:
    """Why a signed body is not one Bolt can read as an object (as
    `slack_bolt.request.internals.parse_body` reads it), or None when it is."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not text:
        return None
    try:
        if (content_type or "").split(";")[0].strip() == "application/json" or text.startswith("{"):
            parsed: object = json.loads(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            parsed = {} if payload is None else json.loads(payload)
        else:
            return None
    except RecursionError:
        return "body JSON is nested too deeply"
    except ValueError:
        return "body is not valid JSON"
    if not isinstance(parsed, dict):
        return "body JSON is not an object"
    return None
