"""`jira`: a status moving into (or out of) the "done" category, from an admin webhook or from
Automation's "Send web request".

Facts (Atlassian developer docs "Webhooks" for Jira Cloud, incl. "Secure admin webhooks";
Atlassian support "Send web request" and its example pages "Issue data (Jira format) payload" and
"Issue data (Automation format) payload"; jira.js's webhook types; payload fixtures in
zulip/zulip's Jira integration):
- Admin webhook body: `webhookEvent`, `timestamp` (ms), `user`, `issue` (`id`, `key`, `self`,
  `fields` with `summary`, `status.statusCategory.key` in {new, indeterminate, done},
  `assignee`, `reporter`, `priority.name`, `issuetype.name`, `labels`, `resolution`,
  `resolutiondate`) and `changelog.items[]` (`field`, `fieldId`, `fromString`, `toString`).
  Jira Service Management sends the same shape for its requests.
- Admin webhooks saved with a secret carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the
  raw body>`; `X-Atlassian-Webhook-Identifier` names the delivery and stays the same on retries.
  Only Jira administrators can create them.
- Project admins use Automation: rule trigger "Work item transitioned" (formerly "Issue
  transitioned") and action "Send web request", whose Web request body is Empty, "Issue data
  (Automation format)" (the issue object itself: `self`, `id` as a number, `key`, `fields`),
  "Issue data (Jira format)" (`{"issue": {...}}`) or Custom data. It can add headers but cannot
  compute an HMAC: it authenticates with the shared token (WEBHOOK_TOKEN_SOURCES=jira), by
  default in an `X-Followup-Token` header. Neither body has `webhookEvent` nor changelog items:
  the rule's trigger is the status change, so the issue's status category decides.
- Cloud hides `emailAddress` by default (privacy settings): the owner is then the assignee's
  `accountId`, linked with `followup agents link jira <accountId> ...`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.cases import MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT, Channel, Event, Kind

from .base import (
    TOKEN_HEADER,
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_prefixed_hex,
    check_token,
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
    priority_of,
    required_ident,
    tag_list,
    text,
)
from .recipe import Recipe

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
        if secret is None:
            return
        if request.header(SIGNATURE_HEADER) is not None or config.token_place is None:
            if request.header(SIGNATURE_HEADER) is None:
                raise unauthorized(
                    f"missing {SIGNATURE_HEADER} header (Automation's Send web request cannot "
                    "sign: set WEBHOOK_TOKEN_SOURCES=jira)"
                )
            check_prefixed_hex(request, secret, SIGNATURE_HEADER, "sha256", "sha256")
            return
        check_token(request, secret, place=config.token_place)

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_object(request.body)
        delivery = request.header(DELIVERY_HEADER)
        kind = text(data.get("webhookEvent"), "webhookEvent")
        if kind is None:
            # Automation's "Send web request": the Jira format wraps the issue, the Automation
            # format is the issue; the rule fired on the status change.
            issue = obj(data.get("issue")) or data
            if not isinstance(issue.get("fields"), dict):
                raise bad("webhookEvent", "is required (or send Issue data from Automation)")
            return self._issue(request, {**data, "issue": issue}, delivery)
        if kind != "jira:issue_updated" or not _status_changed(data):
            return WebhookResult(
                ignored=[f"Jira {kind} is not a status change"], delivery_id=delivery
            )
        return self._issue(request, data, delivery)

    def _issue(
        self, request: WebhookRequest, data: dict[str, Any], delivery: str | None
    ) -> WebhookResult:
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
            customer_external_id=ident(reporter.get("accountId"), "reporter.accountId"),
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


RECIPE = Recipe(
    source="jira",
    vendor="Jira Service Management",
    steps=(
        "In your service project, go to Project settings > Automation and click Create rule.",
        "Trigger: Work item transitioned (Issue transitioned), To status: your done statuses "
        "(Resolved, Closed, Done).",
        "Action: Send web request. Web request URL: {url}. HTTP method: POST.",
        "Web request body: Issue data (Jira format).",
        "Headers: name X-Followup-Token, value WEBHOOK_SECRET_JIRA (tick Hidden).",
        "Name the rule, save and turn it on.",
    ),
    secret="any long random value you choose; the same value goes in the rule's "
    "X-Followup-Token header",
    conditions=("Work item transitioned to a status in the Done category",),
    notes=(
        "Set WEBHOOK_TOKEN_SOURCES=jira: Send web request cannot sign, so it sends the token. "
        "A token is weaker than a signature: anyone who sees one request can replay it.",
        "Reopens: a second rule, Work item transitioned from a done status to any other, with "
        "the same action.",
        "Jira admins can use a signed admin webhook instead (System > WebHooks, event Issue "
        "updated, with a Secret = WEBHOOK_SECRET_JIRA): no token needed.",
        "Cloud hides e-mail addresses: `followup agents link jira <accountId> <email>`.",
    ),
    extra=(("WEBHOOK_TOKEN_SOURCES", "include jira (Automation sends the token in a header)"),),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """What the recipe's Automation rule posts: Issue data (Jira format) and the token."""
    del url
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    status = {"name": "Resolved", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}
    agent = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Ada Agent"}
    issue = {
        "self": "https://example.atlassian.net/rest/api/2/issue/10002",
        "id": case_id,
        "key": "SUP-17",
        "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": None},
        "fields": {
            "summary": "Invoice shows the wrong VAT number",
            "issuetype": {"name": "[System] Service request"},
            "priority": {"name": "High"},
            "labels": ["billing"],
            "resolution": {"name": "Done"},
            "resolutiondate": stamp,
            "status": status,
            "assignee": agent,
            "reporter": {"accountId": "qm:1234", "displayName": "Lukas Customer"},
        },
    }
    headers = {"Content-Type": "application/json", TOKEN_HEADER: secret}
    return json.dumps({"issue": issue}).encode(), headers
