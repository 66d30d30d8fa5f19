"""`freshdesk`: an automation rule's "Trigger webhook" action, Advanced (our JSON) or Simple.

Facts (Freshdesk support articles "Using webhooks in automation rules" and the placeholders
list, Freshdesk API v2 docs for status/source/priority numbers; Zulip's Freshdesk integration,
zerver/webhooks/freshdesk in zulip/zulip; OpsGenie's Freshdesk integration sample payload):
- The rule's Content is either *Advanced* (a body the admin writes with placeholders:
  {{ticket.id}}, {{ticket.subject}}, {{ticket.status}}, {{ticket.agent.email}}, ...) or
  *Simple* (fields ticked from a list). Simple posts `{"freshdesk_webhook": {"ticket_id": ..,
  "ticket_subject": .., "ticket_status": "Resolved", "ticket_agent_email": ..,
  "ticket_priority", "ticket_source", "ticket_type", "ticket_tags" ("a, b"), "ticket_url",
  "ticket_group_name", "ticket_company_name", "requester_name", "ticket_requester_email",
  "triggered_event", ...}}`. Encoding JSON, XML or form. Placeholders render display names
  ("Resolved", "Email"); the API's numbers (status 4 Resolved, 5 Closed; source 1 Email,
  2 Portal, 3 Phone, 7 Chat, 9 Feedback widget, 10 Outbound email; priority 1-4 Low..Urgent)
  are accepted too. How Simple content is form-encoded is not confirmed: read it as JSON.
- Freshdesk does not sign webhooks. The rule can add custom headers, so the admin adds
  `X-Followup-Token: <WEBHOOK_SECRET_FRESHDESK>` (name: FRESHDESK_TOKEN_HEADER), or, with
  WEBHOOK_TOKEN_SOURCES=freshdesk:query, puts `?token=` in the URL; compared in constant time.
  There is no delivery id and no resolution time placeholder: `closed_at` is the arrival time
  unless the body carries one. A ticket Resolved then Closed sends twice: the second is the
  same cycle (the store's rule: a close after a close, with no reopen, is a duplicate).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.cases import MAX_SHORT, Channel, Event, Kind, Severity

from .base import (
    TOKEN_HEADER,
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_token,
    secret_for,
)
from .fields import (
    lookup,
    make_case,
    obj,
    parse_object_or_form,
    priority_of,
    tag_list,
    template_body_fields,
    text,
)
from .recipe import Recipe

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
        "requester_id": "{{ticket.requester.id}}",
        "company": "{{ticket.company.name}}",
        "group": "{{ticket.group.name}}",
    },
    indent=2,
)
"""The Advanced content to paste in the rule's Trigger webhook action (RECIPE below)."""

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


SIMPLE_KEYS = {
    # Simple content's field -> the key of our Advanced body (FRESHDESK_RULE_BODY).
    "ticket_id": "ticket_id",
    "ticket_subject": "subject",
    "ticket_status": "status",
    "ticket_priority": "priority",
    "ticket_source": "source",
    "ticket_type": "ticket_type",
    "ticket_tags": "tags",
    "ticket_url": "url",
    "ticket_agent_email": "agent_email",
    "ticket_agent_name": "agent_name",
    "requester_name": "requester_name",
    "ticket_requester_name": "requester_name",
    "requester_email": "requester_email",
    "ticket_requester_email": "requester_email",
    "ticket_company_name": "company",
    "ticket_group_name": "group",
}


def _from_simple(fields: dict[str, Any]) -> dict[str, Any]:
    """A Simple body's fields under the names our Advanced body uses."""
    return {ours: fields[theirs] for theirs, ours in SIMPLE_KEYS.items() if theirs in fields}


class FreshdeskAdapter:
    source = "freshdesk"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is not None:
            place = config.token_place or "header"
            check_token(request, secret, place=place, header=config.freshdesk_token_header)

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        data = parse_object_or_form(request)
        simple = "freshdesk_webhook" in data
        if simple:
            data = _from_simple(obj(data["freshdesk_webhook"]))
        status = text(data.get("status"), "status")
        if status is None:
            if simple:
                raise bad("ticket_status", "is required: tick Status in the webhook's fields")
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


RECIPE = Recipe(
    source="freshdesk",
    vendor="Freshdesk",
    steps=(
        "In Freshdesk, go to Admin > Workflows > Automations, tab Ticket updates, and click "
        "New rule.",
        "When an action performed by Anyone, Status is changed from Any status to Resolved "
        "(add Closed too: a later Closed is the same cycle, not a new one).",
        "Perform these actions: Trigger webhook. Request type: POST. URL: {url}",
        "Add custom headers: X-Followup-Token: <WEBHOOK_SECRET_FRESHDESK>.",
        "Encoding: JSON. Content: Advanced, and paste the body below (Simple also works: tick at "
        "least Ticket ID, Subject, Status and Agent email).",
        "Save the rule; Freshdesk runs ticket-update rules in order, so move it above rules "
        "that stop the run.",
    ),
    secret="any long random value you choose; the same value goes in the rule's "
    "X-Followup-Token header (Freshdesk does not sign webhooks)",
    conditions=("Status is changed from Any status to Resolved (or Closed)",),
    body=FRESHDESK_RULE_BODY,
    notes=(
        "Reopens: a second rule, Status is changed from Resolved (or Closed) to Open, with the "
        "same action.",
        "The token is weaker than a signature: anyone who sees one request can replay it. Keep "
        "it in the header; `?token=` in the URL (WEBHOOK_TOKEN_SOURCES=freshdesk:query) also "
        "shows in proxy logs.",
        "The header's name can be changed with FRESHDESK_TOKEN_HEADER.",
    ),
    extra=(("FRESHDESK_TOKEN_HEADER", "the custom header's name, default X-Followup-Token"),),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """What the recipe's rule posts for a resolved ticket (Advanced content, token header)."""
    del url, now  # Freshdesk signs nothing and sends no time
    body = {
        "ticket_id": case_id,
        "subject": "Invoice shows the wrong VAT number",
        "status": "Resolved",
        "priority": "High",
        "source": "Email",
        "ticket_type": "Problem",
        "tags": "billing,vip",
        "url": f"https://acme.freshdesk.com/helpdesk/tickets/{case_id}",
        "agent_email": "agent@example.com",
        "agent_name": "Ada Agent",
        "requester_name": "Lukas Customer",
        "requester_email": "lukas@example.com",
        "company": "Example Ltd",
        "group": "Billing",
    }
    headers = {"Content-Type": "application/json", TOKEN_HEADER: secret}
    return json.dumps(body).encode(), headers
