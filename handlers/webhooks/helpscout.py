"""`helpscout`: `convo.status` when a conversation becomes closed (or active again).

Facts (Help Scout developer docs "Webhooks" and the Mailbox API 2.0 conversation object):
- `X-HelpScout-Event` names the event ("convo.status" on any status change) and
  `X-HelpScout-Signature` is base64(HMAC-SHA1(secret key, raw body)). No delivery id is sent.
- Set up under Manage > Apps > Webhooks (Help Scout's docs "Webhooks" app): a Callback URL, a
  Secret Key and events, here "Conversation Status Updated" (`convo.status`). The key's length
  limit (we recall 40 characters) and the retry schedule are not confirmed from the docs.
- The body is the conversation: `id`, `number`, `subject`, `status` (active, pending, closed,
  spam), `type` (email, chat, phone), `assignee` (`id`, `first`, `last`, `email`),
  `primaryCustomer` (`first`, `last`, `email`), `tags` (`[{"id", "tag"}]`), `closedAt`,
  `closedByUser`, `userUpdatedAt` and `_links.web.href`. Older (legacy) payloads used `owner`,
  `customer`, `firstName`/`lastName` and string tags; both are read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.cases import MAX_SHORT, MAX_SUBJECT, Channel, Event

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    hmac_b64,
    require_header,
    same,
    secret_for,
    unauthorized,
)
from .fields import (
    clip,
    dig,
    email,
    full_name,
    ident,
    lookup,
    make_case,
    parse_object,
    parse_time,
    required_ident,
    tag_list,
    text,
)
from .recipe import Recipe

SIGNATURE_HEADER = "X-HelpScout-Signature"
EVENT_HEADER = "X-HelpScout-Event"
STATUSES = {"closed": Event.CLOSED, "active": Event.REOPENED, "pending": Event.REOPENED}
CHANNELS = {"email": Channel.EMAIL, "chat": Channel.CHAT, "phone": Channel.PHONE}


def _person(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if isinstance(data.get(key), dict):
            return data[key]
    return {}


def _name(person: dict[str, Any]) -> str | None:
    return full_name(
        person.get("first") or person.get("firstName"), person.get("last") or person.get("lastName")
    )


class HelpScoutAdapter:
    source = "helpscout"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = require_header(request, SIGNATURE_HEADER)
        if not same(given, hmac_b64(secret, request.body, "sha1")):
            raise unauthorized(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        kind = request.header(EVENT_HEADER)
        if kind is None:
            raise bad(EVENT_HEADER, "header is required")
        data = parse_object(request.body)
        if kind != "convo.status":
            return WebhookResult(ignored=[f"Help Scout event {kind} is not a status change"])
        status = text(data.get("status"), "status")
        event = STATUSES.get((status or "").lower())
        if event is None:
            return WebhookResult(ignored=[f"Help Scout status {status!r} is not a close"])
        subject = text(data.get("subject"), "subject")
        if event is Event.CLOSED and subject is None:
            raise bad("subject", "is required")
        owner = _person(data, "assignee", "owner", "closedByUser")
        owner_email = email(owner.get("email"), "assignee.email")
        owner_id = ident(owner.get("id"), "assignee.id")
        customer = _person(data, "primaryCustomer", "customer")
        url = text(dig(data, "_links", "web", "href"), "_links.web.href")
        case = make_case(
            source=self.source,
            external_id=required_ident(data.get("id"), "id"),
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(data.get("closedAt"), "closedAt", now=request.received_at)
            or parse_time(data.get("userUpdatedAt"), "userUpdatedAt", now=request.received_at)
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(_name(customer), MAX_SHORT),
            customer_email=email(customer.get("email"), "customer.email"),
            customer_external_id=ident(customer.get("id"), "customer.id"),
            channel=lookup(CHANNELS, text(data.get("type"), "type"), Channel.EMAIL),
            tags=tag_list(data.get("tags"), "tags", key="tag"),
            url=url if url and url.startswith("http") and len(url) <= MAX_SHORT else None,
            event=event,
        )
        return WebhookResult(cases=[case])


RECIPE = Recipe(
    source="helpscout",
    vendor="Help Scout",
    steps=(
        "In Help Scout, go to Manage > Apps, find Webhooks and click Install App (or Edit).",
        "Callback URL: {url}",
        "Secret Key: the value of WEBHOOK_SECRET_HELPSCOUT.",
        "Events: tick Conversation > Status Updated only.",
        "Save.",
    ),
    secret="the webhook's Secret Key, a value you choose (at least 16 characters)",
    conditions=(
        "Conversation status updated (the bot acts on closed, and active/pending after "
        "closed as a reopen; spam is ignored)",
    ),
    notes=(
        "Every status change is sent; the bot acts on closed and on leaving closed. A second "
        "close with no reopen in between is the same cycle.",
        "Help Scout sends no delivery id: a retried delivery is a second close of the same "
        "conversation, the same cycle.",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A `convo.status` delivery for a conversation just closed, signed as Help Scout signs."""
    del url
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(
        {
            "id": case_id,
            "number": 349,
            "type": "email",
            "status": "closed",
            "state": "published",
            "subject": "Invoice shows the wrong VAT number",
            "mailboxId": 85,
            "assignee": {
                "id": 256809,
                "first": "Ada",
                "last": "Agent",
                "email": "agent@example.com",
                "type": "user",
            },
            "closedBy": 256809,
            "closedAt": stamp,
            "userUpdatedAt": stamp,
            "tags": [{"id": 9150, "tag": "billing"}],
            "primaryCustomer": {
                "id": 238123,
                "first": "Lukas",
                "last": "Customer",
                "email": "lukas@example.com",
                "type": "customer",
            },
            "_links": {
                "web": {"href": "https://secure.helpscout.net/conversation/2391938111/349/"}
            },
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: "convo.status",
        SIGNATURE_HEADER: hmac_b64(secret, body, "sha1"),
    }
    return body, headers
