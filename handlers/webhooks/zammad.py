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
- The payload does not say what the state was before: configure two triggers, "State is
  closed" and "State is open", both with "has changed" (docs/helpdesks.md); open is read as
  a reopen, harmless for a ticket that never was closed.
"""

from __future__ import annotations

from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event

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

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Zammad-Delivery"
NOBODY = "1"
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
            closed_at=parse_time(ticket.get("close_at"), "ticket.close_at", now=request.received_at)
            or parse_time(ticket.get("updated_at"), "ticket.updated_at", now=request.received_at)
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(
                full_name(customer.get("firstname"), customer.get("lastname")), MAX_SHORT
            ),
            customer_email=email(customer.get("email"), "ticket.customer.email"),
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
