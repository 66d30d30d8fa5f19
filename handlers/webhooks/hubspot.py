"""`hubspot`: ticket stage changes from the Webhooks API (a batch) or a workflow webhook.

Facts (HubSpot developer docs "Webhooks API", "Validating requests" and the changelog entry
introducing v3 signatures; workflow "Send a webhook" action docs; example payloads published by
integration vendors):
- v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app client secret, method + URI + body +
  timestamp)) with `X-HubSpot-Request-Timestamp` in milliseconds; refuse when older than
  5 minutes. v1 (`X-HubSpot-Signature`, hex SHA-256 of secret + body) and v2 (hex SHA-256 of
  secret + method + URI + body), told apart by `X-HubSpot-Signature-Version`, carry no
  timestamp; we accept them only with `hubspot_accept_v1_v2`.
- The Webhooks API posts a JSON array of up to 100 events: `eventId`, `subscriptionId`,
  `portalId`, `appId`, `occurredAt` (ms), `subscriptionType` ("ticket.propertyChange"),
  `attemptNumber`, `objectId`, `propertyName`, `propertyValue`, `changeSource`, `sourceId`
  ("userId:123" when a person made the change). Ids only: no subject, no owner email.
- A workflow's "Send a webhook" posts the enrolled record: either all properties
  (`{"objectId": .., "properties": {"subject": {"value": ..}, ..}}`) or a customised flat body
  (`{"hs_object_id": .., "subject": .., "hubspot_owner_id": ..}`).
- Default ticket pipeline stages: "1" New, "2" Waiting on contact, "3" Waiting on us,
  "4" Closed; other pipelines have their own ids (configuration: `hubspot_closed_stages`).

Decision: the workflow webhook gives a real subject and owner and is the recommended setup.
A Webhooks API event becomes a case titled "HubSpot ticket <id>", owned by the HubSpot user
who moved the ticket (`userId:<id>`, linked with `followup agents link`); enriching it through
the HubSpot API is not possible without network access here. A close with no person behind it
(a workflow, an integration) is still a case: it has no owner and goes to the triage channel.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote

from bot.cases import MAX_SHORT, MAX_SUBJECT, Channel, Event, Kind

from .base import (
    WebhookConfig,
    WebhookRequest,
    WebhookResult,
    bad,
    check_content_type,
    check_fresh,
    epoch_header,
    hmac_b64,
    same,
    secret_for,
    unauthorized,
)
from .fields import (
    clip,
    email,
    ident,
    lookup,
    make_case,
    obj,
    parse_json,
    parse_time,
    priority_of,
    required_ident,
    text,
)

V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
LEGACY_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
STAGE = "hs_pipeline_stage"
TICKET_OBJECT = "0-5"
CHANNELS = {
    "email": Channel.EMAIL,
    "chat": Channel.CHAT,
    "phone": Channel.PHONE,
    "form": Channel.WEB,
}
KINDS = {
    "product_issue": Kind.INCIDENT,
    "billing_issue": Kind.QUERY,
    "feature_request": Kind.REQUEST,
    "general_inquiry": Kind.QUERY,
}


def _uris(url: str) -> list[str]:
    # HubSpot signs the URI with percent-escapes decoded; accept it as received too.
    return list(dict.fromkeys([url, unquote(url)]))


class HubSpotAdapter:
    source = "hubspot"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = request.header(V3_HEADER)
        if given is not None:
            moment = epoch_header(request, TIMESTAMP_HEADER, millis=True)
            check_fresh(moment, request, config, TIMESTAMP_HEADER)
            timestamp = request.header(TIMESTAMP_HEADER) or ""
            for uri in _uris(request.url):
                message = f"{request.method.upper()}{uri}".encode() + request.body
                if same(given, hmac_b64(secret, message + timestamp.encode(), "sha256")):
                    return
            raise unauthorized(f"{V3_HEADER} does not match the request")
        legacy = request.header(LEGACY_HEADER)
        if legacy is None:
            raise unauthorized(f"missing {V3_HEADER} header")
        if not config.hubspot_accept_v1_v2:
            raise unauthorized(f"only {V3_HEADER} is accepted (v1/v2 carry no timestamp)")
        version = (request.header(VERSION_HEADER) or "v1").lower()
        prefixes = [secret.encode()]
        if version == "v2":
            prefixes = [
                f"{secret}{request.method.upper()}{uri}".encode() for uri in _uris(request.url)
            ]
        for prefix in prefixes:
            if same(legacy.lower(), hashlib.sha256(prefix + request.body).hexdigest()):
                return
        raise unauthorized(f"{LEGACY_HEADER} does not match the request")

    def parse(self, request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
        check_content_type(request)
        data = parse_json(request.body)
        if isinstance(data, list):
            return self._batch(request, data, config)
        if isinstance(data, dict):
            return self._workflow(request, data, config)
        raise bad("body", "must be a JSON array of events or a ticket object")

    def _batch(
        self, request: WebhookRequest, events: list[Any], config: WebhookConfig
    ) -> WebhookResult:
        cases, ignored = [], []
        for index, raw in enumerate(events):
            name = f"[{index}]"
            if not isinstance(raw, dict):
                raise bad(name, "must be an event object")
            kind = text(raw.get("subscriptionType"), f"{name}.subscriptionType") or "?"
            is_ticket = kind == "ticket.propertyChange" or (
                kind == "object.propertyChange" and raw.get("objectTypeId") == TICKET_OBJECT
            )
            if not is_ticket or raw.get("propertyName") != STAGE:
                ignored.append(
                    f"HubSpot event {kind} {raw.get('propertyName') or ''} is not a "
                    "ticket stage change".replace("  ", " ")
                )
                continue
            ticket_id = required_ident(raw.get("objectId"), f"{name}.objectId")
            stage = ident(raw.get("propertyValue"), f"{name}.propertyValue")
            event = Event.CLOSED if stage in config.hubspot_closed_stages else Event.REOPENED
            source_id = text(raw.get("sourceId"), f"{name}.sourceId") or ""
            owner = source_id if source_id.startswith("userId:") else None
            # A close by a workflow or integration names no person: the case goes to triage.
            cases.append(
                make_case(
                    source=self.source,
                    external_id=ticket_id,
                    subject=f"HubSpot ticket {ticket_id}" if event is Event.CLOSED else "",
                    closed_at=parse_time(
                        raw.get("occurredAt"),
                        f"{name}.occurredAt",
                        required=True,
                        now=request.received_at,
                    ),
                    owner_external_id=owner,
                    channel=Channel.OTHER,
                    event=event,
                    delivery_id=ident(raw.get("eventId"), f"{name}.eventId"),
                )
            )
        return WebhookResult(cases=cases, ignored=ignored)

    def _workflow(
        self, request: WebhookRequest, data: dict[str, Any], config: WebhookConfig
    ) -> WebhookResult:
        props = obj(data.get("properties")) or data

        def prop(key: str) -> Any:
            value = props.get(key)
            return value.get("value") if isinstance(value, dict) else value

        ticket_id = ident(prop("hs_object_id"), "hs_object_id") or required_ident(
            data.get("objectId"), "objectId"
        )
        stage = ident(prop(STAGE), STAGE)
        # A workflow enrolled on "ticket is closed" may leave the stage out: that is a close.
        event = (
            Event.REOPENED if stage and stage not in config.hubspot_closed_stages else Event.CLOSED
        )
        subject = text(prop("subject"), "subject")
        if event is Event.CLOSED and subject is None:
            raise bad("subject", "is required (add the ticket name to the webhook body)")
        owner_email = email(prop("owner_email"), "owner_email")
        owner_id = ident(prop("hubspot_owner_id"), "hubspot_owner_id")
        case = make_case(
            source=self.source,
            external_id=ticket_id,
            subject=clip(subject, MAX_SUBJECT) or "",
            closed_at=parse_time(prop("closed_date"), "closed_date", now=request.received_at)
            or request.received_at,
            owner_email=owner_email,
            owner_external_id=owner_id,
            customer_name=clip(text(prop("customer_name"), "customer_name"), MAX_SHORT),
            customer_email=email(prop("customer_email"), "customer_email"),
            company=clip(text(prop("company"), "company"), MAX_SHORT),
            resolution=clip(text(prop("hs_resolution"), "hs_resolution"), 4000),
            channel=lookup(CHANNELS, text(prop("source_type"), "source_type"), Channel.OTHER),
            severity=priority_of(text(prop("hs_ticket_priority"), "hs_ticket_priority")),
            kind=lookup(
                KINDS, text(prop("hs_ticket_category"), "hs_ticket_category"), Kind.REQUEST
            ),
            event=event,
        )
        return WebhookResult(cases=[case])
