"""`zendesk`: trigger bodies (our template), event webhooks and Zendesk's signature.

Trigger bodies are what Zendesk renders from ZENDESK_TRIGGER_BODY: placeholders replaced by the
ticket's values, empty where it has none ("Zendesk placeholders reference"); the resolution is
`{{ticket.latest_public_comment}}`. Conditions from "Ticket trigger conditions and actions
reference": *Status category | Changed to | Solved* fires once per solve."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from webhook_payloads import AGENT, CUSTOMER, SUBJECT, zendesk_event, zendesk_trigger
from webhook_testkit import NOW, PUBLIC, SECRET, accept, config, make_request, refuse, signed

from bot.cases import Channel, Event, Kind, Severity
from handlers.webhooks import ZENDESK_TRIGGER_BODY
from handlers.webhooks import zendesk as zendesk_adapter
from handlers.webhooks.base import WebhookRequest
from handlers.webhooks.zendesk import RECIPE, ZENDESK_REOPEN_BODY, render_trigger_body

# Zendesk's "Verifying webhook authenticity" guide: secret, body and timestamp of its example.
DOC_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
DOC_TIMESTAMP = "2021-07-25T10:00:00Z"


def test_trigger_body_maps_fields() -> None:
    result = accept(
        signed(
            "zendesk", zendesk_trigger(), extra={"X-Zendesk-Webhook-Invocation-Id": "8350205582"}
        )
    )
    case = result.cases[0]
    assert result.delivery_id == case.delivery_id == "8350205582"
    assert case.external_id == "35436"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT
    assert case.customer_name == CUSTOMER
    assert case.company == "Żółć Sp. z o.o." and case.team == "Billing"
    assert case.channel is Channel.WEB
    assert (case.severity, case.kind) == (Severity.URGENT, Kind.INCIDENT)
    assert case.tags == ("billing", "vip")
    assert case.url == "https://acme.zendesk.com/agent/tickets/35436"
    assert case.closed_at == datetime(2025, 3, 4, 11, 55, tzinfo=UTC)


def test_template_is_json_with_real_placeholders() -> None:
    template = json.loads(ZENDESK_TRIGGER_BODY)
    assert template["ticket_id"] == "{{ticket.id}}"
    assert template["subject"] == "{{ticket.title}}"
    assert template["assignee_email"] == "{{ticket.assignee.email}}"


def test_unrendered_placeholders_count_as_missing() -> None:
    body = json.loads(ZENDESK_TRIGGER_BODY)
    error = refuse(signed("zendesk", body))
    assert (error.status, error.message.split(":")[0]) == (400, "ticket_id")


def test_form_encoded_trigger_body_is_accepted() -> None:
    form = urlencode(zendesk_trigger()).encode()
    request = signed("zendesk", form, content_type="application/x-www-form-urlencoded")
    assert accept(request).cases[0].subject == SUBJECT


def test_reopen_trigger() -> None:
    case = accept(signed("zendesk", zendesk_trigger(event="reopened", assignee_email=""))).cases[0]
    assert case.event is Event.REOPENED


@pytest.mark.parametrize(("status", "event"), [("Solved", Event.CLOSED), ("Open", Event.REOPENED)])
def test_trigger_without_event_reads_english_status(status: str, event: Event) -> None:
    body = {k: v for k, v in zendesk_trigger(status=status).items() if k != "event"}
    assert accept(signed("zendesk", body)).cases[0].event is event


def test_trigger_with_unknown_status_is_ignored() -> None:
    body = {k: v for k, v in zendesk_trigger(status="Gelöst").items() if k != "event"}
    result = accept(signed("zendesk", body))
    assert result.cases == [] and "Gelöst" in result.ignored[0]


@pytest.mark.parametrize("field", ["ticket_id", "subject"])
def test_trigger_missing_fields_are_400(field: str) -> None:
    error = refuse(signed("zendesk", zendesk_trigger(**{field: ""})))
    assert error.status == 400 and error.message.startswith(f"{field}: ")


def test_trigger_without_assignee_is_kept_for_triage() -> None:
    case = accept(signed("zendesk", zendesk_trigger(assignee_email=""))).cases[0]
    assert case.owner_email is None and case.owner_external_id is None


def test_event_webhook_solved() -> None:
    result = accept(signed("zendesk", zendesk_event()))
    case = result.cases[0]
    assert result.delivery_id == "cbe4028c-7239-495d-b020-f22348516046"
    assert case.external_id == "5158"
    assert case.owner_external_id == "8447388090494"
    assert case.owner_email is None
    assert case.severity is Severity.HIGH and case.kind is Kind.QUERY
    assert case.closed_at == datetime(2025, 3, 4, 11, 59, 1, 371000, tzinfo=UTC)


def test_event_webhook_reopen() -> None:
    case = accept(signed("zendesk", zendesk_event(current="OPEN", previous="SOLVED"))).cases[0]
    assert case.event is Event.REOPENED


@pytest.mark.parametrize(("current", "previous"), [("PENDING", "OPEN"), ("CLOSED", "SOLVED")])
def test_event_webhook_other_transitions_are_ignored(current: str, previous: str) -> None:
    result = accept(signed("zendesk", zendesk_event(current=current, previous=previous)))
    assert result.cases == [] and result.ignored


def test_other_event_types_are_ignored() -> None:
    body = zendesk_event(type="zen:event-type:ticket.comment_added")
    result = accept(signed("zendesk", body))
    assert result.cases == [] and "comment_added" in result.ignored[0]


def test_event_without_detail_is_400() -> None:
    body = zendesk_event()
    del body["detail"]
    assert refuse(signed("zendesk", body)).message.startswith("detail: ")


def test_signature_recipe_with_the_documented_secret() -> None:
    # Received on the day of Zendesk's documented example, so the ticket was solved then too.
    body = json.dumps(zendesk_trigger(updated_at="2021-07-25T10:00Z")).encode()
    signature = base64.b64encode(
        hmac.new(DOC_SECRET.encode(), DOC_TIMESTAMP.encode() + body, hashlib.sha256).digest()
    ).decode()
    request = make_request(
        "zendesk",
        body,
        {
            "X-Zendesk-Webhook-Signature": signature,
            "X-Zendesk-Webhook-Signature-Timestamp": DOC_TIMESTAMP,
        },
        received_at=datetime(2021, 7, 25, 10, 1, tzinfo=UTC),
    )
    assert accept(request, config(secret=DOC_SECRET)).cases


def test_stale_signature_timestamp_is_401() -> None:
    error = refuse(signed("zendesk", zendesk_trigger(), at=NOW - timedelta(minutes=10)))
    assert error.status == 401 and "stale" in error.message


def test_missing_timestamp_is_401() -> None:
    request = signed(
        "zendesk", zendesk_trigger(), extra={"X-Zendesk-Webhook-Signature-Timestamp": ""}
    )
    assert refuse(request).status == 401


def test_long_subject_is_clipped_not_refused() -> None:
    case = accept(signed("zendesk", zendesk_trigger(subject="é" * 900))).cases[0]
    assert len(case.subject) == 500 and case.subject.endswith("…")


def rendered(**changes: str) -> dict[str, str]:
    """What the recipe's trigger posts for the ticket of `zendesk_trigger()`."""
    values = {k: v for k, v in zendesk_trigger().items() if k not in ("event",)}
    values.update(changes)
    return render_trigger_body(values)


def test_recipe_fires_once_per_solve() -> None:
    assert RECIPE.conditions == ("Ticket > Status category | Changed to | Solved",)
    assert RECIPE.body == ZENDESK_TRIGGER_BODY
    assert not any("| Is | Solved" in c for c in RECIPE.conditions)


def test_recipe_has_the_reopen_trigger() -> None:
    steps = " ".join(RECIPE.steps)
    assert "Changed from | Solved" in steps and '"event": "reopened"' in steps
    assert json.loads(ZENDESK_REOPEN_BODY)["event"] == "reopened"
    body = render_trigger_body(
        {"ticket_id": "35436", "status": "Open", "requester_email": "lukasz@example.pl"},
        event="reopened",
    )
    assert accept(signed("zendesk", body)).cases[0].event is Event.REOPENED


def test_the_resolution_is_the_latest_public_comment() -> None:
    assert json.loads(ZENDESK_TRIGGER_BODY)["resolution"] == "{{ticket.latest_public_comment}}"
    body = rendered(resolution="Refunded the duplicate charge", resolution_author_email=AGENT)
    assert accept(signed("zendesk", body)).cases[0].resolution == "Refunded the duplicate charge"


def test_a_latest_comment_by_the_customer_is_no_resolution() -> None:
    # Solved without a reply: the latest public comment is the customer's own message.
    body = rendered(resolution="Still broken!!", resolution_author_email="LUKASZ@example.pl")
    assert accept(signed("zendesk", body)).cases[0].resolution is None


def test_a_ticket_without_values_renders_empty_placeholders() -> None:
    body = render_trigger_body({"ticket_id": "1", "subject": "Hi", "status": "Solved"})
    assert body["resolution"] == "" and body["event"] == "closed"
    case = accept(signed("zendesk", body)).cases[0]
    assert (case.resolution, case.owner_email) == (None, None)


def test_sample_request_is_accepted_as_one_close() -> None:
    url = f"{PUBLIC}/webhooks/zendesk"
    body, headers = zendesk_adapter.sample_request(SECRET, url, NOW, "followup-test-1")
    request = WebhookRequest("zendesk", "POST", url, "/webhooks/zendesk", {}, headers, body, NOW)
    result = accept(request)
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert result.cases[0].resolution == "Corrected the VAT number and re-issued the invoice."
