"""Slack failing: 429 with `Retry-After` on half the calls, 5xx, and calls slower than the
client waits. A dispatch still DMs every follow-up exactly once (counted from the DMs the
sandbox holds and their message metadata), and people still get their acknowledgements, and
then a friendly word, when they click or type a command while Slack's Web API is failing.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.cases import ClosedCase
from bot.clock import ManualClock
from bot.deps import Deps
from bot.dispatch.dispatcher import DispatchReport, dispatch_pass
from bot.intake.accept import accept_case
from bot.people.profiles import ensure_profile
from bot.runtime.app import FRIENDLY_ERROR
from bot.sandbox import SlackSandbox
from bot.sandbox.waiting import wait_for
from bot.sandbox.webapi import RESPONSE_URL
from db.models import Agent, FollowUp
from tests.conftest import dispatcher_deps
from tests.idle import wait_idle
from tests.nudging import FRIDAY_10_UTC, MONDAY_10_UTC, nudge

AGENTS = 5
PER_AGENT = 2
ACK_DEADLINE = 3.0
"""Slack shows the user an error when the app has not answered within 3 seconds."""


@dataclass
class Team:
    """AGENTS agents in the sandbox, PER_AGENT follow-ups each due Monday 10:00 UTC."""

    sandbox: SlackSandbox
    deps: Deps
    clock: ManualClock
    followup_ids: list[int]
    users: list[str]

    def nudged(self) -> list[int]:
        """Follow-up ids named in the metadata of every nudge DM the agents hold."""
        found: list[int] = []
        for user in self.users:
            for message in self.sandbox.dm_messages(user):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == ids.METADATA_NUDGE:
                    found.extend(int(i) for i in metadata["event_payload"]["followup_ids"])
        return found

    def agent_ids(self) -> list[int]:
        with self.deps.session_factory() as session:
            return list(session.scalars(select(Agent.id)))

    def states(self) -> Counter[str]:
        with self.deps.session_factory() as session:
            return Counter(session.scalars(select(FollowUp.state)))

    def dispatch_until_done(self, passes: int = 6) -> list[DispatchReport]:
        """Dispatch passes, 3 minutes apart (released deliveries come back after 2)."""
        reports = []
        for _ in range(passes):
            reports.append(dispatch_pass(self.deps, threads=AGENTS))
            if self.states() == Counter({"sent": len(self.followup_ids)}):
                break
            self.clock.advance(timedelta(minutes=3))
        return reports

    def assert_each_delivered_exactly_once(self) -> None:
        nudged = self.nudged()
        twice = sorted(i for i, n in Counter(nudged).items() if n > 1)
        lost = sorted(set(self.followup_ids) - set(nudged))
        assert (twice, lost) == ([], []), f"sent twice: {twice}; never sent: {lost}"
        assert len(nudged) == AGENTS * PER_AGENT
        assert self.states() == Counter({"sent": AGENTS * PER_AGENT})


@pytest.fixture
def team(sqlite_url: str, sandbox: SlackSandbox) -> Iterator[Team]:
    clock = ManualClock(FRIDAY_10_UTC)
    deps = dispatcher_deps(sqlite_url, sandbox, clock)
    users = [f"U0FAIL{n:02d}" for n in range(AGENTS)]
    for n, user in enumerate(users):
        sandbox.add_user(user, name=f"agent{n}", email=f"agent{n}@example.com")
    sandbox.add_channel("C0TRIAGE", "triage")
    with deps.session_factory.begin() as session:
        for n in range(AGENTS * PER_AGENT):
            closed = ClosedCase(
                source="generic",
                external_id=f"FAIL-{n}",
                subject=f"Invoice question number {n}",
                resolution="Corrected the invoice and explained the proration",
                closed_at=FRIDAY_10_UTC,
                owner_slack_id=users[n % AGENTS],
            )
            accept_case(session, deps, closed, actor="test", surface="test")
    with deps.session_factory() as session:
        followup_ids = list(session.scalars(select(FollowUp.id)))
    assert len(followup_ids) == AGENTS * PER_AGENT
    clock.set(MONDAY_10_UTC)
    yield Team(sandbox, deps, clock, followup_ids, users)
    deps.engine.dispose()


def statuses(sandbox: SlackSandbox, method: str) -> Counter[int]:
    return Counter(call.status for call in sandbox.calls_to(method))


def test_429_with_retry_after_on_half_the_calls_loses_nothing_and_sends_nothing_twice(
    team: Team,
) -> None:
    # Agents whose profile and DM channel are known (as after their first DM): each delivery
    # is one chat.postMessage. Every Web API method answers every other call 429 with
    # Retry-After: 1, so about half the DMs are refused once or more and retried.
    for agent_id in team.agent_ids():
        ensure_profile(team.deps, agent_id)
    team.sandbox.reset_calls()
    team.sandbox.fail_every(every=2, status=429, error="ratelimited", retry_after=1)
    started = time.monotonic()
    reports = team.dispatch_until_done()
    elapsed = time.monotonic() - started
    team.assert_each_delivered_exactly_once()
    posts = statuses(team.sandbox, "chat.postMessage")
    assert posts[429] >= AGENTS // 2 and posts[200] == AGENTS, posts
    assert sum(r.delivered for r in reports) == AGENTS * PER_AGENT
    # Each refused DM waited out its Retry-After before it was sent again.
    calls = team.sandbox.calls_to("chat.postMessage")
    for refused in (c for c in calls if c.status == 429):
        again = [c for c in calls if c.args["channel"] == refused.args["channel"]]
        later = [c.time for c in again if c.time > refused.time]
        assert later and min(later) - refused.time >= 1.0
    assert elapsed >= 1.0


def test_5xx_answers_are_retried_and_a_delivery_that_gives_up_comes_back_once(
    team: Team,
) -> None:
    # Every other users.info answers 500 (retried by the client), and
    # the first three DMs answer 503: a DM is never blindly re-posted (Slack may have posted
    # it), so those deliveries are released and come back on a later pass, checked against
    # the DM history first.
    team.sandbox.fail_every("users.info", every=2, status=500, error="internal_error")
    team.sandbox.fail_next("chat.postMessage", times=3, status=503, error="service_unavailable")
    reports = team.dispatch_until_done()
    team.assert_each_delivered_exactly_once()
    assert reports[0].failed == 3 * PER_AGENT, reports[0].summary()
    assert sum(r.delivered for r in reports) == AGENTS * PER_AGENT
    assert statuses(team.sandbox, "chat.postMessage") == Counter({503: 3, 200: AGENTS})
    assert statuses(team.sandbox, "users.info")[500] >= AGENTS // 2


def test_a_5xx_after_slack_posted_the_dm_does_not_post_it_again(team: Team) -> None:
    # Slack posted two DMs but their answers were lost behind a 503 (or a dropped connection):
    # the client must not re-post them; the next pass finds them in the DM history.
    team.sandbox.fail_next(
        "chat.postMessage", times=2, status=503, error="service_unavailable", after=True
    )
    reports = team.dispatch_until_done()
    team.assert_each_delivered_exactly_once()
    assert sum(r.reconciled for r in reports) == 2 * PER_AGENT
    assert len(team.sandbox.calls_to("chat.postMessage")) == AGENTS


def test_calls_slower_than_the_clients_timeout_are_reconciled_not_resent(team: Team) -> None:
    team.deps.client.timeout = 1
    # Two DMs are posted only after 1.5 s: the client gives up after 1 s, but Slack posts them.
    team.sandbox.fail_next("chat.postMessage", times=2, status=None, error=None, delay=1.5)
    # And a slow users.info: that agent's delivery fails before any DM and is simply retried.
    team.sandbox.fail_next("users.info", times=1, status=None, error=None, delay=1.5)
    first = dispatch_pass(team.deps, threads=AGENTS)
    assert first.failed == 3 * PER_AGENT, first.summary()
    # Let the slow posts land, as they would long before the retry 2 minutes later.
    assert wait_for(lambda: len(team.nudged()) == (AGENTS - 1) * PER_AGENT, timeout=5)
    team.clock.advance(timedelta(minutes=3))
    second = dispatch_pass(team.deps, threads=AGENTS)
    assert (second.reconciled, second.delivered) == (2 * PER_AGENT, PER_AGENT), second.summary()
    team.assert_each_delivered_exactly_once()


# -- acknowledgements while Slack is failing ---------------------------------------------------


@pytest.fixture
def nudged(bot: Any) -> dict[str, Any]:
    """One case DMed to Ada on Monday at 10:00 UTC, before Slack starts failing."""
    return nudge(bot, case_id="SF-1")


def timed(action: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = action()
    return response, time.monotonic() - started


def click(bot: Any, nudged: dict[str, Any]) -> tuple[Any, float]:
    return timed(
        lambda: bot.driver.block_action_from_message(
            "U0AGENT", nudged["channel"], nudged["ts"], ids.ACTION_FOLLOWED_UP, str(nudged["id"])
        )
    )


def ephemeral_texts(bot: Any) -> list[str]:
    """What the agent sees of each ephemeral message: its text and blocks, not its ts."""
    return [
        json.dumps({"text": e.get("text"), "blocks": e.get("blocks")})
        for e in bot.sandbox.ephemeral("U0AGENT")
    ]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 503, "error": "service_unavailable"}, id="5xx"),
        pytest.param({"status": None, "error": None, "delay": 2.0}, id="timeout"),
    ],
)
def test_a_click_is_acknowledged_and_answered_kindly_while_the_web_api_fails(
    bot: Any, nudged: dict[str, Any], failure: dict[str, Any]
) -> None:
    bot.deps.client.timeout = 1  # the same client object the Bolt app uses
    bot.sandbox.fail_every(every=1, **failure)
    response, took = click(bot, nudged)
    assert response.status == 200 and took < ACK_DEADLINE, (response.status, took)
    # The modal could not open: the user is told so in friendly words, and nothing else.
    shown = wait_for(lambda: [t for t in ephemeral_texts(bot) if "Sorry" in t], timeout=8)
    assert shown, "the user heard nothing after the click"
    assert json.dumps(FRIENDLY_ERROR)[1:-1] in shown[-1]
    for word in ("Traceback", "SlackApiError", "Timeout", "503", "service_unavailable"):
        assert word not in shown[-1]
    wait_idle(bot)
    assert bot.sandbox.views("U0AGENT", open_only=True) == []


def test_a_click_opens_its_modal_when_half_the_calls_are_rate_limited(
    bot: Any, nudged: dict[str, Any]
) -> None:
    bot.sandbox.fail_every(every=2, status=429, error="ratelimited", retry_after=1)
    response, took = click(bot, nudged)
    assert response.status == 200 and took < ACK_DEADLINE, (response.status, took)
    # views.open was refused once, waited out Retry-After and opened within the trigger's life.
    opened = wait_for(lambda: bot.sandbox.views("U0AGENT", open_only=True), timeout=5)
    assert [v["callback_id"] for v in opened] == [ids.VIEW_OUTCOME]
    assert statuses(bot.sandbox, "views.open") == Counter({429: 1, 200: 1})
    refused, opened_at = (call.time for call in bot.sandbox.calls_to("views.open"))
    assert opened_at - refused >= 0.95, "the listener's client retried before Retry-After"


@pytest.mark.parametrize("text", ["due", "stats", "help"])
def test_slash_commands_are_acknowledged_and_answered_while_the_web_api_fails(
    bot: Any, nudged: dict[str, Any], text: str
) -> None:
    bot.sandbox.fail_every(every=1, status=503, error="service_unavailable")
    before = len(bot.sandbox.responses)
    response, took = timed(lambda: bot.driver.command("U0AGENT", text))
    assert response.status == 200 and took < ACK_DEADLINE, (response.status, took)
    # The reply goes to the response URL, which works while the Web API does not.
    replies = wait_for(lambda: bot.sandbox.responses[before:], timeout=5)
    assert replies, f"/followup {text} got no reply"
    shown = json.dumps([r.body for r in replies])
    assert "Traceback" not in shown and "service_unavailable" not in shown
    if text == "due":
        assert "Refund missing on the March invoice" in shown


def test_nothing_crashes_when_the_replies_fail_too(
    bot: Any, nudged: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot.sandbox.fail_every(every=1, status=503, error="service_unavailable")
    bot.sandbox.fail_every(RESPONSE_URL, every=1, status=500, error="internal_error")
    with caplog.at_level(logging.WARNING):
        response, took = click(bot, nudged)
        assert response.status == 200 and took < ACK_DEADLINE
        response, took = timed(lambda: bot.driver.command("U0AGENT", "due"))
        assert response.status == 200 and took < ACK_DEADLINE
        wait_idle(bot)  # both listeners are done, their failures logged
    # The refused modal is logged once; the apology that could not be delivered breaks nothing.
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == ["listener failed: SlackApiError"]
    # Once Slack is back, the same click opens the modal.
    bot.sandbox.clear_faults()
    response, took = click(bot, nudged)
    assert response.status == 200 and took < ACK_DEADLINE
    opened = wait_for(lambda: bot.sandbox.views("U0AGENT", open_only=True), timeout=5)
    assert [v["callback_id"] for v in opened] == [ids.VIEW_OUTCOME]
    wait_idle(bot)
    assert bot.sandbox.ephemeral("U0AGENT") == []


def test_a_listener_failing_right_after_its_ack_still_acknowledges(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure within milliseconds of `ack()` (a refused Slack call, a database that is
    down) must not take the acknowledgement back: Slack gets its 200 at once, the user the
    friendly apology."""
    import handlers.commands.followup as command_listener

    def fails_at_once(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(command_listener, "run_command", fails_at_once)
    for _ in range(5):
        response, took = timed(lambda: bot.driver.command("U0AGENT", "due"))
        assert (response.status, response.body) == (200, ""), response
        assert took < 1.0, f"the ack took {took:.2f} s"
    shown = wait_for(lambda: len(bot.sandbox.responses) >= 5 and bot.sandbox.responses)
    assert [r.body["text"] for r in shown] == [FRIENDLY_ERROR] * 5
