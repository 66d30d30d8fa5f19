"""`chatwoot`: conversation_status_changed to resolved; signature or URL token.

Payloads are Chatwoot's `Conversations::EventDataPresenter#webhook_data` (chatwoot/chatwoot,
app/presenters/conversations/event_data_presenter.rb): `messages` holds the last chat message
only, and `meta.assignee` is `User#push_event_data` (id, name, available_name, avatar_url, type,
availability_status, thumbnail), without an email."""

from __future__ import annotations

from datetime import timedelta

from webhook_payloads import CHATWOOT_LAST_REPLY, CUSTOMER, chatwoot
from webhook_testkit import NOW, PUBLIC, SECRET, accept, config, make_request, refuse, signed

from bot.cases import Channel, Event, Severity
from handlers.webhooks import chatwoot as chatwoot_adapter
from handlers.webhooks.base import WebhookRequest


def test_resolved_conversation() -> None:
    result = accept(signed("chatwoot", chatwoot(), extra={"X-Chatwoot-Delivery": "d-1"}))
    case = result.cases[0]
    assert result.delivery_id == "d-1"
    assert case.external_id == "10"
    assert case.owner_email is None and case.owner_external_id == "1"  # linked by id
    assert case.customer_name == CUSTOMER
    assert (case.channel, case.severity) == (Channel.CHAT, Severity.URGENT)
    assert case.tags == ("billing",)


def test_email_inbox_subject() -> None:
    body = chatwoot()
    body["channel"] = "Channel::Email"
    body["additional_attributes"]["mail_subject"] = "Re: facture"
    case = accept(signed("chatwoot", body)).cases[0]
    assert (case.subject, case.channel) == ("Re: facture", Channel.EMAIL)


def test_legacy_events_and_reopen() -> None:
    assert accept(signed("chatwoot", chatwoot("conversation_resolved", "resolved"))).cases
    reopened = accept(signed("chatwoot", chatwoot(status="open"))).cases[0]
    assert reopened.event is Event.REOPENED
    assert accept(signed("chatwoot", chatwoot(status="snoozed"))).cases == []
    assert accept(signed("chatwoot", chatwoot("message_created"))).ignored


def test_older_versions_use_the_url_token_only_when_allowed() -> None:
    """A token is weaker than a signature: a Chatwoot that signs must not fall back to one
    unless the admin listed it in WEBHOOK_TOKEN_SOURCES (issue #20's per-source option)."""
    request = make_request("chatwoot", chatwoot(), query={"token": SECRET})
    refused = refuse(request)
    assert refused.status == 401 and "WEBHOOK_TOKEN_SOURCES=chatwoot:query" in refused.message
    allowed = config(token_place="query")
    assert accept(request, allowed).cases
    wrong = make_request("chatwoot", chatwoot(), query={"token": "nope"})
    assert refuse(wrong, allowed).status == 401


def test_stale_signature_is_401() -> None:
    error = refuse(signed("chatwoot", chatwoot(), at=NOW + timedelta(minutes=7)))
    assert error.status == 401 and "stale" in error.message


def test_missing_fields_are_400() -> None:
    body = chatwoot()
    body["meta"]["assignee"] = None  # unassigned: accepted without an owner (triage)
    case = accept(signed("chatwoot", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None
    body = chatwoot()
    del body["event"]
    assert refuse(signed("chatwoot", body)).message.startswith("event: ")


def test_the_agents_last_reply_is_the_resolution_not_the_subject() -> None:
    # A web-widget chat: no mail_subject, and `messages` is the agent's closing reply.
    case = accept(signed("chatwoot", chatwoot())).cases[0]
    assert case.subject == "Chatwoot conversation #10"
    assert case.resolution == CHATWOOT_LAST_REPLY


def test_subject_from_the_conversation_custom_attribute() -> None:
    body = chatwoot()
    body["custom_attributes"] = {"subject": "Exchange of a faulty kettle"}
    assert accept(signed("chatwoot", body)).cases[0].subject == "Exchange of a faulty kettle"


def test_a_resolve_without_any_message_is_kept_with_a_plain_subject() -> None:
    body = chatwoot()
    body["messages"] = []
    case = accept(signed("chatwoot", body)).cases[0]
    assert (case.subject, case.resolution) == ("Chatwoot conversation #10", None)


def test_a_customer_message_or_private_note_is_no_resolution() -> None:
    body = chatwoot()
    body["messages"][0]["message_type"] = 0  # incoming: the customer wrote last
    assert accept(signed("chatwoot", body)).cases[0].resolution is None
    body = chatwoot()
    body["messages"][0]["private"] = True
    assert accept(signed("chatwoot", body)).cases[0].resolution is None


def test_the_token_can_come_from_a_header_when_configured() -> None:
    request = make_request("chatwoot", chatwoot(), {"X-Followup-Token": SECRET})
    assert accept(request, config(token_place="header")).cases
    assert refuse(request).status == 401  # by default the token is read from the URL


def test_recipe_says_to_link_agents_by_id() -> None:
    recipe = chatwoot_adapter.RECIPE
    assert any("followup agents link chatwoot <agent id> <email>" in n for n in recipe.notes)
    assert "subject" in " ".join(recipe.notes)


def test_sample_request_is_accepted_as_one_close() -> None:
    url = f"{PUBLIC}/webhooks/chatwoot"
    body, headers = chatwoot_adapter.sample_request(SECRET, url, NOW, "followup-test-1")
    request = WebhookRequest("chatwoot", "POST", url, "/webhooks/chatwoot", {}, headers, body, NOW)
    result = accept(request)
    assert [c.event for c in result.cases] == [Event.CLOSED]
    case = result.cases[0]
    assert case.subject == "Invoice shows the wrong VAT number" and case.owner_external_id == "3"
