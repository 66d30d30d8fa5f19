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
  `ZENDESK_TRIGGER_BODY`. It may be sent as JSON or form-encoded. A placeholder sent to a
  webhook renders as unformatted text, and one with no value renders empty ("Zendesk
  placeholders reference").
- Trigger conditions ("Ticket trigger conditions and actions reference"): *Ticket > Status
  category* (accounts with custom ticket statuses; *Ticket > Status* otherwise) offers the
  operators Is, Changed to, Changed from, Less than, ... "Is Solved" holds on every later update
  of a solved ticket (a rating, a note, a tag), so the trigger would fire again; "Changed to
  Solved" fires once per solve.
- The resolution is `{{ticket.latest_public_comment}}`, the text of the latest public comment
  (used in the same way by Braze's and other vendors' published Zendesk trigger bodies). An
  agent solves with a public reply ("Submit as Solved"), so that is the solving reply; when the
  agent solved without replying, the latest public comment may be the customer's own message:
  `{{ticket.latest_public_comment.author.email}}` then equals the requester's email and the
  text is dropped. (That chained placeholder is inferred from the documented comment object,
  whose `author` is a user; where it renders empty the text is kept.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
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
    email,
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
from .recipe import Recipe

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
        "requester_id": "{{ticket.requester.id}}",
        "organization": "{{ticket.organization.name}}",
        "group": "{{ticket.group.name}}",
        "via": "{{ticket.via}}",
        "priority": "{{ticket.priority}}",
        "ticket_type": "{{ticket.ticket_type}}",
        "tags": "{{ticket.tags}}",
        "url": "{{ticket.link}}",
        "resolution": "{{ticket.latest_public_comment}}",
        "resolution_author_email": "{{ticket.latest_public_comment.author.email}}",
    },
    indent=2,
)
"""The close trigger's body (RECIPE); the reopen trigger's is the same with "event": "reopened".
The explicit "event" keeps us independent of the account's language ({{ticket.status}} is
localised)."""
ZENDESK_REOPEN_BODY = ZENDESK_TRIGGER_BODY.replace('"event": "closed"', '"event": "reopened"', 1)

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


def _written_by_requester(data: Mapping[str, Any]) -> bool:
    author = email(data.get("resolution_author_email"), "resolution_author_email")
    requester = email(data.get("requester_email"), "requester_email")
    return author is not None and requester is not None and author.lower() == requester.lower()


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
            customer_external_id=ident(detail.get("requester_id"), "detail.requester_id"),
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
        fields = template_body_fields(
            data,
            event,
            request,
            owner_key="assignee_email",
            company_key="organization",
            closed_key="updated_at",
        )
        if _written_by_requester(data):
            fields["resolution"] = None  # solved without a reply: the customer's words
        case = make_case(
            source=self.source,
            **fields,
            channel=lookup(CHANNELS, text(data.get("via"), "via"), Channel.OTHER),
            severity=priority_of(text(data.get("priority"), "priority")),
            kind=lookup(KINDS, text(data.get("ticket_type"), "ticket_type"), Kind.REQUEST),
            tags=tag_list(data.get("tags"), "tags"),
            url=_url(text(data.get("url"), "url")),
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)


RECIPE = Recipe(
    source="zendesk",
    vendor="Zendesk",
    steps=(
        "Admin Center > Apps and integrations > Webhooks > Webhooks > Create webhook: choose "
        '"Trigger or automation", Endpoint URL {url}, Request method POST, Request format '
        "JSON, Authentication None; Create webhook.",
        "Admin Center > Objects and rules > Business rules > Triggers > Create trigger, named "
        '"Followup: solved": add the condition below under "Meet ALL of the following '
        'conditions"; under Actions choose "Notify by > Active webhook", pick the webhook '
        "and paste the body below into JSON body.",
        'Create a second trigger, "Followup: reopened", with the conditions "Ticket > Status '
        'category | Changed from | Solved" and "Ticket > Status category | Less than | '
        'Solved" and the same body with "event": "reopened" in place of '
        '"event": "closed" (a customer\'s reply reopens a solved ticket; the second '
        "condition keeps the automatic Solved > Closed step from counting as a reopen).",
        "Copy the webhook's signing secret (the webhook's page > Signing secret > Reveal "
        "secret) into WEBHOOK_SECRET_ZENDESK and restart the bot.",
    ),
    conditions=("Ticket > Status category | Changed to | Solved",),
    body=ZENDESK_TRIGGER_BODY,
    secret="the webhook's signing secret (Admin Center > Apps and integrations > Webhooks > "
    "the webhook > Signing secret > Reveal secret)",
    notes=(
        'Accounts without custom ticket statuses show the condition as "Ticket > Status | '
        'Changed to | Solved" (and "Changed from | Solved", "Less than | Solved" for the '
        "reopen trigger).",
        'Not "Status category | Is | Solved": it holds on every later update of a solved '
        "ticket (a rating, a note, a tag), so the trigger would fire again.",
        "The resolution is the latest public comment: solve with a public reply saying what "
        "was done. When the latest public comment is the customer's, no resolution is kept.",
        "Alternative without a body: Create webhook > Zendesk events > Ticket status changed. "
        "It names the assignee by id only: link each agent with "
        "`followup agents link zendesk <user id> <email>`.",
    ),
)


def render_trigger_body(values: Mapping[str, str], *, event: str = "closed") -> dict[str, str]:
    """The body Zendesk posts from ZENDESK_TRIGGER_BODY: each placeholder replaced by the value
    under its key, or by nothing when the ticket has none (as Zendesk renders it)."""
    template: dict[str, str] = json.loads(ZENDESK_TRIGGER_BODY)
    unknown = set(values) - set(template)
    if unknown:
        raise ValueError(f"not in the trigger body: {sorted(unknown)}")
    body = {key: values.get(key, "") if "{{" in value else value for key, value in template.items()}
    body["event"] = event
    return body


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A close as the recipe's trigger posts it, signed as Zendesk signs."""
    body = render_trigger_body(
        {
            "ticket_id": case_id,
            "subject": "Invoice shows the wrong VAT number",
            "status": "Solved",
            "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "assignee_email": "agent@example.com",
            "assignee_name": "Sample Agent",
            "requester_name": "Sample Customer",
            "requester_email": "customer@example.com",
            "organization": "Example Ltd",
            "group": "Support",
            "via": "Web Form",
            "priority": "Normal",
            "ticket_type": "Question",
            "tags": "billing followup_test",
            "url": "example.zendesk.com/agent/tickets/90210",
            "resolution": "Corrected the VAT number and re-issued the invoice.",
            "resolution_author_email": "agent@example.com",
        }
    )
    raw = json.dumps(body).encode()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: hmac_b64(secret, stamp.encode() + raw, "sha256"),
        TIMESTAMP_HEADER: stamp,
        INVOCATION_HEADER: f"followup-test-{int(now.timestamp())}",
    }
    return raw, headers
