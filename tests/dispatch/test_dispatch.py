"""Closed cases in over HTTP, planned by the default policy, DMed once in working hours."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from db import followups as followup_store
from db import nudge_rows
from db.models import Agent

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def post_case(bot: Any, **fields: Any) -> tuple[int, dict[str, Any]]:
    payload = {
        "case_id": "1001",
        "subject": "Refund not showing on the March invoice",
        "resolution": "Re-issued the credit note and confirmed it posted to the account",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "customer_name": "Priya Shah",
        "channel": "email",
        **fields,
    }
    return bot.post_generic(payload)  # type: ignore[no-any-return]


def nudges(bot: Any) -> list[dict[str, Any]]:
    return [
        m
        for m in bot.sandbox.dm_messages("U0AGENT")
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_NUDGE
    ]


def at(bot: Any, moment: datetime) -> Any:
    bot.clock.set(moment)
    return dispatch_pass(bot.deps)


def test_london_agent_friday_close_is_nudged_monday_in_working_hours(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    assert post_case(bot, case_id="Q-1", kind="query")[0] == 202
    assert post_case(bot, case_id="C-1", kind="request")[0] == 202
    assert at(bot, datetime(2026, 11, 22, 10, 0, tzinfo=UTC)).delivered == 0  # Sunday: 48 h
    assert at(bot, datetime(2026, 11, 23, 8, 59, tzinfo=UTC)).delivered == 0
    monday_9 = at(bot, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert monday_9.delivered == 1
    [query_dm] = nudges(bot)
    assert query_dm["metadata"]["event_payload"]["followup_ids"]
    assert "Refund not showing" in json.dumps(query_dm["blocks"])
    assert at(bot, datetime(2026, 11, 23, 9, 59, tzinfo=UTC)).delivered == 0
    assert at(bot, datetime(2026, 11, 23, 10, 0, tzinfo=UTC)).delivered == 1
    assert at(bot, datetime(2026, 11, 23, 12, 0, tzinfo=UTC)).delivered == 0
    assert len(nudges(bot)) == 2


def test_the_same_delivery_twice_makes_one_case_and_one_plan(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    assert post_case(bot)[0] == 202
    status, body = post_case(bot)
    assert (status, body["status"]) == (200, "duplicate")
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert dispatch_pass(bot.deps).delivered == 1
    assert dispatch_pass(bot.deps).delivered == 0


def test_a_reopen_cancels_the_plan_and_the_next_close_plans_a_new_cycle(
    bot_on_each_db: Any,
) -> None:
    bot = bot_on_each_db
    assert post_case(bot)[0] == 202
    reopened = (FRIDAY_10_UTC + timedelta(hours=5)).isoformat()
    assert post_case(bot, event="reopened", closed_at=reopened)[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert dispatch_pass(bot.deps).delivered == 0
    closed_again = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert post_case(bot, closed_at=closed_again.isoformat())[0] == 202
    bot.clock.set(closed_again + timedelta(hours=72))
    assert dispatch_pass(bot.deps).delivered == 1


def test_a_bad_payload_is_refused_and_writes_nothing(bot: Any) -> None:
    status, body = post_case(bot, closed_at="yesterday")
    assert status == 400
    assert "closed_at" in body["error"]
    bot.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert dispatch_pass(bot.deps).claimed == 0


def test_a_crash_after_slack_accepted_the_dm_never_sends_it_twice(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert post_case(bot)[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    real_mark_sent = followup_store.mark_sent

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("process killed between Slack's answer and the commit")

    monkeypatch.setattr(followup_store, "mark_sent", crash)
    first = dispatch_pass(bot.deps)
    assert len(nudges(bot)) == 1
    monkeypatch.setattr(followup_store, "mark_sent", real_mark_sent)
    assert first.failed == 1
    bot.clock.advance(timedelta(minutes=15))  # the crashed claim's lease runs out
    second = dispatch_pass(bot.deps)
    assert second.reconciled == 1
    assert second.delivered == 0
    assert len(nudges(bot)) == 1


def test_a_retry_whose_dm_history_cannot_be_read_waits_rather_than_posting_again(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert post_case(bot)[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("process killed between Slack's answer and the commit")

    monkeypatch.setattr(followup_store, "mark_sent", crash)
    dispatch_pass(bot.deps)
    monkeypatch.undo()
    assert len(nudges(bot)) == 1
    # The retry finds no DM channel on record, and Slack will not open one right now.
    with bot.deps.session_factory.begin() as session:
        session.execute(update(Agent).values(dm_channel=None))
    bot.sandbox.fail_next("conversations.open", times=1, status=None, error="ratelimited")
    bot.clock.advance(timedelta(minutes=15))
    blind = dispatch_pass(bot.deps)
    assert (blind.delivered, blind.deferred) == (0, 1)
    assert len(nudges(bot)) == 1, "posted again without reading the history"
    # Once the channel opens, the history shows the DM: recorded, not sent twice.
    bot.clock.advance(timedelta(minutes=15))
    later = dispatch_pass(bot.deps)
    assert (later.reconciled, later.delivered) == (1, 0)
    assert len(nudges(bot)) == 1


def test_a_claim_whose_lease_ran_short_before_posting_is_left_for_the_next_claim(
    bot: Any,
) -> None:
    assert post_case(bot)[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    # Ada is new to the bot and not in the directory: her email is looked up first; while
    # Slack is slow, 9 of the lease's 10 minutes go by.
    bot.sandbox.fail_next("users.lookupByEmail", status=None, error=None, delay=1.0)
    later = threading.Timer(0.2, bot.clock.advance, [timedelta(minutes=9)])
    later.start()
    slow = dispatch_pass(bot.deps)
    later.join()
    assert (slow.claimed, slow.delivered, slow.failed) == (1, 0, 0)
    assert nudges(bot) == [], "posted with too little lease left to record it as ours"
    with bot.deps.session_factory() as session:
        [row] = nudge_rows.open_for_agent(session, ada_id(bot))
        assert row.state == "claimed"
    bot.clock.advance(timedelta(minutes=2))  # the lease is over: the next pass retries
    retried = dispatch_pass(bot.deps)
    assert (retried.delivered, retried.reconciled) == (1, 0)
    assert len(nudges(bot)) == 1


def ada_id(bot: Any) -> int:
    with bot.deps.session_factory() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.slack_user_id == "U0AGENT"))
        assert agent_id is not None
        return agent_id


def test_several_due_for_one_agent_arrive_as_one_dm(bot: Any) -> None:
    for n in range(7):
        assert post_case(bot, case_id=f"B-{n}", subject=f"Case number {n} about billing")[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    report = dispatch_pass(bot.deps)
    assert (report.delivered, report.dms) == (7, 1)
    [dm] = nudges(bot)
    assert len(dm["metadata"]["event_payload"]["followup_ids"]) == 7
    assert len(dm["blocks"]) <= 50


def test_an_owner_not_in_slack_goes_to_triage(bot: Any) -> None:
    assert post_case(bot, owner_email="nobody@example.com")[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    report = dispatch_pass(bot.deps)
    assert report.triaged == 1
    [post] = bot.sandbox.messages("C0TRIAGE")
    assert "Refund not showing" in json.dumps(post["blocks"])
    with bot.deps.session_factory() as session:
        assert nudge_rows.open_for_agent(session, 1) == []


def test_policy_explain_says_why_for_the_london_friday_cases(bot: Any) -> None:
    from bot.planning.plan import UnknownCase, explain_case

    assert post_case(bot, case_id="Q-1", kind="query")[0] == 202
    assert post_case(bot, case_id="C-1", kind="request")[0] == 202
    query = explain_case(bot.deps, "generic:Q-1")
    assert 'rule 9 "routine-query"' in query or "routine-query" in query
    assert "Sunday" in query and "Mon 23 Nov 09:00" in query
    ordinary = explain_case(bot.deps, "C-1")
    assert "ordinary" in ordinary and "Mon 23 Nov 10:00" in ordinary
    with pytest.raises(UnknownCase, match="no case 'generic:nope'"):
        explain_case(bot.deps, "generic:nope")


def _crash_after_posting(bot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ada's DM reaches Slack, then the worker dies before recording it."""
    assert post_case(bot)[0] == 202
    bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("killed between Slack's answer and the commit")

    monkeypatch.setattr(followup_store, "mark_sent", crash)
    dispatch_pass(bot.deps)
    monkeypatch.undo()
    assert len(nudges(bot)) == 1


def test_a_retry_given_back_for_the_night_is_still_reconciled_in_the_morning(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Giving a claim back unsent undoes that claim's attempt only: a retry stays a retry."""
    _crash_after_posting(bot, monkeypatch)
    bot.clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # the lease ran out; night in London
    assert dispatch_pass(bot.deps).deferred == 1
    bot.clock.set(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    morning = dispatch_pass(bot.deps)
    assert (morning.delivered, morning.reconciled) == (0, 1)
    assert len(nudges(bot)) == 1


def test_a_retry_whose_history_read_fails_is_not_posted_blindly_next_time(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_after_posting(bot, monkeypatch)
    bot.clock.advance(timedelta(minutes=15))
    bot.sandbox.fail_next("conversations.history", times=5, status=None, error="internal_error")
    dispatch_pass(bot.deps)
    bot.clock.advance(timedelta(minutes=1))
    dispatch_pass(bot.deps)
    assert len(nudges(bot)) == 1
