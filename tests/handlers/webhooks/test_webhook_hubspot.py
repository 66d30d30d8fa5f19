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
from handlers.webhooks import WebhookRequest
from handlers.webhooks.hubspot import RECIPE, sample_request


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


def test_v2_only_when_enabled_and_never_v1() -> None:
    """v1 signs the body alone (HubSpot "Validating requests"), so a body the same app signed
    for another endpoint would pass: HUBSPOT_ACCEPT_V2 admits v2, which signs method and URL."""
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
    assert accept(r2, legacy).cases
    assert "must be v2" in refuse(r1, legacy).message
    unversioned = make_request("hubspot", body, {"X-HubSpot-Signature": v1})
    assert refuse(unversioned, legacy).status == 401
    swapped = make_request(
        "hubspot", body, {"X-HubSpot-Signature": v1, "X-HubSpot-Signature-Version": "v2"}
    )
    assert refuse(swapped, legacy).status == 401


# --- issue #20: custom pipelines, workflow v2 signatures, shared token ----------------------


def test_an_unconfigured_custom_closed_stage_is_ignored_with_a_reason() -> None:
    """A custom pipeline's closed stage (HubSpot gives custom stages numeric ids such as
    88123456) was read as a reopen of an unknown case, answered "duplicate": the close was lost
    silently. Now it is ignored with a reason naming the setting."""
    result = accept(signed("hubspot", [hubspot_event("88123456")]))
    assert result.cases == []
    assert "hs_pipeline_stage 88123456 is not a closed stage" in result.ignored[0]
    assert "HUBSPOT_CLOSED_STAGES" in result.ignored[0]


def test_custom_pipeline_stages_close_and_reopen_once_configured() -> None:
    cfg = config(
        hubspot_closed_stages=frozenset({"4", "88123456"}),
        hubspot_open_stages=frozenset({"1", "2", "3", "88123453"}),
    )
    closed = accept(signed("hubspot", [hubspot_event("88123456")]), cfg).cases
    reopened = accept(signed("hubspot", [hubspot_event("88123453")]), cfg).cases
    assert [c.event for c in closed + reopened] == [Event.CLOSED, Event.REOPENED]


def test_a_workflow_body_in_an_unknown_stage_is_ignored() -> None:
    result = accept(signed("hubspot", hubspot_workflow(hs_pipeline_stage="88123456")))
    assert result.cases == [] and "HUBSPOT_CLOSED_STAGES" in result.ignored[0]


def _v2_request(body: dict[str, object], secret: str = SECRET) -> WebhookRequest:
    """Signed as "Validating requests" documents v2 for workflow webhook actions: hex
    SHA-256 of client secret + method + URI + body, `X-HubSpot-Signature-Version: v2`."""
    raw = json.dumps(body).encode()
    url = f"{PUBLIC}/webhooks/hubspot"
    signature = hashlib.sha256(f"{secret}POST{url}".encode() + raw).hexdigest()
    headers = {"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": "v2"}
    return make_request("hubspot", raw, headers)


def test_a_v2_workflow_webhook_needs_a_fresh_signed_time_in_its_body() -> None:
    v2 = config(hubspot_accept_v1_v2=True)
    fresh = hubspot_workflow()  # hs_lastmodifieddate 1 min 40 s before NOW
    assert accept(_v2_request(fresh), v2).cases[0].event is Event.CLOSED
    stale = hubspot_workflow(hs_lastmodifieddate=str(int(NOW.timestamp() - 3 * 3600) * 1000))
    error = refuse(_v2_request(stale), v2)
    assert error.status == 401 and "replay" in error.message
    missing = hubspot_workflow()
    del missing["properties"]["hs_lastmodifieddate"]
    error = refuse(_v2_request(missing), v2)
    assert error.status == 401 and "hs_lastmodifieddate" in error.message


def test_v2_refused_without_the_setting_names_it() -> None:
    assert "HUBSPOT_ACCEPT_V2" in refuse(_v2_request(hubspot_workflow())).message


def test_a_workflow_api_key_is_the_shared_token_when_allowed() -> None:
    """The workflow's Authentication type "API key", location Request header."""
    request = make_request("hubspot", hubspot_workflow(), {"X-Followup-Token": SECRET})
    assert refuse(request).status == 401
    assert accept(request, config(token_place="header")).cases[0].event is Event.CLOSED
    wrong = make_request("hubspot", hubspot_workflow(), {"X-Followup-Token": "guess"})
    assert refuse(wrong, config(token_place="header")).message == "X-Followup-Token is wrong"


def test_the_sample_request_is_accepted_as_one_closed_case() -> None:
    url = f"{PUBLIC}/webhooks/hubspot"
    body, headers = sample_request(SECRET, url, NOW, "followup-test-1")
    result = accept(make_request("hubspot", body, headers), config(hubspot_accept_v1_v2=True))
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert RECIPE.source == "hubspot" and "HUBSPOT_ACCEPT_V2" in RECIPE.text(PUBLIC)


def test_a_v2_body_is_one_delivery_and_is_timed_by_its_signed_modification() -> None:
    """A v2 workflow body has no delivery id and often no closed_date: its signature names the
    body (so a retry or replay is a duplicate delivery), and its signed hs_lastmodifieddate,
    not the arrival, is when it happened (so a late reopen cannot pass for a new one)."""
    modified = NOW - timedelta(minutes=40)
    props = hubspot_workflow()["properties"]
    props.pop("closed_date", None)
    props["hs_lastmodifieddate"] = {"value": str(int(modified.timestamp() * 1000))}
    body = json.dumps({"objectId": 512, "properties": props}).encode()
    v2 = hashlib.sha256(f"{SECRET}POST{PUBLIC}/webhooks/hubspot".encode() + body).hexdigest()
    headers = {"X-HubSpot-Signature": v2, "X-HubSpot-Signature-Version": "v2"}
    result = accept(make_request("hubspot", body, headers), config(hubspot_accept_v1_v2=True))
    assert result.cases[0].closed_at == modified
    assert result.delivery_id == "v2:" + hashlib.sha256(v2.encode()).hexdigest()[:32]
