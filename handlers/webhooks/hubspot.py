"""`hubspot`: ticket stage changes from the Webhooks API (a batch) or a workflow webhook.

Facts (HubSpot developer docs "Webhooks API" and "Validating requests" (legacy apps), the
changelog entry "Introducing version 3 of webhook signatures"; knowledge base "Use webhooks with
HubSpot workflows"; example payloads published by integration vendors):
- v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app client secret, method + URI + body +
  timestamp)) with `X-HubSpot-Request-Timestamp` in milliseconds; refuse when older than
  5 minutes. v1 (`X-HubSpot-Signature`, hex SHA-256 of secret + body) and v2 (hex SHA-256 of
  secret + method + URI + body), told apart by `X-HubSpot-Signature-Version`, carry no
  timestamp. "Validating requests" says workflow webhook actions are signed with v2 (the
  workflow's "Include request signature in header" with the app's ID; the key is that app's
  client secret), so v2 is the workflow's scheme; we accept it only with HUBSPOT_ACCEPT_V2.
- A workflow's "Send a webhook" can instead authenticate with an "API key" sent in a request
  header or query parameter: our shared token (WEBHOOK_TOKEN_SOURCES=hubspot).
- Workflows retry a failed webhook for up to three days, but never after a 4XX answer (except
  429) (knowledge base): a 401 is final and shows in the workflow's history.
- The Webhooks API posts a JSON array of up to 100 events: `eventId`, `subscriptionId`,
  `portalId`, `appId`, `occurredAt` (ms), `subscriptionType` ("ticket.propertyChange"),
  `attemptNumber`, `objectId`, `propertyName`, `propertyValue`, `changeSource`, `sourceId`
  ("userId:123" when a person made the change). Ids only: no subject, no owner email, and no
  pipeline id nor previous value for `hs_pipeline_stage`.
- A workflow's "Send a webhook" posts the enrolled record: either all properties
  (`{"objectId": .., "properties": {"subject": {"value": ..}, ..}}`, a shape taken from the
  contact workflow webhook; not confirmed for tickets) or a customised flat body
  (`{"hs_object_id": .., "subject": .., "hubspot_owner_id": ..}`).
- Default ticket pipeline stages: "1" New, "2" Waiting on contact, "3" Waiting on us,
  "4" Closed. Custom pipelines get numeric stage ids of their own, unique in the account, so a
  flat list of ids (HUBSPOT_CLOSED_STAGES, HUBSPOT_OPEN_STAGES) serves every pipeline.

Decisions:
- A move into a closed stage is a close; into an open stage, a reopen (the store ignores a
  reopen of a ticket it never saw); into a stage in neither list, nothing: it is ignored with a
  reason naming HUBSPOT_CLOSED_STAGES, so a custom pipeline never loses a close silently.
- v2 only, behind HUBSPOT_ACCEPT_V2 (v1 signs the body alone, not the URL, so a body signed
  for another endpoint would pass). v2's signature covers the body but no time, so a v2-signed
  body must carry a signed time of its own, at most `LEGACY_MAX_AGE` old: each event's
  `occurredAt` in a batch, `hs_lastmodifieddate` in a workflow body (part of "all properties";
  add it to a customised body). That signed time is also the event's time when the body has no
  `closed_date`, and the signature names the delivery, so a retry or replay inside the hour is a
  duplicate delivery and never passes for a new reopen. A retry HubSpot makes after the hour is
  refused (401, final for HubSpot, visible in the workflow's history): the price of having no
  signed timestamp.
- The workflow webhook gives a real subject and owner and is the recommended setup. A Webhooks
  API event becomes a case titled "HubSpot ticket <id>", owned by the HubSpot user who moved the
  ticket (`userId:<id>`, linked with `followup agents link`). A close with no person behind it
  (a workflow, an integration) is still a case: it has no owner and goes to the triage channel.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
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
    check_token,
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
from .recipe import Recipe

V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
LEGACY_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
STAGE = "hs_pipeline_stage"
MODIFIED = "hs_lastmodifieddate"
TICKET_OBJECT = "0-5"
LEGACY_MAX_AGE = timedelta(hours=1)
"""How old the signed time inside a v1/v2-signed body may be (see the module's decisions)."""
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


def _stage_event(stage: str, config: WebhookConfig) -> Event | None:
    """A close, a reopen, or None for a stage the settings do not name."""
    if stage in config.hubspot_closed_stages:
        return Event.CLOSED
    if stage in config.hubspot_open_stages:
        return Event.REOPENED
    return None


def _unknown_stage(ticket_id: str, stage: str) -> str:
    return (
        f"HubSpot ticket {ticket_id}: {STAGE} {stage} is not a closed stage: set "
        "HUBSPOT_CLOSED_STAGES (or HUBSPOT_OPEN_STAGES when tickets reopen into it)"
    )


def _props(data: dict[str, Any]) -> dict[str, Any]:
    """A workflow body's properties, flat: `{"properties": {k: {"value": v}}}` or `{k: v}`."""
    props = obj(data.get("properties")) or data
    return {k: v.get("value") if isinstance(v, dict) else v for k, v in props.items()}


def _check_signed_time(request: WebhookRequest) -> None:
    """v1/v2 sign no time: the body must carry one, fresh (replay protection)."""
    data = parse_json(request.body)
    if isinstance(data, list):
        moments = [
            (e.get("occurredAt"), f"[{i}].occurredAt")
            for i, e in enumerate(data)
            if isinstance(e, dict)
        ]
    elif isinstance(data, dict):
        moments = [(_props(data).get(MODIFIED), MODIFIED)]
    else:
        raise bad("body", "must be a JSON array of events or a ticket object")
    for value, name in moments:
        moment = parse_time(value, name, now=request.received_at)
        if moment is None:
            raise unauthorized(
                f"a v1/v2-signed body must carry {name} (v2 signs no time): include "
                "all ticket properties, or add Last modified date to the webhook body"
            )
        if abs(request.received_at - moment) > LEGACY_MAX_AGE:
            raise unauthorized(f"{name} is more than an hour old: refused as a possible replay")


class HubSpotAdapter:
    source = "hubspot"

    def verify(self, request: WebhookRequest, config: WebhookConfig) -> None:
        secret = secret_for(request, config)
        if secret is None:
            return
        given = request.header(V3_HEADER)
        if given is not None:
            self._check_v3(request, config, secret, given)
            return
        legacy = request.header(LEGACY_HEADER)
        if legacy is not None and config.hubspot_accept_v1_v2:
            self._check_legacy(request, secret, legacy)
            _check_signed_time(request)
            return
        if config.token_place is not None:
            check_token(request, secret, place=config.token_place)
            return
        if legacy is not None:
            raise unauthorized(
                f"only {V3_HEADER} is accepted: set HUBSPOT_ACCEPT_V2=true for workflow "
                "webhooks (v1/v2 carry no timestamp)"
            )
        raise unauthorized(f"missing {V3_HEADER} header")

    def _check_v3(
        self, request: WebhookRequest, config: WebhookConfig, secret: str, given: str
    ) -> None:
        moment = epoch_header(request, TIMESTAMP_HEADER, millis=True)
        check_fresh(moment, request, config, TIMESTAMP_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER) or ""
        for uri in _uris(request.url):
            message = f"{request.method.upper()}{uri}".encode() + request.body
            if same(given, hmac_b64(secret, message + timestamp.encode(), "sha256")):
                return
        raise unauthorized(f"{V3_HEADER} does not match the request")

    def _check_legacy(self, request: WebhookRequest, secret: str, legacy: str) -> None:
        # Only v2, which signs the method and URL: v1 signs the body alone, so a body the same
        # app signed for any other endpoint would pass here.
        version = (request.header(VERSION_HEADER) or "").lower()
        if version != "v2":
            raise unauthorized(
                f"{VERSION_HEADER} must be v2 (v1 does not sign the URL): not accepted"
            )
        prefixes = [f"{secret}{request.method.upper()}{uri}".encode() for uri in _uris(request.url)]
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
            stage = ident(raw.get("propertyValue"), f"{name}.propertyValue") or ""
            event = _stage_event(stage, config)
            if event is None:
                ignored.append(_unknown_stage(ticket_id, stage))
                continue
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
        props = _props(data)
        ticket_id = ident(props.get("hs_object_id"), "hs_object_id") or required_ident(
            data.get("objectId"), "objectId"
        )
        stage = ident(props.get(STAGE), STAGE)
        # A workflow enrolled on "ticket is closed" may leave the stage out: that is a close.
        event = Event.CLOSED if stage is None else _stage_event(stage, config)
        if event is None:
            return WebhookResult(ignored=[_unknown_stage(ticket_id, stage or "")])
        subject = text(props.get("subject"), "subject")
        if event is Event.CLOSED and subject is None:
            raise bad("subject", "is required (add the ticket name to the webhook body)")
        case = make_case(
            source=self.source,
            external_id=ticket_id,
            subject=clip(subject, MAX_SUBJECT) or "",
            # The signed modification time before the arrival time: a retry or replay of an old
            # body then carries its own moment, and the store sees it for the stale event it is.
            closed_at=parse_time(props.get("closed_date"), "closed_date", now=request.received_at)
            or parse_time(props.get(MODIFIED), MODIFIED, now=request.received_at)
            or request.received_at,
            owner_email=email(props.get("owner_email"), "owner_email"),
            owner_external_id=ident(props.get("hubspot_owner_id"), "hubspot_owner_id"),
            customer_name=clip(text(props.get("customer_name"), "customer_name"), MAX_SHORT),
            customer_email=email(props.get("customer_email"), "customer_email"),
            company=clip(text(props.get("company"), "company"), MAX_SHORT),
            resolution=clip(text(props.get("hs_resolution"), "hs_resolution"), 4000),
            channel=lookup(CHANNELS, text(props.get("source_type"), "source_type"), Channel.OTHER),
            severity=priority_of(text(props.get("hs_ticket_priority"), "hs_ticket_priority")),
            kind=lookup(
                KINDS, text(props.get("hs_ticket_category"), "hs_ticket_category"), Kind.REQUEST
            ),
            event=event,
        )
        # v1/v2 carry no delivery id: the signature itself names this exact body, so a retry or
        # a replay of it is the duplicate delivery it is.
        legacy = request.header(LEGACY_HEADER)
        delivery = f"v2:{hashlib.sha256(legacy.encode()).hexdigest()[:32]}" if legacy else None
        return WebhookResult(cases=[case], delivery_id=delivery)


RECIPE = Recipe(
    source="hubspot",
    vendor="HubSpot",
    steps=(
        "In HubSpot, go to Automations > Workflows and create a ticket-based workflow.",
        "Set the enrollment trigger (below) and turn on re-enrollment for it, so a ticket that "
        "is reopened and closed again is sent again.",
        "Click + to add an action; under Data ops, choose Send a webhook.",
        "Method: POST. Webhook URL: {url}",
        "Authentication type: Include request signature in header, and enter your HubSpot "
        "app's App ID.",
        "Request body: Include all ticket properties (a customised body needs at least "
        "hs_object_id, subject, hs_pipeline_stage, hubspot_owner_id and hs_lastmodifieddate).",
        "Save, then review and turn on the workflow.",
    ),
    secret="the Client secret of the HubSpot app whose App ID you entered (the app's Auth "
    "page in your developer account); the workflow signs with it (signature v2)",
    conditions=(
        "Ticket: Pipeline stage is any of the closed stages (for the default pipeline: Closed)",
    ),
    notes=(
        "Set HUBSPOT_ACCEPT_V2=true: workflow webhooks are signed with v2, which carries no "
        "timestamp, so the bot also requires hs_lastmodifieddate to be under an hour old.",
        "A custom pipeline: list its closed stage ids in HUBSPOT_CLOSED_STAGES and its open ones "
        "in HUBSPOT_OPEN_STAGES (Settings > Objects > Tickets > Pipelines). A stage in neither "
        "is answered 200 ignored, with the reason, and logged.",
        "Reopens: a second workflow enrolled when the pipeline stage is none of the closed "
        "stages (re-enrollment on), with the same webhook action.",
        "Owners come as HubSpot user ids: `followup agents link hubspot <owner id> <email>`.",
        "No app? Use Authentication type: API key instead (key name X-Followup-Token, location "
        "Request header, value WEBHOOK_SECRET_HUBSPOT) and set WEBHOOK_TOKEN_SOURCES=hubspot: "
        "a token is weaker than a signature (anyone who sees one request can replay it).",
        "HubSpot retries a failed webhook for up to three days, but never after a 4XX answer.",
    ),
    extra=(
        ("HUBSPOT_ACCEPT_V2", "true, to accept the workflow's v2 signature"),
        ("HUBSPOT_CLOSED_STAGES", "closed stage ids, default 4"),
        ("HUBSPOT_OPEN_STAGES", "open stage ids, default 1,2,3"),
    ),
)


def sample_request(
    secret: str, url: str, now: datetime, case_id: str
) -> tuple[bytes, dict[str, str]]:
    """A workflow webhook for a closed ticket, with all properties, signed with v2."""
    millis = str(int(now.timestamp() * 1000))
    properties = {
        "hs_object_id": case_id,
        "subject": "Invoice shows the wrong VAT number",
        "hs_pipeline_stage": "4",
        "hubspot_owner_id": "52550153",
        "hs_ticket_priority": "HIGH",
        "hs_ticket_category": "BILLING_ISSUE",
        "source_type": "EMAIL",
        "closed_date": millis,
        MODIFIED: millis,
    }
    body = json.dumps(
        {
            "objectId": case_id,
            "objectType": "TICKET",
            "properties": {k: {"value": v} for k, v in properties.items()},
        }
    ).encode()
    signature = hashlib.sha256(f"{secret}POST{url}".encode() + body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        LEGACY_HEADER: signature,
        VERSION_HEADER: "v2",
    }
    return body, headers
