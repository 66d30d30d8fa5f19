"""`jira`: jira:issue_updated into/out of the done category; X-Hub-Signature sha256."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from webhook_payloads import AGENT, CUSTOMER, SUBJECT, jira, jira_automation
from webhook_testkit import NOW, PUBLIC, SECRET, accept, config, make_request, refuse, signed

from bot.cases import Channel, Event, Kind, Severity
from handlers.webhooks import WebhookRequest
from handlers.webhooks.jira import RECIPE, sample_request


def test_done_is_a_close() -> None:
    request = signed("jira", jira(), extra={"X-Atlassian-Webhook-Identifier": "wh-123"})
    result = accept(request)
    case = result.cases[0]
    assert result.delivery_id == case.delivery_id == "wh-123"
    assert case.external_id == "10002"
    assert case.subject == SUBJECT
    assert case.owner_email == AGENT and case.owner_external_id == "5b10ac8d82e05b22cc7d4ef5"
    assert case.customer_name == CUSTOMER
    assert case.resolution == "Resolved"
    assert case.url == "https://acme.atlassian.net/browse/SUP-17"
    assert (case.channel, case.severity, case.kind) == (Channel.WEB, Severity.URGENT, Kind.INCIDENT)
    assert case.tags == ("billing", "vip")
    assert case.closed_at == datetime(2025, 3, 4, 10, 58, 20, tzinfo=UTC)


def test_out_of_done_is_a_reopen() -> None:
    case = accept(signed("jira", jira("indeterminate"))).cases[0]
    assert case.event is Event.REOPENED


def test_hidden_email_leaves_the_account_id() -> None:
    body = jira()
    del body["issue"]["fields"]["assignee"]["emailAddress"]
    case = accept(signed("jira", body)).cases[0]
    assert case.owner_email is None and case.owner_external_id == "5b10ac8d82e05b22cc7d4ef5"


def test_unassigned_issue_falls_back_to_the_acting_user() -> None:
    body = jira()
    body["issue"]["fields"]["assignee"] = None
    assert accept(signed("jira", body)).cases[0].owner_email == AGENT


def test_other_events_and_changes_are_ignored() -> None:
    assert accept(signed("jira", jira(event="comment_created"))).ignored
    body = jira()
    body["changelog"]["items"][0].update(field="priority", fieldId="priority")
    assert accept(signed("jira", body)).cases == []


def test_missing_fields_are_400() -> None:
    # Without webhookEvent, only Automation's issue data is accepted (test_webhook_jira_automation).
    body = {"timestamp": 1741089500123, "user": {"accountId": "5b10"}}
    assert refuse(signed("jira", body)).message.startswith("webhookEvent: ")
    body = jira()
    del body["issue"]["fields"]["status"]
    assert refuse(signed("jira", body)).message.startswith("issue.fields.status.statusCategory")
    body = jira()
    body["issue"]["fields"]["summary"] = ""
    assert refuse(signed("jira", body)).message.startswith("issue.fields.summary: ")


def test_sha1_signature_is_refused() -> None:
    request = signed("intercom", jira())  # same header name, sha1 scheme
    as_jira = WebhookRequest(**{**request.__dict__, "source": "jira"})
    assert refuse(as_jira).status == 401


# --- issue #20: Automation's "Send web request" with the shared token -----------------------


@pytest.mark.parametrize("jira_format", [True, False])
def test_automation_send_web_request_with_a_token_header(jira_format: bool) -> None:
    """Project admins' Automation rule: "Send web request", body "Issue data (Jira format)" or
    "(Automation format)" (Atlassian's example pages), a header instead of a signature. It was
    refused 401 (missing X-Hub-Signature) and has no webhookEvent."""
    body = jira_automation(jira_format=jira_format)
    request = make_request("jira", body, {"X-Followup-Token": SECRET})
    error = refuse(request)
    assert error.status == 401 and "WEBHOOK_TOKEN_SOURCES=jira" in error.message
    case = accept(request, config(token_place="header")).cases[0]
    assert (case.external_id, case.subject, case.event) == ("10002", SUBJECT, Event.CLOSED)
    assert case.owner_email == AGENT


def test_automation_reopen_and_wrong_token() -> None:
    cfg = config(token_place="header")
    reopen = make_request("jira", jira_automation("new"), {"X-Followup-Token": SECRET})
    assert accept(reopen, cfg).cases[0].event is Event.REOPENED
    wrong = make_request("jira", jira_automation(), {"X-Followup-Token": "guess"})
    assert refuse(wrong, cfg).message == "X-Followup-Token is wrong"


def test_a_signed_admin_webhook_still_works_with_tokens_allowed() -> None:
    assert accept(signed("jira", jira()), config(token_place="header")).cases


def test_the_sample_request_is_accepted_as_one_closed_case() -> None:
    body, headers = sample_request(SECRET, f"{PUBLIC}/webhooks/jira", NOW, "followup-test-1")
    result = accept(make_request("jira", body, headers), config(token_place="header"))
    assert [c.event for c in result.cases] == [Event.CLOSED]
    assert "Send web request" in RECIPE.text(PUBLIC)
