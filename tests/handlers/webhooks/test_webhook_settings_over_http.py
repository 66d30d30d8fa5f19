"""Issue #20 end to end: per-source settings reach the adapters through the running bot, and
Freshdesk's Resolved-then-Closed stays one cycle."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from webhook_payloads import freshdesk, hubspot_event, jira_automation
from webhook_testkit import signature_headers

from tests.posting import post_webhook

SECRET = "a-long-helpdesk-secret-value"


def _hubspot(bot: Any, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(events).encode()
    # With PUBLIC_URL unset, the bot checks v3 against the path it was posted to.
    signed_url = "/webhooks/hubspot"
    headers = signature_headers("hubspot", SECRET, body, at=bot.clock.now(), url=signed_url)
    headers["Content-Type"] = "application/json"
    return post_webhook(f"{bot.url}{signed_url}", body, headers)


def _event_now(bot: Any, stage: str, **changes: Any) -> dict[str, Any]:
    millis = int(bot.clock.now().timestamp() * 1000)
    return hubspot_event(stage, occurredAt=millis - 60_000, **changes)


def test_hubspot_custom_closed_stage_from_the_environment(make_bot: Any) -> None:
    """HubSpot Webhooks API batch (developer docs "Webhooks API"), signed v3."""
    bot = make_bot(WEBHOOK_SECRET_HUBSPOT=SECRET, HUBSPOT_CLOSED_STAGES="4,88123456")
    status, reply = _hubspot(bot, [_event_now(bot, "88123456")])
    assert (status, reply["status"]) == (202, "accepted")


def test_hubspot_unconfigured_stage_is_ignored_not_duplicate(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_HUBSPOT=SECRET)
    status, reply = _hubspot(bot, [_event_now(bot, "88123456")])
    assert (status, reply["status"]) == (200, "ignored")
    assert "HUBSPOT_CLOSED_STAGES" in reply["reason"]


def test_jira_automation_token_from_the_environment(make_bot: Any) -> None:
    """Automation's Send web request, Issue data (Jira format), token header."""
    body = json.dumps(jira_automation()).encode()
    headers = {"Content-Type": "application/json", "X-Followup-Token": SECRET}
    refused = make_bot(WEBHOOK_SECRET_JIRA=SECRET)
    assert post_webhook(f"{refused.url}/webhooks/jira", body, headers)[0] == 401
    bot = make_bot(WEBHOOK_SECRET_JIRA=SECRET, WEBHOOK_TOKEN_SOURCES="jira")
    status, reply = post_webhook(f"{bot.url}/webhooks/jira", body, headers)
    assert (status, reply["status"]) == (202, "accepted")


def test_freshdesk_token_header_name_from_the_environment(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_FRESHDESK=SECRET, FRESHDESK_TOKEN_HEADER="X-Acme-Token")
    body = json.dumps(freshdesk()).encode()
    headers = {"Content-Type": "application/json", "X-Acme-Token": SECRET}
    assert post_webhook(f"{bot.url}/webhooks/freshdesk", body, headers)[0] == 202


def test_freshdesk_resolved_then_closed_is_one_cycle(make_bot: Any) -> None:
    """A rule on "Status is changed to Resolved or Closed" fires twice for one ticket; the
    second close, with no reopen between, is a duplicate (the store's rule, issue #20)."""
    bot = make_bot(WEBHOOK_SECRET_FRESHDESK=SECRET)
    headers = {"Content-Type": "application/json", "X-Followup-Token": SECRET}
    url = f"{bot.url}/webhooks/freshdesk"
    first = post_webhook(url, json.dumps(freshdesk(status="Resolved")).encode(), headers)
    bot.clock.advance(timedelta(hours=2))
    second = post_webhook(url, json.dumps(freshdesk(status="Closed")).encode(), headers)
    assert (first[0], first[1]["status"]) == (202, "accepted")
    assert (second[0], second[1]["status"]) == (200, "duplicate")
