"""`intercom`: conversation.admin.closed in the API 1.x and 2.x shapes, X-Hub-Signature sha1.

Topics from Intercom's "Webhook models" reference: conversation.admin.closed,
conversation.admin.opened (an admin opens it), conversation.user.replied (a customer replies; a
reply to a closed conversation reopens it). In API 2.x the conversation names its assignee by
`admin_assignee_id` only; the close part's `author` is the admin, with `email`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from webhook_payloads import AGENT, CUSTOMER, SUBJECT, intercom_v1, intercom_v2
from webhook_testkit import NOW, PUBLIC, SECRET, accept, make_request, refuse, signed

from bot.cases import Channel, Event, Severity
from handlers.webhooks import intercom as intercom_adapter
from handlers.webhooks.base import WebhookRequest


def test_v1_close() -> None:
    result = accept(signed("intercom", intercom_v1()))
    case = result.cases[0]
    assert result.delivery_id == "notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b"
    assert case.external_id == "21322009097"
    assert case.owner_email == AGENT and case.owner_external_id == "1957471"
    assert case.subject == "Ma facture est erronée, 请帮忙"  # chats: the opening message
    assert case.customer_name == CUSTOMER
    assert case.resolution == "Refunded & closed"
    assert case.channel is Channel.CHAT
    assert case.tags == ("vip",)
    assert case.url and case.url.endswith("/21322009097")
    assert case.closed_at == datetime.fromtimestamp(1741089389, UTC)


def test_v2_close() -> None:
    case = accept(signed("intercom", intercom_v2())).cases[0]
    assert case.external_id == "147"
    assert case.subject == SUBJECT
    assert case.owner_external_id == "991267242"
    assert case.owner_email == AGENT  # v2 names the assignee by id; the close part, by email
    assert case.channel is Channel.EMAIL
    assert case.severity is Severity.HIGH
    assert case.customer_email == "lukasz@example.pl"


def test_v2_without_assignee_falls_back_to_the_closing_admin() -> None:
    body = intercom_v2()
    body["data"]["item"]["admin_assignee_id"] = None
    case = accept(signed("intercom", body)).cases[0]
    assert case.owner_email == AGENT and case.owner_external_id == "991267242"


def test_admin_opened_is_a_reopen() -> None:
    case = accept(signed("intercom", intercom_v1("conversation.admin.opened"))).cases[0]
    assert case.event is Event.REOPENED


def test_other_topics_are_ignored() -> None:
    for topic in ("conversation.admin.replied", "ping", "contact.created"):
        result = accept(signed("intercom", intercom_v1(topic)))
        assert result.cases == [] and topic in result.ignored[0]


def test_missing_topic_and_item_are_400() -> None:
    body = intercom_v1()
    del body["topic"]
    assert refuse(signed("intercom", body)).message.startswith("topic: ")
    body = intercom_v1()
    body["data"] = {}
    assert refuse(signed("intercom", body)).message.startswith("data.item: ")


def test_unassigned_close_without_author_is_kept_without_owner() -> None:
    body = intercom_v1()
    item = body["data"]["item"]
    item["assignee"] = {"type": "nobody_admin"}
    item["conversation_parts"]["conversation_parts"][0]["author"] = {"type": "bot"}
    case = accept(signed("intercom", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None


def test_signature_is_sha1_hex_of_the_body() -> None:
    request = signed("intercom", intercom_v1())
    digest = hmac.new(SECRET.encode(), request.body, hashlib.sha1).hexdigest()
    assert request.headers["x-hub-signature"] == f"sha1={digest}"
    upper = make_request("intercom", request.body, {"X-Hub-Signature": f"sha1={digest.upper()}"})
    assert accept(upper).cases
    wrong_algo = make_request("intercom", request.body, {"X-Hub-Signature": f"sha256={digest}"})
    assert refuse(wrong_algo).status == 401


def test_v2_owner_email_is_the_closing_admins() -> None:
    body = intercom_v2()
    author = body["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"]
    author.update(id="77", email="closer@example.com")  # closed by a teammate, not the assignee
    case = accept(signed("intercom", body)).cases[0]
    assert (case.owner_email, case.owner_external_id) == ("closer@example.com", "77")


def test_v2_close_by_a_bot_keeps_the_assignee_id() -> None:
    body = intercom_v2()
    part = body["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    part["author"] = {"type": "bot", "id": "8", "email": "operator+abc@intercom.io"}
    case = accept(signed("intercom", body)).cases[0]
    assert (case.owner_email, case.owner_external_id) == (None, "991267242")


def test_a_customer_reply_that_reopens_a_closed_conversation_is_a_reopen() -> None:
    body = intercom_v2("conversation.user.replied")
    body["data"]["item"].update(open=True, state="open")
    case = accept(signed("intercom", body)).cases[0]
    assert (case.event, case.external_id) == (Event.REOPENED, "147")
    assert case.resolution is None


def test_a_customer_reply_that_leaves_it_closed_is_ignored() -> None:
    body = intercom_v2("conversation.user.replied")
    body["data"]["item"].update(open=False, state="closed")
    result = accept(signed("intercom", body))
    assert result.cases == [] and "conversation.user.replied" in result.ignored[0]


def test_recipe_subscribes_to_the_reopen_topics() -> None:
    topics = " ".join(intercom_adapter.RECIPE.conditions)
    for topic in ("conversation.admin.closed", "conversation.admin.opened"):
        assert topic in topics
    assert "conversation.user.replied" in topics


def test_sample_request_is_accepted_as_one_close() -> None:
    url = f"{PUBLIC}/webhooks/intercom"
    body, headers = intercom_adapter.sample_request(SECRET, url, NOW, "followup-test-1")
    request = WebhookRequest("intercom", "POST", url, "/webhooks/intercom", {}, headers, body, NOW)
    result = accept(request)
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert result.cases[0].owner_email == "agent@example.com"
