"""`intercom`: `conversation.admin.closed`; `conversation.admin.opened` and a customer's reply
that reopens a closed conversation (`conversation.user.replied`) as reopens.

Facts (Intercom developer docs "Webhook models"/"Webhook topics" for API 1.x and 2.x, "Signed
notifications"; payload fixtures in zulip/zulip's Intercom integration and Intercom's own
example receivers on GitHub):
- A notification is `{"type": "notification_event", "id": "notif_...", "topic": ...,
  "created_at": <unix s>, "data": {"item": <conversation>}}`; `id` is our delivery id.
- API 1.x conversations carry `assignee` (`type: admin`, `id`, `email`), `user`,
  `conversation_message` (`subject`, `body`) and `links.conversation_web`.
- API 2.x conversations carry `admin_assignee_id`, `source` (`type`, `subject`, `body`,
  `author`), `title`, `statistics`, `custom_attributes`, `priority`, `contacts`.
- Both carry `conversation_parts.conversation_parts[]`; the close part has `part_type: "close"`,
  an `author` admin (`id`, `name`, sometimes `email`) and `created_at`. In 2.x the assignee is
  an id only (`admin_assignee_id`), so the close part's author email names the owner.
- Topics ("Webhook topics"): `conversation.admin.closed`, `conversation.admin.opened` (an admin
  reopens), `conversation.user.replied` (a customer replies; Intercom reopens a closed
  conversation when its customer replies, and the notification's conversation is then
  `open`/`state: "open"`). There is no separate "reopened by customer" topic.
- `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body keyed with the app's client secret>`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event, Severity

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_prefixed_hex,
    hmac_hex,
    secret_for,
)
from .fields import (
    clip,
    dig,
    email,
    ident,
    lookup,
    make_case,
    obj,
    parse_object,
    parse_time,
    required_ident,
    strip_html,
    tag_list,
    text,
)
from .recipe import Recipe

SIGNATURE_HEADER = "X-Hub-Signature"
TOPICS = {
    "conversation.admin.closed": Event.CLOSED,
    "conversation.admin.opened": Event.REOPENED,
    "conversation.user.replied": Event.REOPENED,  # only when the reply left it open: _still_closed
}
CHANNELS = {
    "email": Channel.EMAIL,
    "phone": Channel.PHONE,
    "call": Channel.PHONE,
    "facebook": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "whatsapp": Channel.SOCIAL,
    "sms": Channel.OTHER,
}


def _close_part(item: dict[str, Any]) -> dict[str, Any]:
    parts = dig(item, "conversation_parts", "conversation_parts")
    if isinstance(parts, list):
        for part in reversed(parts):
            if isinstance(part, dict) and part.get("part_type") in ("close", "open"):
                return part
    return {}


def _still_closed(topic: str, item: dict[str, Any]) -> bool:
    """A customer's reply that did not reopen the conversation (it was open, or stays closed)."""
    if topic != "conversation.user.replied":
        return False
    return not (item.get("open") is True or item.get("state") == "open")


def _owner(item: dict[str, Any], part: dict[str, Any]) -> tuple[str | None, str | None]:
    """(email, id) of the owner: the assignee when its email is known (API 1.x); else the admin
    who closed it when the close part names their email (2.x sends the assignee's id only);
    else whichever id there is."""
    assignee = obj(item.get("assignee"))
    assignee_email = email(assignee.get("email"), "assignee.email")
    assignee_id = ident(assignee.get("id"), "assignee.id") or ident(
        item.get("admin_assignee_id"), "admin_assignee_id"
    )
    if assignee_email is not None:
        return assignee_email, assignee_id
    author = obj(part.get("author"))
    if author.get("type") not in (None, "admin"):
        author = {}
    author_email = email(author.get("email"), "author.email")
    author_id = ident(author.get("id"), "author.id")
    if author_email is not None:
        return author_email, author_id
    return None, assignee_id or author_id


class IntercomAdapter:
    source = "intercom"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is not None:
            check_prefixed_hex(request, secret, SIGNATURE_HEADER, "sha1", "sha1")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        delivery = ident(data.get("id"), "id")
        topic = text(data.get("topic"), "topic")
        if topic is None:
            raise bad("topic", "is required")
        event = TOPICS.get(topic)
        if event is None:
            return WebhookResult(
                ignored=[f"Intercom topic {topic} is not a close"], delivery_id=delivery
            )
        item = dig(data, "data", "item")
        if not isinstance(item, dict):
            raise bad("data.item", "is required (the conversation)")
        if _still_closed(topic, item):
            return WebhookResult(
                ignored=[f"Intercom {topic}: the conversation is not open after the reply"],
                delivery_id=delivery,
            )
        conversation_id = required_ident(item.get("id"), "data.item.id")
        part = _close_part(item)
        owner_email, owner_id = _owner(item, part)
        subject = self._subject(item)
        if event is Event.CLOSED and subject is None:
            raise bad("data.item.source.body", "is required (the conversation has no text)")
        customer = self._customer(item)
        closed_at = (
            parse_time(
                part.get("created_at"), "conversation_part.created_at", now=request.received_at
            )
            or parse_time(
                dig(item, "statistics", "last_close_at"),
                "statistics.last_close_at",
                now=request.received_at,
            )
            or parse_time(item.get("updated_at"), "data.item.updated_at", now=request.received_at)
            or parse_time(data.get("created_at"), "created_at", now=request.received_at)
            or request.received_at
        )
        source_type = text(dig(item, "source", "type"), "source.type")
        url = text(dig(item, "links", "conversation_web"), "links.conversation_web")
        case = make_case(
            source=self.source,
            external_id=conversation_id,
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=closed_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(text(customer.get("name"), "customer.name"), MAX_SHORT),
            customer_email=email(customer.get("email"), "customer.email"),
            customer_external_id=ident(customer.get("id"), "customer.id"),
            resolution=clip(strip_html(text(part.get("body"), "part.body")), MAX_RESOLUTION)
            if event is Event.CLOSED
            else None,
            channel=lookup(CHANNELS, source_type, Channel.CHAT),
            severity=Severity.HIGH if item.get("priority") == "priority" else Severity.NORMAL,
            tags=tag_list(dig(item, "tags", "tags"), "tags", key="name"),
            url=url if url is not None and len(url) <= MAX_SHORT else None,
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)

    @staticmethod
    def _subject(item: dict[str, Any]) -> str | None:
        for path in (("title",), ("source", "subject"), ("conversation_message", "subject")):
            value = strip_html(text(dig(item, *path), ".".join(path)))
            if value:
                return value
        # Chats have no subject: the customer's opening message stands in for one.
        for path in (("source", "body"), ("conversation_message", "body")):
            value = strip_html(text(dig(item, *path), ".".join(path)))
            if value:
                return clip(value, 120)
        return None

    @staticmethod
    def _customer(item: dict[str, Any]) -> dict[str, Any]:
        for path in (("user",), ("source", "author"), ("customers", 0)):
            found = dig(item, *path)
            if isinstance(found, dict) and found.get("type") in ("user", "lead", "contact"):
                return found
        return {}


RECIPE = Recipe(
    source="intercom",
    vendor="Intercom",
    steps=(
        "Developer Hub (app.intercom.com/a/apps/_/developer-hub) > your app (create a private "
        "app for your workspace if you have none) > Configure > Webhooks.",
        "Endpoint URL: {url}.",
        'Subscribe to the topics below (they need the "Read conversations" permission) and save.',
        "Copy the app's client secret (Configure > Basic information > Client secret) into "
        "WEBHOOK_SECRET_INTERCOM and restart the bot.",
    ),
    conditions=(
        "conversation.admin.closed (a teammate closes: the close)",
        "conversation.admin.opened (a teammate reopens it)",
        "conversation.user.replied (a customer's reply reopens a closed conversation; a reply "
        'to an open conversation is answered "ignored")',
    ),
    secret="the app's client secret (Developer Hub > your app > Configure > Basic information)",
    notes=(
        "API 2.x names the assignee by id only; the owner's email comes from the admin who "
        "closed the conversation. A close by a bot or a rule names no admin: link each teammate "
        "with `followup agents link intercom <admin id> <email>`.",
        "A chat has no subject: its first message stands in for one.",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A `conversation.admin.closed` notification (API 2.x shape), signed as Intercom signs."""
    moment = int(now.timestamp())
    admin = {"type": "admin", "id": "5017691", "name": "Sample Agent", "email": "agent@example.com"}
    close = {
        "type": "conversation_part",
        "id": f"{moment}",
        "part_type": "close",
        "body": "<p>Corrected the VAT number and re-issued the invoice.</p>",
        "created_at": moment,
        "updated_at": moment,
        "author": admin,
    }
    item = {
        "type": "conversation",
        "id": case_id,
        "created_at": moment - 3600,
        "updated_at": moment,
        "title": None,
        "admin_assignee_id": 5017691,
        "team_assignee_id": None,
        "open": False,
        "state": "closed",
        "priority": "not_priority",
        "source": {
            "type": "conversation",
            "id": "403918330",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>My invoice shows the wrong VAT number</p>",
            "author": {
                "type": "user",
                "id": "6762f0dc1bb69f9f2193bb84",
                "name": "Sample Customer",
                "email": "customer@example.com",
            },
        },
        "statistics": {"type": "conversation_statistics", "last_close_at": moment},
        "tags": {"type": "tag.list", "tags": []},
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [close],
            "total_count": 1,
        },
    }
    body = {
        "type": "notification_event",
        "app_id": "followup-test",
        "data": {"type": "notification_event_data", "item": item},
        "id": f"notif_followup-test-{moment}",
        "topic": "conversation.admin.closed",
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": moment,
        "created_at": moment,
        "self": None,
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: "sha1=" + hmac_hex(secret, raw, "sha1"),
    }
    return raw, headers
