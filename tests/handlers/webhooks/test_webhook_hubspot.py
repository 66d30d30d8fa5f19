"""`hubspot`: Webhooks API batches, workflow webhooks and signature v3 (v1/v2 opt-in)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from webhook_payloads import SUBJECT, hubspot_event, hubspot_workflow
from webhook_testkit import NOW, PUBLIC, SECRET, accept, config, make_request, refuse, signed

from bot.cases import Channel, Event, Kind, Severity


def test_batch_close_becomes_an_id_only_case() -> None:
    result = accept(signed("hubspot", [hubspot_event()]))
    case = result.cases[0]
    assert case.external_id == "1246965"
    assert case.subject == "HubSpot ticket 1246965"
    assert case.owner_external_id == "userId:4817423"
    assert case.delivery_id == "1734215791"
    assert case.closed_at == datetime.fromtimestamp(1741089500, UTC)


def test_batch_mixes_closes_reopens_and_other_events() -> None:
    events = [
        hubspot_event(),
        hubspot_event("1", objectId=2, eventId=2),
        hubspot_event(propertyName="subject", eventId=3),
        {"subscriptionType": "contact.creation", "objectId": 9, "eventId": 4},
        hubspot_event(objectId=5, eventId=5, changeSource="AUTOMATION_PLATFORM", sourceId="flow:1"),
    ]
    result = accept(signed("hubspot", events))
    assert [(c.external_id, c.event) for c in result.cases] == [
        ("1246965", Event.CLOSED),
        ("2", Event.REOPENED),
        ("5", Event.CLOSED),
    ]
    assert len(result.ignored) == 2
    # Closed by a workflow: no person to own it, so it is kept for triage, never dropped.
    assert result.cases[2].owner_external_id is None


def test_closed_stages_are_configuration() -> None:
    result = accept(
        signed("hubspot", [hubspot_event("99")]), config(hubspot_closed_stages=frozenset({"99"}))
    )
    assert result.cases[0].event is Event.CLOSED


def test_generic_object_property_change_for_tickets() -> None:
    event = hubspot_event(subscriptionType="object.propertyChange", objectTypeId="0-5")
    assert accept(signed("hubspot", [event])).cases[0].event is Event.CLOSED


def test_batch_errors_name_the_event() -> None:
    assert refuse(signed("hubspot", [hubspot_event(), 7])).message.startswith("[1]: ")
    bad = hubspot_event()
    del bad["objectId"]
    assert refuse(signed("hubspot", [bad])).message.startswith("[0].objectId: ")
    assert refuse(signed("hubspot", "closed")).message.startswith("body: ")


def test_workflow_webhook_gives_a_real_subject() -> None:
    case = accept(signed("hubspot", hubspot_workflow())).cases[0]
    assert case.subject == SUBJECT
    assert case.owner_external_id == "52550153"
    assert (case.severity, case.kind, case.channel) == (Severity.HIGH, Kind.QUERY, Channel.EMAIL)


def test_flat_workflow_body_and_reopen() -> None:
    body = {"hs_object_id": "77", "subject": "Ünïcode", "hs_pipeline_stage": "2"}
    case = accept(signed("hubspot", body)).cases[0]
    assert (case.external_id, case.event) == ("77", Event.REOPENED)


@pytest.mark.parametrize("field", ["subject"])
def test_workflow_missing_fields_are_400(field: str) -> None:
    body = hubspot_workflow()
    del body["properties"][field]
    assert refuse(signed("hubspot", body)).message.startswith(f"{field}: ")


def test_workflow_without_owner_is_kept_for_triage() -> None:
    body = hubspot_workflow()
    del body["properties"]["hubspot_owner_id"]
    case = accept(signed("hubspot", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None


def _v3(body: bytes, url: str, millis: str, secret: str = SECRET) -> str:
    message = b"POST" + url.encode() + body + millis.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_v3_signs_method_url_body_and_timestamp() -> None:
    body = json.dumps([hubspot_event()]).encode()
    millis = str(int(NOW.timestamp() * 1000))
    url = f"{PUBLIC}/webhooks/hubspot"
    headers = {
        "X-HubSpot-Signature-v3": _v3(body, url, millis),
        "X-HubSpot-Request-Timestamp": millis,
    }
    assert accept(make_request("hubspot", body, headers)).cases
    headers["X-HubSpot-Signature-v3"] = _v3(body, url + "?x=1", millis)
    assert refuse(make_request("hubspot", body, headers)).status == 401


def test_v3_older_than_five_minutes_is_401() -> None:
    error = refuse(signed("hubspot", [hubspot_event()], at=NOW - timedelta(minutes=6)))
    assert error.status == 401 and "stale" in error.message


def test_v1_and_v2_only_when_enabled() -> None:
    body = json.dumps(hubspot_workflow()).encode()
    url = f"{PUBLIC}/webhooks/hubspot"
    v1 = hashlib.sha256(SECRET.encode() + body).hexdigest()
    v2 = hashlib.sha256(f"{SECRET}POST{url}".encode() + body).hexdigest()
    r1 = make_request(
        "hubspot", body, {"X-HubSpot-Signature": v1, "X-HubSpot-Signature-Version": "v1"}
    )
    r2 = make_request(
        "hubspot", body, {"X-HubSpot-Signature": v2, "X-HubSpot-Signature-Version": "v2"}
    )
    assert refuse(r1).status == refuse(r2).status == 401
    legacy = config(hubspot_accept_v1_v2=True)
    assert accept(r1, legacy).cases and accept(r2, legacy).cases
    swapped = make_request(
        "hubspot", body, {"X-HubSpot-Signature": v1, "X-HubSpot-Signature-Version": "v2"}
    )
    assert refuse(swapped, legacy).status == 401
