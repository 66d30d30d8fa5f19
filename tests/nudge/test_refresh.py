"""Bulk DM updates are queued and paced under chat.update's Tier 3 limit: a reopen storm
updates every DM once, to its final state, within the budget, and nothing is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.dispatch.dispatcher import dispatch_pass
from bot.nudge.refresh import (
    BULK_PER_MINUTE,
    DRAIN_EVERY_SECONDS,
    FIRST_RETRY,
    LEASE,
    PER_WINDOW,
    WINDOW,
    RefreshReport,
    drain_refreshes,
    queue_refreshes,
)
from bot.runtime.scheduler import JOB_DM_REFRESH, build_scheduler
from bot.sandbox import SlackSandbox
from db import dm_refreshes
from db.models import DmRefresh, FollowUp
from tests.conftest import BOT_TOKEN, dispatcher_deps
from tests.idle import wait_idle
from tests.nudging import FRIDAY_10_UTC, MONDAY_10_UTC

TIER_3 = 50 / 60
"""chat.update's limit, calls a second: Tier 3, 50 a minute."""
AGENTS = 500
CANCELLED = "reopened in the helpdesk"


@pytest.fixture
def sandbox(clock: Any) -> Iterator[SlackSandbox]:
    """The sandbox with rate limits on the manual clock (the bot's), and AGENTS agents: each
    gets one DM, so a storm of reopens touches as many DMs as cases."""
    with SlackSandbox(bot_token=BOT_TOKEN, monotonic=lambda: clock.now().timestamp()) as box:
        for n in range(AGENTS):
            box.add_user(f"UA{n:04d}", name=f"agent{n}", email=f"agent{n}@example.com")
        yield box


def _post_all(bot: Any, payloads: list[dict[str, Any]]) -> list[int]:
    """Post these generic webhooks 16 at a time, as a helpdesk's bulk action does; statuses."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        return [status for status, _ in pool.map(bot.post_generic, payloads)]


def _dm_each(bot: Any, count: int) -> list[tuple[str, str]]:
    """`count` cases closed Friday, each DMed to its own agent on Monday: the DMs (channel, ts)."""
    payloads = [
        {
            "case_id": f"RS-{n}",
            "subject": f"Refund {n} missing on the March invoice",
            "resolution": "Re-issued the credit note",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": f"agent{n}@example.com",
        }
        for n in range(count)
    ]
    assert set(_post_all(bot, payloads)) == {202}
    bot.clock.set(MONDAY_10_UTC)
    report = dispatch_pass(bot.deps)
    assert (report.delivered, report.dms) == (count, count)
    bot.sandbox.reset_calls()
    return [
        (bot.sandbox.im_channel(f"UA{n:04d}"), bot.sandbox.dm_messages(f"UA{n:04d}")[0]["ts"])
        for n in range(count)
    ]


def _reopen(bot: Any, count: int) -> None:
    """The helpdesk reopens the first `count` cases at once."""
    reopened = (bot.clock.now() - timedelta(minutes=5)).isoformat()
    payloads = [
        {"case_id": f"RS-{n}", "event": "reopened", "closed_at": reopened} for n in range(count)
    ]
    assert set(_post_all(bot, payloads)) == {202}
    wait_idle(bot)


def _waiting(deps: Any) -> int:
    with deps.session_factory() as session:
        return dm_refreshes.waiting(session)


def _updates(bot: Any) -> Counter[tuple[str, str]]:
    """How many times Slack updated each DM."""
    calls = bot.sandbox.calls_to("chat.update")
    return Counter((c.args["channel"], c.args["ts"]) for c in calls if c.response.get("ok"))


def _refused(bot: Any) -> list[Any]:
    return [c for c in bot.sandbox.calls_to("chat.update") if not c.response.get("ok")]


def _drain(bot: Any, *deps: Any, rounds: int = 1000) -> list[tuple[datetime, int]]:
    """Run the pass every DRAIN_EVERY_SECONDS of the manual clock (on each of `deps` at once,
    default the bot's) until nothing waits; (when, updates sent) per round that sent any."""
    instances = deps or (bot.deps,)
    sent: list[tuple[datetime, int]] = []
    for _ in range(rounds):
        if _waiting(instances[0]) == 0:
            return sent
        with ThreadPoolExecutor(max_workers=len(instances)) as pool:
            reports: list[RefreshReport] = list(pool.map(drain_refreshes, instances))
        updated = sum(report.updated for report in reports)
        if updated:
            sent.append((bot.clock.now(), updated))
        bot.clock.advance(timedelta(seconds=DRAIN_EVERY_SECONDS))
    pytest.fail(f"still {_waiting(instances[0])} waiting after {rounds} rounds")


def _most_in_any(span: timedelta, sent: list[tuple[datetime, int]]) -> int:
    """The most updates sent within any `span` (starting at a round that sent some)."""
    return max(sum(n for t, n in sent if start <= t < start + span) for start, _ in sent)


def test_a_500_case_reopen_storm_updates_every_dm_once_within_tier_3(
    bot_on_each_db: Any,
) -> None:
    bot = bot_on_each_db
    dms = _dm_each(bot, AGENTS)
    _reopen(bot, AGENTS)
    assert bot.sandbox.calls_to("chat.update") == [], "a webhook spent chat.update's limit"
    assert _waiting(bot.deps) == AGENTS
    bot.sandbox.rate_limit("chat.update", TIER_3, burst=PER_WINDOW)
    sent = _drain(bot)
    assert _updates(bot) == Counter(dms), "every DM updated exactly once"
    assert _refused(bot) == [], "a 429 (or another refusal)"
    for channel, ts in dms:
        assert CANCELLED in bot.sandbox.message(channel, ts)["text"]
    assert _most_in_any(timedelta(minutes=1), sent) <= BULK_PER_MINUTE
    assert _most_in_any(WINDOW, sent) <= PER_WINDOW
    # 50 windows of 10: the last goes out 49 windows after the first (docs/performance.md).
    took = sent[-1][0] - sent[0][0]
    assert took == 49 * WINDOW == timedelta(minutes=12, seconds=15)
    # Sent rows stay one window, to be counted, then go.
    bot.clock.advance(WINDOW)
    drain_refreshes(bot.deps)
    with bot.deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DmRefresh)) == 0


def test_a_message_queued_three_times_is_updated_once(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    [dm] = _dm_each(bot, 1)
    [followup_id] = _followup_ids(bot)
    _reopen(bot, 1)
    queue_refreshes(bot.deps, [followup_id])
    queue_refreshes(bot.deps, [followup_id])
    with bot.deps.session_factory() as session:
        row = session.scalar(select(DmRefresh))
        assert row is not None and (row.version, row.sent_version) == (3, 0)
    _drain(bot)
    assert _updates(bot) == Counter([dm])
    assert CANCELLED in bot.sandbox.message(*dm)["text"]


def test_a_change_queued_while_its_update_is_on_the_way_is_sent_after_it(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    [dm] = _dm_each(bot, 1)
    [followup_id] = _followup_ids(bot)
    _reopen(bot, 1)
    send = bot.deps.client.chat_update

    def changed_meanwhile(**kwargs: Any) -> Any:
        monkeypatch.undo()
        queue_refreshes(bot.deps, [followup_id])  # a change commits after the render
        return send(**kwargs)

    monkeypatch.setattr(bot.deps.client, "chat_update", changed_meanwhile)
    first = drain_refreshes(bot.deps)
    assert first.updated == 1 and _waiting(bot.deps) == 1, "the later change was dropped"
    _drain(bot)
    assert _updates(bot) == Counter({dm: 2})


def test_claims_of_a_process_that_died_go_out_once_their_lease_ends(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    dms = _dm_each(bot, 5)
    _reopen(bot, 5)
    now = bot.clock.now()
    with bot.deps.session_factory.begin() as session:
        taken = dm_refreshes.claim(
            session, now, "dead:1", now + LEASE, window_start=now - WINDOW, allowance=PER_WINDOW
        )
    assert len(taken) == 5  # ...and the process dies before calling Slack
    bot.clock.advance(LEASE - timedelta(seconds=1))
    assert drain_refreshes(bot.deps).claimed == 0, "a live claim was taken over"
    bot.clock.advance(timedelta(seconds=1))
    assert drain_refreshes(bot.deps).updated == 5
    assert _updates(bot) == Counter(dms)
    assert _waiting(bot.deps) == 0


def test_two_instances_draining_at_once_never_both_send(
    bot_on_each_db: Any, database_url: str
) -> None:
    bot = bot_on_each_db
    dms = _dm_each(bot, 45)
    _reopen(bot, 45)
    other = dispatcher_deps(database_url, bot.sandbox, bot.clock)
    assert other.worker != bot.deps.worker
    bot.sandbox.rate_limit("chat.update", TIER_3, burst=PER_WINDOW)
    try:
        sent = _drain(bot, bot.deps, other)
    finally:
        other.engine.dispose()
    assert _updates(bot) == Counter(dms)
    # The budget is the workspace's, not each instance's.
    assert _most_in_any(WINDOW, sent) <= PER_WINDOW
    assert _refused(bot) == []


def test_a_gone_message_is_dropped_and_a_failed_update_is_retried(bot: Any) -> None:
    dms = _dm_each(bot, 3)
    _reopen(bot, 3)
    bot.sandbox.fail_next("chat.update", status=None, error="message_not_found")
    bot.sandbox.fail_next("chat.update", status=None, error="internal_error")
    first = drain_refreshes(bot.deps)
    assert (first.gone, first.retrying, first.updated) == (1, 1, 1)
    assert _waiting(bot.deps) == 1
    bot.clock.advance(FIRST_RETRY - timedelta(seconds=1))
    assert drain_refreshes(bot.deps).claimed == 0, "retried before its time"
    bot.clock.advance(timedelta(seconds=1))
    assert drain_refreshes(bot.deps).updated == 1
    assert _waiting(bot.deps) == 0
    calls = Counter((c.args["channel"], c.args["ts"]) for c in bot.sandbox.calls_to("chat.update"))
    assert set(calls) == set(dms)
    assert sorted(calls.values()) == [1, 1, 2], "the gone one tried again, or the failed one not"
    assert len(_updates(bot)) == 2


def test_a_429_gives_the_rest_of_the_pass_back(bot: Any) -> None:
    dms = _dm_each(bot, 4)
    _reopen(bot, 4)
    # More 429s than the client retries: the pass hears one.
    bot.sandbox.fail_next("chat.update", times=6, status=429, error="ratelimited", retry_after=0)
    first = drain_refreshes(bot.deps)
    assert (first.claimed, first.updated, first.given_back) == (4, 0, 4)
    assert len(_refused(bot)) == 6
    _drain(bot)
    assert _updates(bot) == Counter(dms)


def test_the_scheduler_drains_the_queue_every_few_seconds(bot: Any) -> None:
    job = build_scheduler(bot.deps).get_job(JOB_DM_REFRESH)
    assert job.trigger.interval == timedelta(seconds=DRAIN_EVERY_SECONDS)


def _followup_ids(bot: Any) -> list[int]:
    with bot.deps.session_factory() as session:
        return list(session.scalars(select(FollowUp.id).where(FollowUp.slack_ts.is_not(None))))
