"""`chatwoot`: conversation_status_changed to resolved; signature or URL token."""

from __future__ import annotations

from datetime import timedelta

from webhook_payloads import AGENT, CUSTOMER, chatwoot
from webhook_testkit import NOW, SECRET, accept, make_request, refuse, signed

from bot.cases import Channel, Event, Severity


def test_resolved_conversation() -> None:
    result = accept(signed("chatwoot", chatwoot(), extra={"X-Chatwoot-Delivery": "d-1"}))
    case = result.cases[0]
    assert result.delivery_id == "d-1"
    assert case.external_id == "10"
    assert case.subject == "Ma facture est erronée 请帮忙"
    assert case.owner_email == AGENT and case.owner_external_id == "1"
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


def test_older_versions_use_the_url_token() -> None:
    request = make_request("chatwoot", chatwoot(), query={"token": SECRET})
    assert accept(request).cases
    assert refuse(make_request("chatwoot", chatwoot(), query={"token": "nope"})).status == 401


def test_stale_signature_is_401() -> None:
    error = refuse(signed("chatwoot", chatwoot(), at=NOW + timedelta(minutes=7)))
    assert error.status == 401 and "stale" in error.message


def test_missing_fields_are_400() -> None:
    body = chatwoot()
    body["meta"]["assignee"] = None  # unassigned: accepted without an owner (triage)
    case = accept(signed("chatwoot", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id is None
    body = chatwoot()
    body["messages"] = []
    assert refuse(signed("chatwoot", body)).message.startswith("messages: ")
    body = chatwoot()
    del body["event"]
    assert refuse(signed("chatwoot", body)).message.startswith("event: ")
