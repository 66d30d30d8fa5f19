"""`zammad`: trigger webhook with ticket and article; X-Hub-Signature sha1.

Re-close timing: Zammad sets `close_at` once, at the first close (zammad/zammad issue #1937:
"the close time in Zammad is always the first time where the ticket got closed"); newer
versions carry `last_close_at` (app/graphql/gql/types/ticket_type.rb)."""

from __future__ import annotations

from datetime import UTC, datetime

from webhook_payloads import AGENT, CUSTOMER, SUBJECT, zammad
from webhook_testkit import NOW, PUBLIC, SECRET, accept, refuse, signed

from bot.cases import Channel, Event, Severity
from handlers.webhooks import zammad as zammad_adapter
from handlers.webhooks.base import WebhookRequest

FIRST_CLOSE = "2025-03-02T09:00:00.000Z"


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


def test_a_reclose_is_timed_from_last_close_at() -> None:
    body = zammad()
    body["ticket"]["close_at"] = FIRST_CLOSE  # the first cycle's close, never moved
    body["ticket"]["last_close_at"] = "2025-03-04T11:58:00.000Z"
    case = accept(signed("zammad", body)).cases[0]
    assert case.closed_at == datetime(2025, 3, 4, 11, 58, tzinfo=UTC)


def test_a_reclose_without_last_close_at_is_timed_from_the_closing_update() -> None:
    body = zammad()
    body["ticket"]["close_at"] = FIRST_CLOSE  # an older Zammad: only the first close time
    case = accept(signed("zammad", body)).cases[0]
    assert case.closed_at == datetime(2025, 3, 4, 11, 58, 1, 333000, tzinfo=UTC)


def test_a_reopen_is_timed_from_its_update_not_the_old_close() -> None:
    body = zammad("open")
    body["ticket"]["close_at"] = FIRST_CLOSE
    case = accept(signed("zammad", body)).cases[0]
    assert case.closed_at == datetime(2025, 3, 4, 11, 58, 1, 333000, tzinfo=UTC)


def test_recipe_fires_on_the_state_change() -> None:
    recipe = zammad_adapter.RECIPE
    assert "Ticket > State | has changed" in recipe.conditions
    assert any("is | open" in step for step in recipe.steps), "the reopen trigger"


def test_sample_request_is_accepted_as_one_close() -> None:
    url = f"{PUBLIC}/webhooks/zammad"
    body, headers = zammad_adapter.sample_request(SECRET, url, NOW, "followup-test-1")
    request = WebhookRequest("zammad", "POST", url, "/webhooks/zammad", {}, headers, body, NOW)
    result = accept(request)
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert result.cases[0].closed_at == NOW and result.cases[0].owner_email == "agent@example.com"
