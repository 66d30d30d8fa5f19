"""`freshdesk`: the automation rule's JSON body and the shared-token header."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from webhook_payloads import AGENT, SUBJECT, freshdesk, freshdesk_simple
from webhook_testkit import NOW, PUBLIC, SECRET, accept, config, make_request, refuse, signed

from bot.cases import Channel, Event, Kind, Severity
from handlers.webhooks import FRESHDESK_RULE_BODY
from handlers.webhooks.freshdesk import RECIPE, sample_request


def test_resolved_ticket() -> None:
    case = accept(signed("freshdesk", freshdesk())).cases[0]
    assert case.external_id == "1234"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT
    assert case.closed_at == NOW  # no resolution-time placeholder: arrival time
    assert (case.channel, case.severity, case.kind) == (Channel.EMAIL, Severity.HIGH, Kind.INCIDENT)
    assert case.tags == ("billing", "vip")
    assert case.url == "https://acme.freshdesk.com/helpdesk/tickets/1234"


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("Resolved", Event.CLOSED),
        ("Closed", Event.CLOSED),
        ("4", Event.CLOSED),
        (5, Event.CLOSED),
        ("Open", Event.REOPENED),
        ("2", Event.REOPENED),
    ],
)
def test_status_names_and_numbers(status: object, event: Event) -> None:
    assert accept(signed("freshdesk", freshdesk(status=status))).cases[0].event is event


def test_numeric_source_and_priority() -> None:
    case = accept(signed("freshdesk", freshdesk(source=7, priority=4))).cases[0]
    assert (case.channel, case.severity) == (Channel.CHAT, Severity.URGENT)


def test_custom_status_is_ignored() -> None:
    result = accept(signed("freshdesk", freshdesk(status="Waiting on Customer")))
    assert result.cases == [] and "Waiting on Customer" in result.ignored[0]


@pytest.mark.parametrize("field", ["status", "ticket_id", "subject"])
def test_missing_fields_are_400(field: str) -> None:
    error = refuse(signed("freshdesk", freshdesk(**{field: ""})))
    assert error.status == 400 and error.message.startswith(f"{field}: ")


def test_rule_without_agent_is_kept_for_triage() -> None:
    case = accept(signed("freshdesk", freshdesk(agent_email=""))).cases[0]
    assert case.owner_email is None


def test_form_encoded_body() -> None:
    form = urlencode(freshdesk()).encode()
    request = signed("freshdesk", form, content_type="application/x-www-form-urlencoded")
    assert accept(request).cases[0].subject == SUBJECT


def test_rule_body_uses_freshdesk_placeholders() -> None:
    body = json.loads(FRESHDESK_RULE_BODY)
    assert body["agent_email"] == "{{ticket.agent.email}}"
    assert body["status"] == "{{ticket.status}}"


def test_token_header_wrong_or_missing_is_401() -> None:
    assert refuse(signed("freshdesk", freshdesk(), secret="guess")).message == (
        "X-Followup-Token is wrong"
    )
    assert refuse(make_request("freshdesk", freshdesk())).message == (
        "missing X-Followup-Token header"
    )


def test_token_header_name_is_configurable() -> None:
    request = make_request("freshdesk", freshdesk(), {"Authorization-Token": "tok"})
    assert accept(request, config(secret="tok", freshdesk_token_header="Authorization-Token"))


# --- issue #20: Simple content, token place, sample -----------------------------------------


def test_simple_content_is_accepted() -> None:
    """Trigger webhook with Content *Simple* posts `{"freshdesk_webhook": {"ticket_id", ...}}`
    (fields as in OpsGenie's Freshdesk sample payload and zulip/zulip's Freshdesk fixtures);
    it was refused 400 `status: is required`."""
    case = accept(signed("freshdesk", freshdesk_simple())).cases[0]
    assert (case.external_id, case.subject, case.owner_email) == ("1234", SUBJECT, AGENT)
    assert case.event is Event.CLOSED
    assert case.tags == ("billing", "vip")
    assert (case.company, case.team) == ("Żółć Sp. z o.o.", "Billing")
    assert (case.channel, case.severity, case.kind) == (Channel.EMAIL, Severity.HIGH, Kind.INCIDENT)


def test_simple_content_without_status_names_the_field_to_tick() -> None:
    body = freshdesk_simple()
    del body["freshdesk_webhook"]["ticket_status"]
    error = refuse(signed("freshdesk", body))
    assert error.status == 400 and error.message.startswith("ticket_status: ")


def test_simple_content_reopen() -> None:
    case = accept(signed("freshdesk", freshdesk_simple(ticket_status="Open"))).cases[0]
    assert case.event is Event.REOPENED


def test_token_in_the_url_when_the_source_is_set_to_query() -> None:
    request = make_request("freshdesk", freshdesk(), query={"token": "tok-in-the-url"})
    assert refuse(request, config(secret="tok-in-the-url")).status == 401
    assert accept(request, config(secret="tok-in-the-url", token_place="query")).cases
    wrong = make_request("freshdesk", freshdesk(), query={"token": "guess"})
    error = refuse(wrong, config(secret="tok-in-the-url", token_place="query"))
    assert error.message == "the token in the URL is wrong"


def test_the_sample_request_is_accepted_as_one_closed_case() -> None:
    body, headers = sample_request(SECRET, f"{PUBLIC}/webhooks/freshdesk", NOW, "followup-test-1")
    result = accept(make_request("freshdesk", body, headers))
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert RECIPE.body == FRESHDESK_RULE_BODY
