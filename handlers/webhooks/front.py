"""`front`: a conversation archived (closed) or reopened.

Facts (Front developer docs "Application webhooks", "Rule webhooks", "Events" reference;
community answer on the signing key; event fixtures in zulip/zulip's Front integration):
- Application webhooks: `X-Front-Signature` = base64(HMAC-SHA256(app secret,
  `<X-Front-Request-Timestamp>:<raw body>`)), the timestamp in milliseconds (Front advises
  refusing after 5 minutes). Saving the webhook sends `{"type": "sync", ...}` with an
  `X-Front-Challenge` header whose value must be echoed back.
- Rule webhooks: `X-Front-Signature` = base64(HMAC-SHA1(API secret, raw body)), no timestamp.
- Event: `id` ("evt_..."), `type` ("archive", "reopen", "assign", ...), `emitted_at` (seconds,
  float), `source` (`_meta.type` teammate/rule, `data`), `target`, `conversation` (`id`,
  `subject`, `status`, `assignee` with `id`/`email`/`first_name`/`last_name`, `recipient.handle`,
  `tags[].name`, `last_message.type`). Application webhooks name types differently
  ("conversation_archived") and may wrap the event in `payload`; both are read.
- Full event or preview (Front help center "How to enable and use the Webhooks integration";
  developer docs "Rule webhooks": "you can configure the webhook to send either the full event
  payload or an event preview"): only with *Send Full Event Data* on does the conversation
  carry its subject, status, assignee, recipient and tags. A preview's conversation has ids
  and links only, so a close from a preview is refused 400 with the setting to turn on; a
  reopen needs only the conversation id and is read from either.
- Front does not retry a failed rule-webhook delivery: a refused close is lost, hence the
  recipe's insistence on the full payload.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.cases import MAX_ID, MAX_SHORT, MAX_SUBJECT, Channel, Event

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_fresh,
    epoch_header,
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
    obj,
    parse_object,
    parse_time,
    required_ident,
    tag_list,
    text,
)
from .recipe import Recipe

SIGNATURE_HEADER = "X-Front-Signature"
TIMESTAMP_HEADER = "X-Front-Request-Timestamp"
CHALLENGE_HEADER = "X-Front-Challenge"
FULL_DATA = (
    "Front sent the event preview, which has no subject, assignee or recipient: turn on "
    '"Send Full Event Data" (Settings > App store > Webhooks) and archive it again'
)
TYPES = {
    "archive": Event.CLOSED,
    "conversation_archived": Event.CLOSED,
    "reopen": Event.REOPENED,
    "conversation_reopened": Event.REOPENED,
}
CHANNELS = {
    "email": Channel.EMAIL,
    "call": Channel.PHONE,
    "phone": Channel.PHONE,
    "intercom": Channel.CHAT,
    "chat": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "facebook": Channel.SOCIAL,
    "tweet": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "sms": Channel.OTHER,
    "form": Channel.WEB,
}


def _is_preview(conversation: dict[str, object]) -> bool:
    """A full conversation always has `subject` and `status` (maybe empty); a preview never."""
    return "subject" not in conversation and "status" not in conversation


class FrontAdapter:
    source = "front"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = require_header(request, SIGNATURE_HEADER)
        if request.header(TIMESTAMP_HEADER) is not None:
            moment = epoch_header(request, TIMESTAMP_HEADER, millis=True)
            check_fresh(moment, request, config, TIMESTAMP_HEADER)
            message = f"{request.header(TIMESTAMP_HEADER)}:".encode() + request.body
            expected = hmac_b64(secret, message, "sha256")
        else:
            expected = hmac_b64(secret, request.body, "sha1")
        if not same(given, expected):
            raise unauthorized(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        outer = text(data.get("type"), "type")
        if outer == "sync":
            return WebhookResult(
                ignored=["Front webhook validation (sync)"],
                challenge=request.header(CHALLENGE_HEADER),
            )
        event_data = obj(data.get("payload")) or data
        kind = text(event_data.get("type"), "type") or outer
        if kind is None:
            raise bad("type", "is required")
        delivery = ident(event_data.get("id"), "id")
        event = TYPES.get(kind)
        if event is None:
            return WebhookResult(
                ignored=[f"Front event {kind} is not an archive"], delivery_id=delivery
            )
        conversation = event_data.get("conversation")
        if not isinstance(conversation, dict):
            raise bad("conversation", "is required")
        if event is Event.CLOSED and _is_preview(conversation):
            raise bad("conversation", FULL_DATA)
        subject = text(conversation.get("subject"), "conversation.subject")
        if event is Event.CLOSED and subject is None:
            raise bad("conversation.subject", "is required")
        person = obj(conversation.get("assignee"))
        if not person and dig(event_data, "source", "_meta", "type") == "teammate":
            person = obj(dig(event_data, "source", "data"))
        owner_email = email(person.get("email"), "conversation.assignee.email")
        owner_id = ident(person.get("id"), "conversation.assignee.id")
        recipient = obj(conversation.get("recipient"))
        message_type = text(dig(conversation, "last_message", "type"), "last_message.type")
        case = make_case(
            source=self.source,
            external_id=required_ident(conversation.get("id"), "conversation.id"),
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(
                event_data.get("emitted_at"), "emitted_at", now=request.received_at
            )
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(full_name(recipient.get("name")), MAX_SHORT),
            customer_email=email(recipient.get("handle"), "conversation.recipient.handle"),
            customer_external_id=clip(
                text(recipient.get("handle"), "conversation.recipient.handle"), MAX_ID
            ),
            channel=lookup(CHANNELS, message_type, Channel.EMAIL),
            tags=tag_list(conversation.get("tags"), "conversation.tags", key="name"),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)


RECIPE = Recipe(
    source="front",
    vendor="Front",
    steps=(
        "Settings (gear icon) > Company > App store > Webhooks > Enable app; turn ON "
        '"Send Full Event Data" (the event preview carries no subject or assignee) and save.',
        'Settings > Company > Rules > Add a company rule: When "A conversation is archived" '
        '(see Conditions); Then "Send to a Webhook", Target webhook {url}.',
        'A second rule for reopens: When "A conversation is unarchived" (reopened), the same '
        "action.",
        "Copy the company's API secret into WEBHOOK_SECRET_FRONT and restart the bot.",
    ),
    conditions=(
        "When: a conversation is archived (the close)",
        "When: a conversation is unarchived / reopened (the reopen)",
    ),
    secret="for rule webhooks (above), the company's API secret: Front signs each request "
    'with base64 HMAC-SHA1 of the body under it (developer docs "Rule webhooks"); for an '
    "application webhook instead (Settings > Developers > your app > Webhooks, events "
    "conversation_archived and conversation_reopened), the app's signing key: Front signs "
    '"<timestamp>:<body>" with HMAC-SHA256 under it ("Application webhooks")',
    notes=(
        "Front does not retry a failed rule-webhook delivery: check the first close arrives "
        "(`followup webhooks test front`, the bot's log).",
        "A close sent as an event preview is refused (400) with the setting to turn on.",
        "Application webhooks are also replay-protected (signed timestamp) and need the bot "
        "to answer Front's save-time challenge, which it does.",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """An `archive` event with full data, as the recipe's rule webhook posts and signs it."""
    teammate = {
        "_links": {"self": "https://api2.frontapp.com/teammates/tea_2x4g"},
        "id": "tea_2x4g",
        "email": "agent@example.com",
        "username": "sample.agent",
        "first_name": "Sample",
        "last_name": "Agent",
        "is_admin": False,
    }
    moment = round(now.timestamp(), 3)
    body = {
        "_links": {"self": "https://api2.frontapp.com/events/evt_followup_test"},
        "id": f"evt_followup_test_{int(moment)}",
        "type": "archive",
        "emitted_at": moment,
        "conversation": {
            "_links": {"self": "https://api2.frontapp.com/conversations/cnv_1c2x9a"},
            "id": case_id,
            "subject": "Invoice shows the wrong VAT number",
            "status": "archived",
            "assignee": teammate,
            "recipient": {"handle": "customer@example.com", "role": "from"},
            "tags": [{"id": "tag_3w1a", "name": "billing"}],
            "last_message": {"id": "msg_9k2x1", "type": "email", "is_inbound": False},
            "created_at": moment - 3600,
        },
        "source": {"_meta": {"type": "teammate"}, "data": teammate},
        "target": None,
    }
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: hmac_b64(secret, raw, "sha1")}
    return raw, headers
