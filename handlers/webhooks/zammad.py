"""`zammad`: a trigger's webhook with `ticket` and `article`, ticket state closed.

Facts (Zammad admin documentation "Webhook" > "Payload" and "Add a webhook"; Zammad's own
webhook job spec):
- Headers: `X-Zammad-Trigger` (the trigger's name), `X-Zammad-Delivery` (a unique random id),
  `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>` when the webhook has a signature
  token.
- Default body: `{"ticket": {...}, "article": {...}}` with the ticket's relations expanded:
  `id`, `number`, `title`, `state` (a name: new, open, closed, "pending reminder", ...),
  `owner` (`id`, `email`, `firstname`, `lastname`; id 1 is Zammad's "nobody"), `customer`,
  `organization.name`, `group.name`, `priority.name` ("1 low", "2 normal", "3 high"), `tags`,
  `create_article_type` (email, phone, web, chat, ...), `close_at`, `updated_at`,
  `updated_by`; the article has `body`, `content_type`, `sender`, `internal`.
- `close_at` is set once, at the first close, and never moves (zammad/zammad issue #1937,
  "the close time in Zammad is always the first time where the ticket got closed"); newer
  versions also carry `last_close_at`, the latest close (a ticket attribute: Zammad's
  app/graphql/gql/types/ticket_type.rb, and the indexed attributes in zammad-documentation
  PR #505). A re-close is timed from `last_close_at`, else from `updated_at` when `close_at`
  is older than the update (a re-close on a version without `last_close_at`).
- The payload does not say what the state was before: configure two triggers, "State is
  closed" and "State is open", both with "has changed" (RECIPE); open is read as a reopen,
  harmless for a ticket that never was closed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event

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
    email,
    full_name,
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

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Zammad-Delivery"
NOBODY = "1"
SAME_UPDATE = timedelta(minutes=5)
CHANNELS = {
    "email": Channel.EMAIL,
    "phone": Channel.PHONE,
    "web": Channel.WEB,
    "chat": Channel.CHAT,
    "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "telegram": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "sms": Channel.OTHER,
}


def _named(value: Any, name: str) -> str | None:
    """Zammad expands some relations to objects and leaves others as names."""
    if isinstance(value, dict):
        value = value.get("name")
    return text(value, name)


def _user(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or str(value.get("id")) == NOBODY or value.get("login") == "-":
        return {}
    return value


def _closed_at(ticket: dict[str, Any], request: WebhookRequest) -> datetime:
    now = request.received_at
    last = parse_time(ticket.get("last_close_at"), "ticket.last_close_at", now=now)
    if last is not None:
        return last
    first = parse_time(ticket.get("close_at"), "ticket.close_at", now=now)
    updated = parse_time(ticket.get("updated_at"), "ticket.updated_at", now=now)
    # The trigger fires on the update that closed the ticket: an update long after the first
    # close is a later close, and the first close time would date it wrongly.
    if first is not None and (updated is None or updated - first < SAME_UPDATE):
        return first
    return updated or now


class ZammadAdapter:
    source = "zammad"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is not None:
            check_prefixed_hex(request, secret, SIGNATURE_HEADER, "sha1", "sha1")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        delivery = request.header(DELIVERY_HEADER)
        ticket = data.get("ticket")
        if not isinstance(ticket, dict):
            raise bad("ticket", "is required")
        state = (_named(ticket.get("state"), "ticket.state") or "").lower()
        if state == "closed":
            event = Event.CLOSED
        elif state == "open":
            event = Event.REOPENED
        else:
            return WebhookResult(
                ignored=[f"Zammad ticket state {state or '?'!r} is not closed"],
                delivery_id=delivery,
            )
        reopened_at = (
            parse_time(ticket.get("updated_at"), "ticket.updated_at", now=request.received_at)
            or request.received_at
        )
        subject = text(ticket.get("title"), "ticket.title")
        if event is Event.CLOSED and subject is None:
            raise bad("ticket.title", "is required")
        owner = _user(ticket.get("owner")) or _user(ticket.get("updated_by"))
        owner_email = email(owner.get("email"), "ticket.owner.email")
        owner_id = ident(owner.get("id"), "ticket.owner.id")
        customer = _user(ticket.get("customer"))
        article = obj(data.get("article"))
        resolution = None
        if article.get("sender") == "Agent" and not article.get("internal"):
            resolution = strip_html(text(article.get("body"), "article.body"))
        case = make_case(
            source=self.source,
            external_id=required_ident(ticket.get("id"), "ticket.id"),
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=_closed_at(ticket, request) if event is Event.CLOSED else reopened_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(
                full_name(customer.get("firstname"), customer.get("lastname")), MAX_SHORT
            ),
            customer_email=email(customer.get("email"), "ticket.customer.email"),
            customer_external_id=ident(customer.get("id"), "ticket.customer.id"),
            company=clip(_named(ticket.get("organization"), "ticket.organization"), MAX_SHORT),
            team=clip(_named(ticket.get("group"), "ticket.group"), MAX_SHORT),
            resolution=clip(resolution, MAX_RESOLUTION),
            channel=lookup(
                CHANNELS,
                text(ticket.get("create_article_type"), "ticket.create_article_type"),
                Channel.OTHER,
            ),
            severity=priority_of(_named(ticket.get("priority"), "ticket.priority")),
            tags=tag_list(ticket.get("tags"), "ticket.tags"),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)


RECIPE = Recipe(
    source="zammad",
    vendor="Zammad",
    steps=(
        'Settings > Manage > Webhook > New Webhook: Name "Followup", Endpoint {url}, '
        "HMAC SHA1 Signature Token: the value of WEBHOOK_SECRET_ZAMMAD, SSL Verify yes; keep the "
        "default payload (no custom payload) and submit.",
        'Settings > Manage > Trigger > New Trigger, named "Followup: closed", activated by '
        "Action: add the conditions below; under Execute changes on objects choose "
        'Notification > Webhook and pick "Followup".',
        'A second trigger, "Followup: reopened", the same but with "Ticket > State | is | '
        'open" in place of "is | closed".',
    ),
    conditions=(
        "Ticket > State | has changed",
        "Ticket > State | is | closed",
    ),
    secret="a random string of your own (at least 16 characters), set both here and as the "
    "webhook's HMAC SHA1 Signature Token",
    notes=(
        "Zammad's close time (close_at) is the first close only; a re-close is timed from "
        "last_close_at where the Zammad version sends it, else from the closing update.",
        "A ticket owned by nobody is owned by the agent who closed it (updated_by); without "
        "an email the case goes to triage.",
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A trigger's default payload for a closed ticket, signed as Zammad signs."""
    moment = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    owner = {
        "id": 3,
        "login": "agent@example.com",
        "firstname": "Sample",
        "lastname": "Agent",
        "email": "agent@example.com",
        "active": True,
    }
    body = {
        "ticket": {
            "id": case_id,
            "number": "31004711",
            "title": "Invoice shows the wrong VAT number",
            "state": "closed",
            "state_id": 4,
            "owner_id": 3,
            "owner": owner,
            "customer": {
                "id": 9,
                "login": "customer@example.com",
                "firstname": "Sample",
                "lastname": "Customer",
                "email": "customer@example.com",
            },
            "organization": {"id": 2, "name": "Example Ltd"},
            "group": {"id": 1, "name": "Users"},
            "priority": {"id": 2, "name": "2 normal"},
            "create_article_type": "email",
            "tags": ["billing"],
            "close_at": moment,
            "last_close_at": moment,
            "updated_at": moment,
            "updated_by": owner,
        },
        "article": {
            "id": 9001,
            "ticket_id": case_id,
            "from": "Sample Agent",
            "body": "Corrected the VAT number and re-issued the invoice.",
            "content_type": "text/plain",
            "sender": "Agent",
            "type": "email",
            "internal": False,
        },
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: "sha1=" + hmac_hex(secret, raw, "sha1"),
        DELIVERY_HEADER: f"followup-test-{int(now.timestamp())}",
        "X-Zammad-Trigger": "Followup: closed",
    }
    return raw, headers
