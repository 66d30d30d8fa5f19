"""`chatwoot`: `conversation_status_changed` to resolved (and back to open).

Facts (Chatwoot docs "Webhook events" and user guide "How to use webhooks"; Chatwoot's source:
`app/presenters/conversations/event_data_presenter.rb` (`push_data`/`webhook_data`, the body),
`app/models/user.rb` (`push_event_data`), `lib/webhooks/trigger.rb`; receivers on GitHub):
- The body is the conversation itself plus `"event"`: `id` (the conversation's display id),
  `status` (open, resolved, pending, snoozed), `channel` ("Channel::Email",
  "Channel::WebWidget", ...), `inbox_id`, `meta.sender` (the contact: `name`, `email`),
  `meta.assignee`, `labels`, `priority`, `additional_attributes` (`mail_subject` in email
  inboxes), `custom_attributes` (the conversation's custom attributes, by key), `timestamp`
  (last activity, Unix s). `conversation_resolved`/`conversation_opened` are the older,
  deprecated event names.
- `messages` holds one message only: the conversation's last chat message
  (`messages.chat.last`), never its first. At a resolve that is usually the agent's closing
  reply, so it is no subject; it is read as the resolution when it is an outgoing, public one.
- `meta.assignee` is `User#push_event_data`: `id`, `name`, `available_name`, `avatar_url`,
  `type`, `availability_status`, `thumbnail`. No email in any version: agents are linked by id
  (`followup agents link chatwoot <agent id> <email>`).
- The subject: the email's subject, else a conversation custom attribute `subject` an agent
  or an automation fills, else "Chatwoot conversation #<id>". A close without a real subject is
  kept rather than refused: Chatwoot does not resend a refused delivery, and a follow-up on
  "conversation #12" beats none.
- Recent versions sign when the webhook has a secret: `X-Chatwoot-Signature:
  sha256=<hex HMAC-SHA256 of "<X-Chatwoot-Timestamp>.<raw body>">`, the timestamp in Unix
  seconds, plus `X-Chatwoot-Delivery` (a random id per delivery). Older versions do not sign:
  then the secret travels in the URL (`/webhooks/chatwoot?token=<secret>`), or in the
  `X-Followup-Token` header when the source's token option says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_fresh,
    check_token,
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
from .recipe import Recipe

SIGNATURE_HEADER = "X-Chatwoot-Signature"
TIMESTAMP_HEADER = "X-Chatwoot-Timestamp"
DELIVERY_HEADER = "X-Chatwoot-Delivery"
SUBJECT_ATTRIBUTE = "subject"
OUTGOING = (1, "outgoing")
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


def _subject(data: dict[str, Any]) -> str:
    for path, name in (
        (("additional_attributes", "mail_subject"), "additional_attributes.mail_subject"),
        (("custom_attributes", SUBJECT_ATTRIBUTE), f"custom_attributes.{SUBJECT_ATTRIBUTE}"),
    ):
        value = strip_html(text(dig(data, *path), name))
        if value:
            return value
    return f"Chatwoot conversation #{required_ident(data.get('id'), 'id')}"


def _closing_reply(data: dict[str, Any]) -> str | None:
    """The last chat message (the only one sent) when it is the agent's public reply."""
    message = obj(dig(data, "messages", -1))
    if message.get("message_type") not in OUTGOING or message.get("private"):
        return None
    return strip_html(text(message.get("content"), "messages.content"))


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
        # Versions that cannot sign: the shared token, only where WEBHOOK_TOKEN_SOURCES allows
        # it (a token is weaker than a signature: a Chatwoot that signs must not fall back).
        if config.token_place is None:
            raise unauthorized(
                f"missing {SIGNATURE_HEADER} header (a Chatwoot that cannot sign sends "
                "?token=: allow it with WEBHOOK_TOKEN_SOURCES=chatwoot:query)"
            )
        check_token(request, secret, place=config.token_place)

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
        subject = _subject(data)
        resolution = _closing_reply(data) if event is Event.CLOSED else None
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
            customer_external_id=ident(sender.get("id"), "meta.sender.id"),
            resolution=clip(resolution, MAX_RESOLUTION),
            channel=lookup(CHANNELS, text(data.get("channel"), "channel"), Channel.OTHER),
            severity=priority_of(text(data.get("priority"), "priority")),
            tags=tag_list(data.get("labels"), "labels"),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)


RECIPE = Recipe(
    source="chatwoot",
    vendor="Chatwoot",
    steps=(
        "Settings > Integrations > Webhooks > Configure > Add new webhook.",
        'Webhook URL: {url}; tick the event "Conversation Status Changed" '
        "(conversation_status_changed) and create the webhook.",
        "Copy the webhook's secret, which versions that sign show on the webhook, into "
        "WEBHOOK_SECRET_CHATWOOT and restart the bot.",
        "Link each agent once: `followup agents link chatwoot <agent id> <email>` (the agent id "
        "is in Settings > Agents, and in the agent's profile URL).",
    ),
    conditions=(
        "conversation_status_changed to resolved: the close",
        "conversation_status_changed to open: the reopen (a customer's reply reopens a "
        "resolved conversation)",
    ),
    secret="the webhook's secret shown by Chatwoot on the webhook (versions that sign); for "
    "versions that cannot sign, a random string of your own, sent as ?token= in the URL",
    notes=(
        "Chatwoot names the assignee by id, never by email: without `followup agents link "
        "chatwoot <agent id> <email>` every case goes to triage.",
        "Chatwoot sends only the conversation's last message, so the subject comes from the "
        "email's subject (email inboxes) or from a conversation custom attribute with the key "
        "`subject` (Settings > Custom attributes > Add > Applies to Conversation); otherwise it "
        'is "Chatwoot conversation #<id>".',
        "The agent's last public reply before resolving becomes the case's resolution.",
        "Versions that cannot sign: append ?token=<WEBHOOK_SECRET_CHATWOOT> to the URL and set "
        "WEBHOOK_TOKEN_SOURCES=chatwoot:query. A token is weaker than a signature (it can be "
        "replayed and shows in access logs).",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A conversation resolved in an email inbox, signed as recent Chatwoot versions sign."""
    moment = int(now.timestamp())
    body = {
        "additional_attributes": {"mail_subject": "Invoice shows the wrong VAT number"},
        "can_reply": True,
        "channel": "Channel::Email",
        "contact_inbox": {"id": 31, "contact_id": 27, "inbox_id": 2, "source_id": "c9f0a1"},
        "id": case_id,
        "inbox_id": 2,
        "messages": [
            {
                "id": 918,
                "content": "Corrected the VAT number and re-issued the invoice.",
                "account_id": 1,
                "conversation_id": case_id,
                "message_type": 1,
                "created_at": moment,
                "private": False,
                "content_type": "text",
            }
        ],
        "labels": ["billing"],
        "meta": {
            "sender": {
                "id": 27,
                "name": "Sample Customer",
                "email": "customer@example.com",
                "type": "contact",
            },
            "assignee": {
                "id": 3,
                "name": "Sample Agent",
                "available_name": "Sample Agent",
                "avatar_url": "",
                "type": "user",
                "availability_status": "online",
                "thumbnail": "",
            },
        },
        "status": "resolved",
        "custom_attributes": {},
        "priority": None,
        "unread_count": 0,
        "timestamp": moment,
        "created_at": moment - 3600,
        "updated_at": float(moment),
        "event": "conversation_status_changed",
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: "sha256=" + hmac_hex(secret, f"{moment}.".encode() + raw, "sha256"),
        TIMESTAMP_HEADER: str(moment),
        DELIVERY_HEADER: f"followup-test-{moment}",
    }
    return raw, headers
