"""`intercom`: `conversation.admin.closed` (and `conversation.admin.opened` as a reopen).

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
  an `author` admin (`id`, `name`, sometimes `email`) and `created_at`.
- `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body keyed with the app's client secret>`.
"""

from __future__ import annotations

from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event, Severity

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_prefixed_hex,
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

SIGNATURE_HEADER = "X-Hub-Signature"
TOPICS = {"conversation.admin.closed": Event.CLOSED, "conversation.admin.opened": Event.REOPENED}
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
        conversation_id = required_ident(item.get("id"), "data.item.id")
        part = _close_part(item)
        assignee = obj(item.get("assignee"))
        author = obj(part.get("author"))
        owner_email = email(assignee.get("email"), "assignee.email")
        owner_id = ident(assignee.get("id"), "assignee.id") or ident(
            item.get("admin_assignee_id"), "admin_assignee_id"
        )
        if owner_email is None and owner_id is None:
            owner_email = email(author.get("email"), "author.email")
            owner_id = ident(author.get("id"), "author.id")
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
            resolution=clip(strip_html(text(part.get("body"), "part.body")), MAX_RESOLUTION),
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
