"""`zendesk`: trigger/automation webhooks (our JSON template) and event webhooks.

Facts (Zendesk developer docs "Verifying webhook authenticity", "Anatomy of a webhook request",
"Ticket events" and the support article "Zendesk placeholders reference"; cross-checked with
open-source receivers on GitHub):
- Every request carries `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret,
  timestamp + raw body)) and `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601, e.g.
  2021-03-25T05:09:27Z). `X-Zendesk-Webhook-Invocation-Id` names the invocation (kept across
  retry attempts), our delivery id.
- Event webhooks post a fixed envelope: `type` ("zen:event-type:ticket.status_changed"), `id`,
  `time`, `subject` ("zen:ticket:<id>"), `detail` (the ticket: id, subject, status, assignee_id,
  requester_id, priority, type, tags, via.channel, ...) and `event` with `previous`/`current`
  statuses in capitals (NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED). Ids only: no emails.
- Trigger webhooks post whatever body the admin writes with placeholders; ours is
  `ZENDESK_TRIGGER_BODY`. It may be sent as JSON or form-encoded.
"""

from __future__ import annotations

import json
from typing import Any

from bot.cases import MAX_SHORT, MAX_SUBJECT, Channel, Event, Kind

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_fresh,
    hmac_b64,
    require_header,
    same,
    secret_for,
    unauthorized,
)
from .fields import (
    clip,
    dig,
    ident,
    lookup,
    make_case,
    parse_object_or_form,
    parse_time,
    priority_of,
    required_ident,
    tag_list,
    template_body_fields,
    text,
)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
STATUS_CHANGED = "zen:event-type:ticket.status_changed"

ZENDESK_TRIGGER_BODY = json.dumps(
    {
        "event": "closed",
        "ticket_id": "{{ticket.id}}",
        "subject": "{{ticket.title}}",
        "status": "{{ticket.status}}",
        "updated_at": "{{ticket.updated_at_with_timestamp}}",
        "assignee_email": "{{ticket.assignee.email}}",
        "assignee_name": "{{ticket.assignee.name}}",
        "requester_name": "{{ticket.requester.name}}",
        "requester_email": "{{ticket.requester.email}}",
        "organization": "{{ticket.organization.name}}",
        "group": "{{ticket.group.name}}",
        "via": "{{ticket.via}}",
        "priority": "{{ticket.priority}}",
        "ticket_type": "{{ticket.ticket_type}}",
        "tags": "{{ticket.tags}}",
        "url": "{{ticket.link}}",
    },
    indent=2,
)
"""Paste into a trigger on "Status category is Solved" (Admin Center > Objects and rules >
Triggers > Notify by > Active webhook). For a reopen trigger paste it with "event": "reopened".
The explicit "event" keeps us independent of the account's language ({{ticket.status}} is
localised)."""

CHANNELS = {
    "mail": Channel.EMAIL,
    "email": Channel.EMAIL,
    "voice": Channel.PHONE,
    "phone": Channel.PHONE,
    "voicemail": Channel.PHONE,
    "chat": Channel.CHAT,
    "messaging": Channel.CHAT,
    "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "whatsapp": Channel.SOCIAL,
    "social": Channel.SOCIAL,
    "web": Channel.WEB,
    "form": Channel.WEB,
    "help center": Channel.WEB,
    "portal": Channel.WEB,
}
KINDS = {"question": Kind.QUERY, "incident": Kind.INCIDENT, "problem": Kind.INCIDENT}
SOLVED = {"SOLVED", "CLOSED"}
OPEN = {"NEW", "OPEN", "PENDING", "HOLD"}
# English names of {{ticket.status}}; other languages need the explicit "event" key.
STATUS_WORDS = {
    "solved": Event.CLOSED,
    "closed": Event.CLOSED,
    "open": Event.REOPENED,
    "pending": Event.REOPENED,
    "on-hold": Event.REOPENED,
    "hold": Event.REOPENED,
    "new": Event.REOPENED,
}


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value if value.lower().startswith(("http://", "https://")) else f"https://{value}"
    return url if len(url) <= MAX_SHORT else None


class ZendeskAdapter:
    source = "zendesk"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = require_header(request, SIGNATURE_HEADER)
        timestamp = require_header(request, TIMESTAMP_HEADER)
        try:
            moment = parse_time(timestamp, TIMESTAMP_HEADER, required=True, now=request.received_at)
        except Exception as err:
            raise unauthorized(f"{TIMESTAMP_HEADER} is not an ISO 8601 time") from err
        assert moment is not None
        check_fresh(moment, request, config, TIMESTAMP_HEADER)
        expected = hmac_b64(secret, timestamp.encode() + request.body, "sha256")
        if not same(given, expected):
            raise unauthorized(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        data = parse_object_or_form(request)
        kind = data.get("type")
        if isinstance(kind, str) and kind.startswith("zen:event-type:"):
            return self._event(request, data, kind)
        return self._trigger(request, data)

    def _event(self, request: WebhookRequest, data: dict[str, Any], kind: str) -> WebhookResult:
        delivery = request.header(INVOCATION_HEADER) or ident(data.get("id"), "id")
        if kind != STATUS_CHANGED:
            return WebhookResult(
                ignored=[f"Zendesk event {kind} is not a status change"], delivery_id=delivery
            )
        detail = data.get("detail")
        if not isinstance(detail, dict):
            raise bad("detail", "is required (the ticket)")
        current = (text(dig(data, "event", "current"), "event.current") or "").upper()
        previous = (text(dig(data, "event", "previous"), "event.previous") or "").upper()
        if not current:
            current = (text(detail.get("status"), "detail.status") or "").upper()
        if current in SOLVED and previous not in SOLVED:
            event = Event.CLOSED
        elif current in OPEN and previous in SOLVED:
            event = Event.REOPENED
        else:
            reason = f"Zendesk ticket status {previous or '?'} -> {current or '?'} is not a close"
            return WebhookResult(ignored=[reason], delivery_id=delivery)
        ticket_id = required_ident(detail.get("id"), "detail.id")
        subject = text(detail.get("subject"), "detail.subject")
        if event is Event.CLOSED and subject is None:
            raise bad("detail.subject", "is required")
        case = make_case(
            source=self.source,
            external_id=ticket_id,
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(data.get("time"), "time", now=request.received_at)
            or parse_time(detail.get("updated_at"), "detail.updated_at", now=request.received_at)
            or request.received_at,
            owner_external_id=ident(detail.get("assignee_id"), "detail.assignee_id"),
            channel=lookup(
                CHANNELS, text(dig(detail, "via", "channel"), "via.channel"), Channel.OTHER
            ),
            severity=priority_of(text(detail.get("priority"), "detail.priority")),
            kind=lookup(KINDS, text(detail.get("type"), "detail.type"), Kind.REQUEST),
            tags=tag_list(detail.get("tags"), "detail.tags"),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)

    def _trigger(self, request: WebhookRequest, data: dict[str, Any]) -> WebhookResult:
        delivery = request.header(INVOCATION_HEADER)
        word = (text(data.get("event"), "event") or "").lower()
        status = text(data.get("status"), "status")
        if word in ("closed", "reopened"):
            event = Event(word)
        elif word:
            raise bad("event", f"unknown value {word!r} (closed or reopened)")
        else:
            event = lookup(STATUS_WORDS, status)
            if event is None:
                if status is None:
                    raise bad("status", 'is required when the body has no "event"')
                return WebhookResult(
                    ignored=[f"Zendesk ticket status {status!r} is not a close"],
                    delivery_id=delivery,
                )
        case = make_case(
            source=self.source,
            **template_body_fields(
                data,
                event,
                request,
                owner_key="assignee_email",
                company_key="organization",
                closed_key="updated_at",
            ),
            channel=lookup(CHANNELS, text(data.get("via"), "via"), Channel.OTHER),
            severity=priority_of(text(data.get("priority"), "priority")),
            kind=lookup(KINDS, text(data.get("ticket_type"), "ticket_type"), Kind.REQUEST),
            tags=tag_list(data.get("tags"), "tags"),
            url=_url(text(data.get("url"), "url")),
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)
