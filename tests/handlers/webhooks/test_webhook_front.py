"""`front`: archive/reopen events; application (sha256 + timestamp) and rule (sha1) signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

from webhook_payloads import AGENT, SUBJECT, front
from webhook_testkit import NOW, SECRET, accept, make_request, refuse, signed

from bot.cases import Channel, Event


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
