"""`helpscout`: convo.status to closed; X-HelpScout-Signature base64 HMAC-SHA1."""

from __future__ import annotations

import base64
import hashlib
import hmac

from webhook_payloads import AGENT, CUSTOMER, SUBJECT, helpscout
from webhook_testkit import NOW, PUBLIC, SECRET, accept, make_request, refuse, signed

from bot.cases import Channel, Event
from handlers.webhooks.helpscout import RECIPE, sample_request

STATUS = {"X-HelpScout-Event": "convo.status"}


def test_closed_conversation() -> None:
    case = accept(signed("helpscout", helpscout(), extra=STATUS)).cases[0]
    assert case.external_id == "2391938111"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT and case.owner_external_id == "256809"
    assert case.customer_name == CUSTOMER
    assert case.channel is Channel.EMAIL
    assert case.tags == ("billing",)
    assert case.url == "https://secure.helpscout.net/conversation/2391938111/349/"


def test_legacy_shape_with_owner_and_string_tags() -> None:
    body = helpscout()
    body["owner"] = {"id": 9, "firstName": "Zoë", "lastName": "A", "email": AGENT}
    del body["assignee"]
    body["customer"] = body.pop("primaryCustomer")
    body["tags"] = ["billing", "vip"]
    case = accept(signed("helpscout", body, extra=STATUS)).cases[0]
    assert case.owner_email == AGENT and case.tags == ("billing", "vip")


def test_active_again_is_a_reopen_and_spam_is_ignored() -> None:
    assert accept(signed("helpscout", helpscout("active"), extra=STATUS)).cases[0].event is (
        Event.REOPENED
    )
    assert accept(signed("helpscout", helpscout("spam"), extra=STATUS)).cases == []


def test_other_events_are_ignored() -> None:
    result = accept(signed("helpscout", helpscout(), extra={"X-HelpScout-Event": "convo.created"}))
    assert result.cases == [] and "convo.created" in result.ignored[0]


def test_missing_event_header_and_fields_are_400() -> None:
    assert refuse(signed("helpscout", helpscout())).message.startswith("X-HelpScout-Event: ")
    body = helpscout()
    del body["assignee"]  # unassigned: accepted without an owner (triage)
    case = accept(signed("helpscout", body, extra=STATUS)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None


def test_signature_is_base64_sha1_of_the_body() -> None:
    body = b'{"id": 1, "status": "closed", "subject": "x", "assignee": {"id": 2}}'
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha1).digest()).decode()
    ok = make_request("helpscout", body, {**STATUS, "X-HelpScout-Signature": signature})
    assert accept(ok).cases
    bad = make_request("helpscout", body, {**STATUS, "X-HelpScout-Signature": signature[:-2]})
    assert refuse(bad).status == 401


def test_the_sample_request_is_accepted_as_one_closed_case() -> None:
    """`followup webhooks test helpscout` posts this: convo.status, signed with HMAC-SHA1."""
    body, headers = sample_request(SECRET, f"{PUBLIC}/webhooks/helpscout", NOW, "followup-test-1")
    result = accept(make_request("helpscout", body, headers))
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert RECIPE.source == "helpscout"
