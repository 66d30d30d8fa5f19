"""`freshdesk`: an automation rule's "Trigger webhook" action with our JSON body.

Facts (Freshdesk support articles "Using webhooks in automation rules" and the placeholders
list, Freshdesk API v2 docs for status/source/priority numbers):
- The rule posts a body the admin writes with placeholders ({{ticket.id}}, {{ticket.subject}},
  {{ticket.status}}, {{ticket.agent.email}}, {{ticket.source}}, ...); content type JSON, XML or
  form-encoded. Placeholders render display names ("Resolved", "Email"); the API's numbers
  (status 4 Resolved, 5 Closed; source 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback widget,
  10 Outbound email; priority 1-4 Low..Urgent) are accepted too.
- Freshdesk does not sign webhooks. The rule can add custom headers, so the admin adds
  `X-Followup-Token: <WEBHOOK_SECRET_FRESHDESK>` (name configurable); we compare it in constant
  time. There is no delivery id and no resolution time placeholder: `closed_at` is the arrival
  time unless the body carries one.
"""

from __future__ import annotations

import json

from bot.cases import MAX_SHORT, Channel, Event, Kind, Severity

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    same,
    secret_for,
    unauthorized,
)
from .fields import (
    lookup,
    make_case,
    parse_object_or_form,
    priority_of,
    tag_list,
    template_body_fields,
    text,
)

FRESHDESK_RULE_BODY = json.dumps(
    {
        "ticket_id": "{{ticket.id}}",
        "subject": "{{ticket.subject}}",
        "status": "{{ticket.status}}",
        "priority": "{{ticket.priority}}",
        "source": "{{ticket.source}}",
        "ticket_type": "{{ticket.ticket_type}}",
        "tags": "{{ticket.tags}}",
        "url": "{{ticket.url}}",
        "agent_email": "{{ticket.agent.email}}",
        "agent_name": "{{ticket.agent.name}}",
        "requester_name": "{{ticket.requester.name}}",
        "requester_email": "{{ticket.requester.email}}",
        "company": "{{ticket.company.name}}",
        "group": "{{ticket.group.name}}",
    },
    indent=2,
)
"""Paste into Admin > Workflows > Automations > Ticket updates: "Status is changed to Resolved
or Closed" (and, for reopens, "Status is changed from Resolved/Closed"), action Trigger webhook,
POST, JSON, custom header X-Followup-Token."""

STATUSES = {
    "4": Event.CLOSED,
    "5": Event.CLOSED,
    "resolved": Event.CLOSED,
    "closed": Event.CLOSED,
    "2": Event.REOPENED,
    "3": Event.REOPENED,
    "open": Event.REOPENED,
    "pending": Event.REOPENED,
}
SOURCES = {
    "1": Channel.EMAIL,
    "2": Channel.WEB,
    "3": Channel.PHONE,
    "7": Channel.CHAT,
    "9": Channel.WEB,
    "10": Channel.EMAIL,
}
SOURCE_WORDS = {
    "email": Channel.EMAIL,
    "portal": Channel.WEB,
    "widget": Channel.WEB,
    "phone": Channel.PHONE,
    "chat": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "facebook": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
    "forum": Channel.WEB,
}
PRIORITY_NUMBERS = {
    "1": Severity.LOW,
    "2": Severity.NORMAL,
    "3": Severity.HIGH,
    "4": Severity.URGENT,
}
KINDS = {
    "question": Kind.QUERY,
    "incident": Kind.INCIDENT,
    "problem": Kind.INCIDENT,
    "complaint": Kind.COMPLAINT,
}


class FreshdeskAdapter:
    source = "freshdesk"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = request.header(config.freshdesk_token_header)
        if given is None:
            raise unauthorized(f"missing {config.freshdesk_token_header} header")
        if not same(given, secret):
            raise unauthorized(f"{config.freshdesk_token_header} is wrong")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        data = parse_object_or_form(request)
        status = text(data.get("status"), "status")
        if status is None:
            raise bad("status", "is required")
        event = STATUSES.get(status.lower())
        if event is None:
            return WebhookResult(ignored=[f"Freshdesk status {status!r} is not Resolved/Closed"])
        source = text(data.get("source"), "source")
        priority = text(data.get("priority"), "priority")
        url = text(data.get("url"), "url")
        case = make_case(
            source=self.source,
            **template_body_fields(
                data,
                event,
                request,
                owner_key="agent_email",
                company_key="company",
                closed_key="closed_at",
            ),
            channel=SOURCES.get(source or "") or lookup(SOURCE_WORDS, source, Channel.OTHER),
            severity=PRIORITY_NUMBERS.get(priority or "") or priority_of(priority),
            kind=lookup(KINDS, text(data.get("ticket_type"), "ticket_type"), Kind.REQUEST),
            tags=tag_list(data.get("tags"), "tags", sep=","),
            url=url if url and url.startswith("http") and len(url) <= MAX_SHORT else None,
        )
        return WebhookResult(cases=[case])
