"""`zammad`: trigger webhook with ticket and article; X-Hub-Signature sha1."""

from __future__ import annotations

from datetime import UTC, datetime

from webhook_payloads import AGENT, CUSTOMER, SUBJECT, zammad
from webhook_testkit import accept, refuse, signed

from bot.cases import Channel, Event, Severity


def test_closed_ticket() -> None:
    result = accept(signed("zammad", zammad(), extra={"X-Zammad-Delivery": "abc-123"}))
    case = result.cases[0]
    assert result.delivery_id == "abc-123"
    assert case.external_id == "81"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT
    assert case.customer_name == CUSTOMER
    assert case.company == "Żółć Sp. z o.o." and case.team == "Service Desk"
    assert case.resolution == "Remboursé, merci !"
    assert (case.channel, case.severity) == (Channel.EMAIL, Severity.HIGH)
    assert case.closed_at == datetime(2025, 3, 4, 11, 58, tzinfo=UTC)


def test_open_again_is_a_reopen_other_states_ignored() -> None:
    assert accept(signed("zammad", zammad("open"))).cases[0].event is Event.REOPENED
    result = accept(signed("zammad", zammad("pending reminder")))
    assert result.cases == [] and "pending reminder" in result.ignored[0]


def test_state_as_object_and_nobody_owner() -> None:
    body = zammad()
    body["ticket"]["state"] = {"id": 4, "name": "closed"}
    body["ticket"]["owner"] = {"id": 1, "login": "-", "firstname": "-"}
    case = accept(signed("zammad", body)).cases[0]
    assert case.owner_email == AGENT  # the agent who closed it (updated_by)


def test_missing_fields_are_400() -> None:
    assert refuse(signed("zammad", {"article": {}})).message.startswith("ticket: ")
    body = zammad()
    body["ticket"]["title"] = ""
    assert refuse(signed("zammad", body)).message.startswith("ticket.title: ")
    body = zammad()
    body["ticket"]["owner"] = body["ticket"]["updated_by"] = {"id": 1, "login": "-"}
    case = accept(signed("zammad", body)).cases[0]  # "nobody" owns it: kept for triage
    assert case.owner_email is None and case.owner_external_id is None


def test_internal_note_is_not_the_resolution() -> None:
    body = zammad()
    body["article"]["internal"] = True
    assert accept(signed("zammad", body)).cases[0].resolution is None
