"""What a helpdesk and its admin are told about each delivery, over HTTP.

One rule for a close: only a reopen starts a new follow-up cycle. A helpdesk's rule that fires
again on a solved ticket (Zendesk's "Status category is Solved" holds on every later update;
Freshdesk's Resolved then Closed) is the same resolution, answered 200 "duplicate", whatever the
later timestamp. A change the bot does not act on, or a reopen of a case it never saw, is 200
"ignored" with a reason: not "duplicate", which would tell an admin all is well. Each request
leaves one INFO line with its source, ids and outcome, and never its body or a secret.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Case, FollowUp
from tests.posting import GENERIC_SECRET, post_webhook

CLOSED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SUBJECT = "Refund not showing on the March invoice"


def close(bot: Any, **fields: Any) -> tuple[int, dict[str, Any]]:
    payload = {
        "case_id": "1001",
        "subject": SUBJECT,
        "resolution": "Re-issued the credit note",
        "closed_at": CLOSED.isoformat(),
        "owner_email": "ada@example.com",
        "customer_name": "Priya Shah",
        "channel": "email",
        **fields,
    }
    return bot.post_generic(payload)  # type: ignore[no-any-return]


def stored(bot: Any) -> tuple[list[tuple[int, str]], list[tuple[int, int, str, datetime]]]:
    """(cycle, status) of each case; (id, cycle, status, due_at) of each follow-up."""
    with bot.deps.session_factory() as session:
        cases = [(c.cycle, c.status) for c in session.scalars(select(Case))]
        followups = [
            (f.id, f.cycle, f.state, f.due_at)
            for f in session.scalars(select(FollowUp).order_by(FollowUp.id))
        ]
    return cases, followups


def test_a_second_close_without_a_reopen_is_the_same_cycle_whatever_its_time(bot: Any) -> None:
    assert close(bot)[0] == 202
    before = stored(bot)
    # The trigger fires again two days later (a satisfaction rating on the solved ticket).
    status, reply = close(bot, closed_at=(CLOSED + timedelta(days=2)).isoformat())
    assert (status, reply["status"]) == (200, "duplicate")
    assert stored(bot) == before
    assert before[0] == [(1, "closed")]


def test_only_a_reopen_starts_a_new_cycle_and_a_close_from_before_it_is_a_late_copy(
    bot: Any,
) -> None:
    assert close(bot)[0] == 202
    reopened = CLOSED + timedelta(hours=5)
    assert close(bot, event="reopened", closed_at=reopened.isoformat())[0] == 202
    late_copy = close(bot, closed_at=(reopened - timedelta(minutes=1)).isoformat())
    assert (late_copy[0], late_copy[1]["status"]) == (200, "duplicate")
    assert stored(bot)[0] == [(1, "reopened")]
    assert close(bot, closed_at=(reopened + timedelta(days=1)).isoformat())[0] == 202
    cases, followups = stored(bot)
    assert cases == [(2, "closed")]
    assert {cycle for _, cycle, state, _ in followups if state == "planned"} == {2}


def test_a_reopen_of_a_case_never_seen_is_ignored_with_a_reason_and_writes_nothing(
    bot: Any,
) -> None:
    status, reply = close(bot, case_id="7777", event="reopened")
    assert status == 200
    assert reply["status"] == "ignored"
    assert "never saw" in reply["reason"] and "generic:7777" in reply["reason"]
    assert stored(bot) == ([], [])


def test_a_status_change_the_adapter_does_not_act_on_is_ignored_not_duplicate(
    make_bot: Any,
) -> None:
    """Zendesk's "Ticket status changed" event webhook for OPEN -> PENDING (the envelope of
    Zendesk's "Ticket events" reference: type, detail, event.previous/current)."""
    import base64
    import hashlib
    import hmac

    secret = "zendesk-signing-secret-0123456789"
    bot = make_bot(WEBHOOK_SECRET_ZENDESK=secret)
    payload = {
        "type": "zen:event-type:ticket.status_changed",
        "account_id": 1,
        "id": "evt-1",
        "time": "2026-11-20T10:00:00Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35436",
        "detail": {"id": "35436", "subject": SUBJECT, "status": "PENDING"},
        "event": {"previous": "OPEN", "current": "PENDING"},
    }
    body = json.dumps(payload).encode()
    stamp = bot.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    status, reply = post_webhook(f"{bot.url}/webhooks/zendesk", body, headers)
    assert (status, reply["status"]) == (200, "ignored")
    assert "PENDING" in reply["reason"]


def webhook_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "followup.webhooks"]


def test_every_request_leaves_one_info_line_with_ids_and_outcome_and_no_body(
    bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="followup.webhooks")
    close(bot)
    close(bot)
    close(bot, case_id="7777", event="reopened")
    post_webhook(f"{bot.url}/webhooks/generic", b'{"case_id": "1"}', {"X-Nothing": "1"})
    post_webhook(f"{bot.url}/webhooks/<script>", b"{}", {})
    records = webhook_lines(caplog)
    outcomes = [(r.outcome, r.case, r.source, r.status) for r in records]  # type: ignore[attr-defined]
    assert outcomes == [
        ("accepted", "1001", "generic", 202),
        ("duplicate", "1001", "generic", 200),
        ("ignored", "7777", "generic", 200),
        ("refused", None, "generic", 401),
        ("refused", None, "unknown", 404),
    ]
    assert all(r.levelno == logging.INFO for r in records)
    text = "\n".join(r.getMessage() for r in records)
    assert "webhook generic case 1001 delivery -: accepted (202)" in text
    assert "missing X-Followup-Timestamp header" in text  # the reason names what is wrong
    for secret_or_body in (GENERIC_SECRET, SUBJECT, "Priya", "<script>"):
        assert secret_or_body not in text


def test_a_delivery_the_database_cannot_take_is_logged_and_counted_as_refused(
    bot: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 (the helpdesk retries) leaves the same line and count as any other refusal, so an
    outage shows on the webhook series and in the log, not only as a missing close."""
    from sqlalchemy.exc import OperationalError

    from bot import metrics
    from handlers.webhooks import receive

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(receive, "take_delivery", down)
    caplog.set_level(logging.INFO, logger="followup")
    labels = {"source": "generic", "outcome": "refused"}
    before = metrics.REGISTRY.get_sample_value("followup_webhooks_total", labels) or 0.0
    status, _ = close(bot)
    assert status == 503
    after = metrics.REGISTRY.get_sample_value("followup_webhooks_total", labels) or 0.0
    assert after - before == 1
    lines = [r for r in caplog.records if getattr(r, "event", None) == "webhook"]
    assert [(r.outcome, r.status) for r in lines] == [("refused", 503)]  # type: ignore[attr-defined]


def test_a_reopen_overtaken_by_the_next_close_still_gives_that_close_its_cycle(
    bot: Any,
) -> None:
    """Closed at t1, reopened at t1+5h, closed again at t1+1d; the second close arrives before
    the reopen (concurrent deliveries, a batch out of order). The second close is kept as a
    time; when the reopen arrives it starts the cycle that close began."""
    assert close(bot)[0] == 202
    second_close = CLOSED + timedelta(days=1)
    assert close(bot, closed_at=second_close.isoformat())[1]["status"] == "duplicate"
    reopened = CLOSED + timedelta(hours=5)
    status, reply = close(bot, event="reopened", closed_at=reopened.isoformat())
    assert (status, reply["status"]) == (202, "accepted")
    cases, followups = stored(bot)
    assert cases == [(2, "closed")]
    planned = [(cycle, due) for _, cycle, state, due in followups if state == "planned"]
    assert planned and {cycle for cycle, _ in planned} == {2}
    assert all(due > second_close for _, due in planned)
    assert {state for _, cycle, state, _ in followups if cycle == 1} == {"cancelled"}


def test_a_refused_value_is_told_to_the_sender_but_never_logged(
    bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The reason names the field for the admin; the value itself may be a customer's."""
    caplog.set_level(logging.INFO, logger="followup.webhooks")
    status, reply = close(bot, customer_email="Jane Doe <jane.doe@acme.example>")
    assert status == 400 and "Jane Doe" in reply["error"]
    (line,) = webhook_lines(caplog)
    assert line.getMessage().endswith(
        "refused (400): customer_email: is not an email address: <value>"
    )
    assert "Jane" not in line.getMessage() and "Jane" not in str(line.reason)  # type: ignore[attr-defined]
