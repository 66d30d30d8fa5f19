"""`chatwoot`: `conversation_status_changed` to resolved (and back to open).

Facts (Chatwoot docs "Webhook events" and user guide "How to use webhooks"; Chatwoot's
`lib/webhooks/trigger.rb` across versions; receivers on GitHub):
- The body is the conversation itself plus `"event"`: `id` (the conversation's display id),
  `status` (open, resolved, pending, snoozed), `channel` ("Channel::Email", "Channel::WebWidget",
  ...), `inbox_id`, `messages[]` (`content`, `message_type`), `meta.sender` (the contact: `name`,
  `email`), `meta.assignee` (agent: `id`, `name`, `email` in recent versions), `labels`,
  `priority`, `additional_attributes.mail_subject` (email inboxes), `timestamp` (Unix s).
  `conversation_resolved`/`conversation_opened` are the older, deprecated event names.
- Recent versions sign when the webhook has a secret: `X-Chatwoot-Signature:
  sha256=<hex HMAC-SHA256 of "<X-Chatwoot-Timestamp>.<raw body>">`, the timestamp in Unix
  seconds, plus `X-Chatwoot-Delivery` (a random id per delivery). Older versions do not sign:
  then the secret travels in the URL (`/webhooks/chatwoot?token=<secret>`).
"""

from __future__ import annotations

from typing import Any

from bot.cases import MAX_SHORT, MAX_SUBJECT, Channel, Event

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_fresh,
    epoch_header,
    hmac_hex,
    same,
    secret_for,
    unauthorized,
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
    priority_of,
    required_ident,
    strip_html,
    tag_list,
    text,
)

SIGNATURE_HEADER = "X-Chatwoot-Signature"
TIMESTAMP_HEADER = "X-Chatwoot-Timestamp"
DELIVERY_HEADER = "X-Chatwoot-Delivery"
TOKEN_PARAM = "token"
CHANNELS = {
    "email": Channel.EMAIL,
    "webwidget": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "telegram": Channel.CHAT,
    "line": Channel.CHAT,
    "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
    "voice": Channel.PHONE,
    "sms": Channel.OTHER,
    "api": Channel.OTHER,
}


def _first_message(data: dict[str, Any]) -> str | None:
    messages = data.get("messages")
    if not isinstance(messages, list):
        return None
    ordered = sorted(
        (m for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)),
        key=lambda m: m.get("message_type") not in (0, "incoming"),
    )
    for message in ordered:
        content = strip_html(message["content"])
        if content:
            return clip(content, 120)
    return None


class ChatwootAdapter:
    source = "chatwoot"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = request.header(SIGNATURE_HEADER)
        if given is not None:
            moment = epoch_header(request, TIMESTAMP_HEADER, millis=False)
            check_fresh(moment, request, config, TIMESTAMP_HEADER)
            message = f"{request.header(TIMESTAMP_HEADER)}.".encode() + request.body
            if not same(given, f"sha256={hmac_hex(secret, message, 'sha256')}"):
                raise unauthorized(f"{SIGNATURE_HEADER} does not match the body")
            return
        token = request.query.get(TOKEN_PARAM)
        if token is None:
            raise unauthorized(f"missing {SIGNATURE_HEADER} header (or ?{TOKEN_PARAM}= in the URL)")
        if not same(token, secret):
            raise unauthorized(f"the {TOKEN_PARAM} in the URL is wrong")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        delivery = request.header(DELIVERY_HEADER)
        kind = text(data.get("event"), "event")
        if kind is None:
            raise bad("event", "is required")
        status = (text(data.get("status"), "status") or "").lower()
        if kind == "conversation_resolved" or (
            kind == "conversation_status_changed" and status == "resolved"
        ):
            event = Event.CLOSED
        elif kind == "conversation_opened" or (
            kind == "conversation_status_changed" and status == "open"
        ):
            event = Event.REOPENED
        else:
            return WebhookResult(
                ignored=[f"Chatwoot {kind} ({status or 'no status'}) is not a resolution"],
                delivery_id=delivery,
            )
        subject = text(dig(data, "additional_attributes", "mail_subject"), "mail_subject")
        subject = subject or _first_message(data)
        if event is Event.CLOSED and subject is None:
            raise bad("messages", "are required (the conversation has no text for a subject)")
        assignee = obj(dig(data, "meta", "assignee"))
        owner_email = email(assignee.get("email"), "meta.assignee.email")
        owner_id = ident(assignee.get("id"), "meta.assignee.id")
        sender = obj(dig(data, "meta", "sender"))
        case = make_case(
            source=self.source,
            external_id=required_ident(data.get("id"), "id"),
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(data.get("timestamp"), "timestamp", now=request.received_at)
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(text(sender.get("name"), "meta.sender.name"), MAX_SHORT),
            customer_email=email(sender.get("email"), "meta.sender.email"),
            channel=lookup(CHANNELS, text(data.get("channel"), "channel"), Channel.OTHER),
            severity=priority_of(text(data.get("priority"), "priority")),
            tags=tag_list(data.get("labels"), "labels"),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)
