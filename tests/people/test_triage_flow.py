"""A vendor case nobody owns is never dropped: webhook → triage post → a pick → the DM."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox.waiting import wait_for
from db.models import FollowUp
from tests.posting import post_webhook

ZENDESK_SECRET = "zendesk-signing-secret"
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def zendesk_solved(ticket: str, assignee_id: str | None) -> dict[str, Any]:
    """An event webhook in Zendesk's documented shape: ticket.status_changed to SOLVED."""
    return {
        "type": "zen:event-type:ticket.status_changed",
        "id": f"evt-{ticket}",
        "time": "2026-11-20T09:30:00Z",
        "subject": f"zen:ticket:{ticket}",
        "zendesk_event_version": "2022-11-06",
        "account_id": 22129848,
        "detail": {
            "id": ticket,
            "subject": "Le colis n'est jamais arrivé — <!channel>",
            "status": "SOLVED",
            "assignee_id": assignee_id,
            "priority": "NORMAL",
            "type": "PROBLEM",
            "tags": [],
            "via": {"channel": "email"},
            "updated_at": "2026-11-20T09:30:00Z",
        },
        "event": {"previous": "OPEN", "current": "SOLVED"},
    }


def post_zendesk(bot: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    stamp = bot.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(
        hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + raw, hashlib.sha256).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": f"inv-{body['id']}",
    }
    return post_webhook(f"{bot.url}/webhooks/zendesk", raw, headers)


def test_unassigned_zendesk_case_goes_to_triage_and_the_pick_gets_the_dm(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_ZENDESK=ZENDESK_SECRET)
    status, reply = post_zendesk(bot, zendesk_solved("7001", assignee_id=None))
    assert (status, reply["status"]) == (202, "accepted")

    bot.clock.set(MONDAY_10_UTC)
    report = dispatch_pass(bot.deps)
    assert report.triaged == 1 and report.delivered == 0
    [post] = bot.sandbox.messages("C0TRIAGE")
    shown = json.dumps(post["blocks"])
    assert "7001" in shown and "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert bot.sandbox.dm_messages("U0AGENT") == []

    answer = bot.driver.block_action_from_message(
        "U0LEAD", "C0TRIAGE", post["ts"], ids.ACTION_TRIAGE_ASSIGN, "U0AGENT"
    )
    assert answer.status == 200
    assert wait_for(
        lambda: (
            "Assigned to <@U0AGENT>" in json.dumps(bot.sandbox.messages("C0TRIAGE")[0]["blocks"])
        )
    )

    assert dispatch_pass(bot.deps).delivered >= 1
    [dm] = [
        m
        for m in bot.sandbox.dm_messages("U0AGENT")
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_NUDGE
    ]
    assert "Le colis" in json.dumps(dm["blocks"])
    # A second pass sends nothing more: the triaged follow-up went out exactly once.
    assert dispatch_pass(bot.deps).delivered == 0


def test_the_same_ownerless_delivery_twice_is_one_triage_post(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_ZENDESK=ZENDESK_SECRET)
    assert post_zendesk(bot, zendesk_solved("7002", None))[0] == 202
    assert post_zendesk(bot, zendesk_solved("7002", None))[0] == 200
    bot.clock.set(MONDAY_10_UTC)
    dispatch_pass(bot.deps)
    dispatch_pass(bot.deps)
    assert len(bot.sandbox.messages("C0TRIAGE")) == 1
    with bot.deps.session_factory() as session:
        states = list(session.scalars(select(FollowUp.state)))
    assert states == ["triage"]


def test_generic_webhook_still_requires_an_owner(bot: Any) -> None:
    status, reply = bot.post_generic(
        {"case_id": "G-1", "subject": "x", "closed_at": "2026-11-20T09:00:00Z"}
    )
    assert status == 400, reply
    assert reply["error"].startswith("owner_email")
