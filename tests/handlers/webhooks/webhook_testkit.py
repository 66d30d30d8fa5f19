"""Shared helpers for the webhook adapter tests: requests, configs and each vendor's signer.

The signers are written from the vendors' documented schemes, independently of the adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.webhooks import (
    WebhookConfig,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    handle,
    sign_generic,
)

NOW = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)
SECRET = "s3cr3t-Ünïcode-key"
PUBLIC = "https://followup.example.com"
SOURCES = (
    "generic",
    "zendesk",
    "intercom",
    "freshdesk",
    "hubspot",
    "jira",
    "helpscout",
    "front",
    "chatwoot",
    "zammad",
)


def encode(payload: Any) -> bytes:
    return (
        payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    )


def _b64(secret: str, message: bytes, algorithm: str) -> str:
    digest = hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def _hex(secret: str, message: bytes, algorithm: str) -> str:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def signature_headers(
    source: str, secret: str, body: bytes, *, at: datetime = NOW, url: str | None = None
) -> dict[str, str]:
    """Headers that sign `body` the way the vendor does (its newest scheme)."""
    url = url or f"{PUBLIC}/webhooks/{source}"
    seconds = int(at.timestamp())
    millis = str(seconds * 1000)
    if source == "generic":
        return sign_generic(secret, body, seconds)
    if source == "zendesk":
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "X-Zendesk-Webhook-Signature": _b64(secret, stamp.encode() + body, "sha256"),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
    if source == "intercom":
        return {"X-Hub-Signature": "sha1=" + _hex(secret, body, "sha1")}
    if source == "freshdesk":
        return {"X-Followup-Token": secret}
    if source == "hubspot":
        message = b"POST" + url.encode() + body + millis.encode()
        return {
            "X-HubSpot-Signature-v3": _b64(secret, message, "sha256"),
            "X-HubSpot-Request-Timestamp": millis,
            "X-HubSpot-Signature-Version": "v3",
        }
    if source == "jira":
        return {"X-Hub-Signature": "sha256=" + _hex(secret, body, "sha256")}
    if source == "helpscout":
        return {"X-HelpScout-Signature": _b64(secret, body, "sha1")}
    if source == "front":
        return {
            "X-Front-Signature": _b64(secret, f"{millis}:".encode() + body, "sha256"),
            "X-Front-Request-Timestamp": millis,
        }
    if source == "chatwoot":
        return {
            "X-Chatwoot-Signature": "sha256="
            + _hex(secret, f"{seconds}.".encode() + body, "sha256"),
            "X-Chatwoot-Timestamp": str(seconds),
        }
    if source == "zammad":
        return {"X-Hub-Signature": "sha1=" + _hex(secret, body, "sha1")}
    raise ValueError(source)


def make_request(
    source: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
    received_at: datetime = NOW,
    content_type: str | None = "application/json",
) -> WebhookRequest:
    body = encode(payload)
    path = f"/webhooks/{source}"
    query = query or {}
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return WebhookRequest(
        source=source,
        method="POST",
        url=f"{PUBLIC}{path}" + (f"?{qs}" if qs else ""),
        path=path,
        query=query,
        headers=all_headers,
        body=body,
        received_at=received_at,
    )


def signed(
    source: str,
    payload: Any,
    *,
    extra: dict[str, str] | None = None,
    secret: str = SECRET,
    at: datetime = NOW,
    content_type: str | None = "application/json",
) -> WebhookRequest:
    body = encode(payload)
    headers = signature_headers(source, secret, body, at=at)
    headers.pop("Content-Type", None)  # the caller chooses it
    headers.update(extra or {})
    return make_request(source, body, headers, content_type=content_type)


def config(secret: str | None = SECRET, **changes: Any) -> WebhookConfig:
    return WebhookConfig(secret=secret, insecure=changes.pop("insecure", False), **changes)


def accept(request: WebhookRequest, cfg: WebhookConfig | None = None) -> WebhookResult:
    return handle(request, cfg or config())


def refuse(request: WebhookRequest, cfg: WebhookConfig | None = None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        handle(request, cfg or config())
    return caught.value
