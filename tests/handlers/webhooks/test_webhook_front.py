"""`front`: archive/reopen events; application (sha256 + timestamp) and rule (sha1) signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

from webhook_payloads import AGENT, SUBJECT, front
from webhook_testkit import NOW, PUBLIC, SECRET, accept, make_request, refuse, signed

from bot.cases import Channel, Event
from handlers.webhooks import front as front_adapter
from handlers.webhooks.base import WebhookRequest


def preview(kind: str = "archive") -> dict[str, object]:
    """An event preview: Front's help center ("How to enable and use the Webhooks integration")
    says only "Send Full Event Data" exposes the subject, status, assignee, recipient and tags;
    the preview keeps the event's ids and links (its exact fields beyond those: unconfirmed)."""
    full = front(kind)
    conversation = full["conversation"]
    return {
        **{k: full[k] for k in ("_links", "id", "type", "emitted_at", "target")},
        "conversation": {"_links": conversation["_links"], "id": conversation["id"]},
        "source": {"_meta": {"type": "teammate"}, "data": {"id": "tea_40yq"}},
    }


def rule_signed(body: object) -> WebhookRequest:
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha1).digest()).decode()
    return make_request("front", raw, {"X-Front-Signature": signature})


def test_archive_is_a_close() -> None:
    result = accept(signed("front", front()))
    case = result.cases[0]
    assert result.delivery_id == "evt_28du7y2"
    assert case.external_id == "cnv_keo696"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT and case.owner_external_id == "tea_40yq"
    assert case.customer_email == "lukasz@example.pl"
    assert case.channel is Channel.EMAIL
    assert case.tags == ("billing",)


def test_reopen_and_others() -> None:
    assert accept(signed("front", front("reopen"))).cases[0].event is Event.REOPENED
    result = accept(signed("front", front("assign")))
    assert result.cases == [] and "assign" in result.ignored[0]


def test_application_webhook_wrapped_in_payload() -> None:
    body = {"type": "conversation_archived", "authorization": {"id": "cmp_1"}, "payload": front()}
    assert accept(signed("front", body)).cases[0].event is Event.CLOSED


def test_sync_handshake_returns_the_challenge() -> None:
    body = {"type": "sync", "authorization": {"id": "cmp_abc"}}
    result = accept(signed("front", body, extra={"X-Front-Challenge": "r4nd0m"}))
    assert result.cases == [] and result.challenge == "r4nd0m"


def test_unassigned_archive_by_rule_is_kept_without_owner() -> None:
    body = front()
    body["conversation"]["assignee"] = None
    body["source"] = {"_meta": {"type": "rule"}, "data": {"id": "rul_1"}}
    case = accept(signed("front", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None
    body = front()
    del body["conversation"]
    assert refuse(signed("front", body)).message.startswith("conversation: ")


def test_rule_webhook_signature_is_base64_sha1_of_the_body() -> None:
    body = json.dumps(front()).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha1).digest()).decode()
    assert accept(make_request("front", body, {"X-Front-Signature": signature})).cases


def test_application_signature_timestamp_window() -> None:
    error = refuse(signed("front", front(), at=NOW - timedelta(minutes=6)))
    assert error.status == 401 and "stale" in error.message
    request = signed("front", front())
    wrong = {**dict(request.headers), "X-Front-Request-Timestamp": "1"}
    assert refuse(make_request("front", request.body, wrong)).status == 401


def test_a_previewed_close_is_400_naming_the_setting_to_turn_on() -> None:
    error = refuse(rule_signed(preview()))
    assert error.status == 400
    assert "Send Full Event Data" in error.message and error.message.startswith("conversation: ")


def test_a_previewed_reopen_is_read_from_the_conversation_id() -> None:
    case = accept(rule_signed(preview("reopen"))).cases[0]
    assert (case.event, case.external_id) == (Event.REOPENED, "cnv_keo696")


def test_recipe_names_the_secret_of_each_kind_of_webhook() -> None:
    recipe = front_adapter.RECIPE
    assert "API secret" in recipe.secret and "signing key" in recipe.secret
    assert any("Send Full Event Data" in step for step in recipe.steps)
    assert any("retry" in note for note in recipe.notes)


def test_sample_request_is_accepted_as_one_close() -> None:
    url = f"{PUBLIC}/webhooks/front"
    body, headers = front_adapter.sample_request(SECRET, url, NOW, "followup-test-1")
    request = WebhookRequest("front", "POST", url, "/webhooks/front", {}, headers, body, NOW)
    result = accept(request)
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert result.cases[0].owner_email == "agent@example.com"
