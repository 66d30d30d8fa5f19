"""`jira`: `jira:issue_updated` whose status moves into (or out of) the "done" category.

Facts (Atlassian developer docs "Webhooks" for Jira Cloud, incl. "Secure admin webhooks";
jira.js's webhook types; payload fixtures in zulip/zulip's Jira integration):
- Body: `webhookEvent`, `timestamp` (ms), `user`, `issue` (`id`, `key`, `self`, `fields` with
  `summary`, `status.statusCategory.key` in {new, indeterminate, done}, `assignee`, `reporter`,
  `priority.name`, `issuetype.name`, `labels`, `resolution`, `resolutiondate`) and
  `changelog.items[]` (`field`, `fieldId`, `fromString`, `toString`). Jira Service Management
  sends the same shape for its requests.
- Admin webhooks saved with a secret carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the
  raw body>`; `X-Atlassian-Webhook-Identifier` names the delivery and stays the same on retries.
- Cloud hides `emailAddress` by default (privacy settings): the owner is then the assignee's
  `accountId`, linked with `followup agents link jira <accountId> ...`.
"""

from __future__ import annotations

from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event, Kind

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
    full_name,
    ident,
    lookup,
    make_case,
    obj,
    parse_object,
    parse_time,
    priority_of,
    required_ident,
    tag_list,
    text,
)

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
KINDS = {
    "incident": Kind.INCIDENT,
    "bug": Kind.INCIDENT,
    "problem": Kind.INCIDENT,
    "question": Kind.QUERY,
    "complaint": Kind.COMPLAINT,
}


def _status_changed(data: dict[str, Any]) -> bool:
    items = dig(data, "changelog", "items")
    return isinstance(items, list) and any(
        isinstance(i, dict) and (i.get("fieldId") == "status" or i.get("field") == "status")
        for i in items
    )


def _browse_url(issue: dict[str, Any]) -> str | None:
    api = text(issue.get("self"), "issue.self")
    key = text(issue.get("key"), "issue.key")
    if not api or not key or "/rest/" not in api:
        return None
    url = f"{api.split('/rest/', 1)[0]}/browse/{key}"
    return url if url.startswith("http") and len(url) <= MAX_SHORT else None


class JiraAdapter:
    source = "jira"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is not None:
            check_prefixed_hex(request, secret, SIGNATURE_HEADER, "sha256", "sha256")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        delivery = request.header(DELIVERY_HEADER)
        kind = text(data.get("webhookEvent"), "webhookEvent")
        if kind is None:
            raise bad("webhookEvent", "is required")
        if kind != "jira:issue_updated" or not _status_changed(data):
            return WebhookResult(
                ignored=[f"Jira {kind} is not a status change"], delivery_id=delivery
            )
        issue = data.get("issue")
        if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict):
            raise bad("issue.fields", "is required")
        fields = issue["fields"]
        category = text(
            dig(fields, "status", "statusCategory", "key"), "issue.fields.status.statusCategory.key"
        )
        if category is None:
            raise bad("issue.fields.status.statusCategory.key", "is required")
        # Any status change out of "done" is a reopen; one that never was done is harmless.
        event = Event.CLOSED if category == "done" else Event.REOPENED
        subject = text(fields.get("summary"), "issue.fields.summary")
        if event is Event.CLOSED and subject is None:
            raise bad("issue.fields.summary", "is required")
        person = obj(fields.get("assignee")) or obj(data.get("user"))
        owner_email = email(person.get("emailAddress"), "assignee.emailAddress")
        owner_id = ident(person.get("accountId") or person.get("name"), "assignee.accountId")
        reporter = obj(fields.get("reporter"))
        case = make_case(
            source=self.source,
            external_id=required_ident(issue.get("id") or issue.get("key"), "issue.id"),
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(
                fields.get("resolutiondate"), "issue.fields.resolutiondate", now=request.received_at
            )
            or parse_time(data.get("timestamp"), "timestamp", now=request.received_at)
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(full_name(reporter.get("displayName")), MAX_SHORT),
            customer_email=email(reporter.get("emailAddress"), "reporter.emailAddress"),
            resolution=clip(
                text(dig(fields, "resolution", "name"), "resolution.name"), MAX_RESOLUTION
            ),
            channel=Channel.WEB,
            severity=priority_of(text(dig(fields, "priority", "name"), "priority.name")),
            kind=lookup(
                KINDS, text(dig(fields, "issuetype", "name"), "issuetype.name"), Kind.REQUEST
            ),
            tags=tag_list(fields.get("labels"), "issue.fields.labels"),
            url=_browse_url(issue),
            event=event,
            delivery_id=delivery,
        )
        return WebhookResult(cases=[case], delivery_id=delivery)
