"""The Web API pacer: Retry-After honoured by every caller, then the rate Slack takes."""

from __future__ import annotations

import math

import pytest

from bot.slack.pacing import FORGET_AFTER, Pacer, _sustained

POST = "chat.postMessage"


class FakeTime:
    """A monotonic clock that moves only when the pacer sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept += seconds
        self.now += seconds


class TokenBucketSlack:
    """Slack's limit as the sandbox models it: `rate` calls a second, bursts of `burst`."""

    def __init__(self, clock: FakeTime, rate: float, burst: int) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens, self.updated = float(burst), clock.now
        self.refused = 0

    def call(self) -> float | None:
        """None when accepted, else Retry-After (whole seconds, as Slack sends)."""
        now = self.clock.now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        self.refused += 1
        return float(max(1, math.ceil((1 - self.tokens) / self.rate)))


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def pacer(clock: FakeTime) -> Pacer:
    return Pacer(monotonic=clock.monotonic, sleep=clock.sleep)


def send(pacer: Pacer, slack: TokenBucketSlack, calls: int, spacing: float = 0.001) -> None:
    """One caller making `calls` calls that succeed, each retried after a 429 as slack-sdk does;
    `spacing` is the caller's own time per call."""
    for _ in range(calls):
        while True:
            pacer.wait_turn(POST)
            retry_after = slack.call()
            slack.clock.now += spacing
            if retry_after is None:
                pacer.accepted(POST)
                break
            pacer.limited(POST, retry_after)


def test_a_method_slack_never_refused_is_never_held_back(pacer: Pacer, clock: FakeTime) -> None:
    for _ in range(1000):
        pacer.wait_turn(POST)
        pacer.accepted(POST)
    assert clock.slept == 0
    assert pacer.rate(POST) is None


def test_a_429_closes_the_method_for_retry_after_and_leaves_other_methods_open(
    pacer: Pacer, clock: FakeTime
) -> None:
    pacer.wait_turn(POST)
    pacer.limited(POST, 3.0)
    pacer.wait_turn("users.info")
    assert clock.slept == 0
    pacer.wait_turn(POST)
    assert clock.slept == pytest.approx(3.0, abs=0.06)


def test_refusals_of_calls_already_on_their_way_belong_to_the_same_429(
    pacer: Pacer, clock: FakeTime
) -> None:
    for _ in range(20):
        pacer.wait_turn(POST)
        pacer.accepted(POST)
    pacer.limited(POST, 1.0)
    rate = pacer.rate(POST)
    clock.now += 0.5
    pacer.limited(POST, 1.0)  # sent before the gate closed, answered inside it
    assert pacer.rate(POST) == rate
    pacer.wait_turn(POST)
    # It was told to wait a second too: the gate stays shut a second after it.
    assert clock.slept == pytest.approx(1.0, abs=0.06)


def test_the_first_rate_is_what_slack_took_before_refusing_spread_over_a_second(
    pacer: Pacer, clock: FakeTime
) -> None:
    for _ in range(30):
        pacer.wait_turn(POST)
        pacer.accepted(POST)
        clock.now += 0.01
    pacer.limited(POST, 1.0)
    assert pacer.rate(POST) == pytest.approx(30.0)


def test_a_later_429_sets_the_rate_to_slacks_sustained_rate(pacer: Pacer, clock: FakeTime) -> None:
    slack = TokenBucketSlack(clock, rate=40, burst=10)
    send(pacer, slack, 400)
    # Learned from the refusals: neither the first burst nor the doubling overshoot.
    assert pacer.rate(POST) == pytest.approx(40, rel=0.06)


def test_after_the_first_429_the_rate_doubles_every_quarter_second_callers_wait(
    pacer: Pacer, clock: FakeTime
) -> None:
    for _ in range(10):
        pacer.wait_turn(POST)
        pacer.accepted(POST)
    pacer.limited(POST, 1.0)
    assert pacer.rate(POST) == 10
    while clock.now < 1001.0 + 1.1:  # the gate, then a second of callers queueing
        pacer.wait_turn(POST)
        pacer.accepted(POST)
    assert pacer.rate(POST) == 10 * 2**4


def test_past_the_ceiling_the_rate_only_probes_a_percent_every_five_seconds(
    pacer: Pacer, clock: FakeTime
) -> None:
    slack = TokenBucketSlack(clock, rate=40, burst=10)
    send(pacer, slack, 150)
    ceiling = pacer.ceiling(POST)
    assert ceiling < math.inf
    slack.rate = 10_000  # Slack lets more through now: nothing refused from here on
    started = clock.now
    while clock.now < started + 30:
        pacer.wait_turn(POST)
        pacer.accepted(POST)
    rate = pacer.rate(POST)
    assert rate is not None
    # Up to the ceiling (ten percent a second), then a percent each five seconds at most.
    assert ceiling * 1.01**3 <= rate <= ceiling * 1.01**6


def test_the_bounds_from_one_run_contain_slacks_rate() -> None:
    # Paced at 30/s for 2 s (under a 40/s limit: the allowance of 10 stays full), then at 80/s:
    # refused when the allowance ran out, 10 / (80 - 40) = 0.25 s later.
    marks = [(0.0, 0), (2.0, 60)]
    low, high = _sustained(marks, accepted=60 + 10 + 10, allowance=10, now=2.25)
    assert low == pytest.approx(40) and high == pytest.approx(80)
    # With the first burst counted a little high (it included some refill), the low bound
    # errs low, never high.
    low, _ = _sustained(marks, accepted=80, allowance=12, now=2.25)
    assert low < 40


def test_a_429_before_any_call_got_through_keeps_the_rate(pacer: Pacer, clock: FakeTime) -> None:
    slack = TokenBucketSlack(clock, rate=40, burst=10)
    send(pacer, slack, 200)
    pacer.wait_turn(POST)
    pacer.limited(POST, 1.0)
    rate = pacer.rate(POST)
    for _ in range(5):  # Slack keeps refusing right after each Retry-After
        pacer.wait_turn(POST)
        pacer.limited(POST, 1.0)
    assert pacer.rate(POST) == rate


def test_a_method_nobody_waited_on_for_a_minute_is_unpaced_again(
    pacer: Pacer, clock: FakeTime
) -> None:
    slack = TokenBucketSlack(clock, rate=40, burst=10)
    send(pacer, slack, 200)
    assert pacer.rate(POST) is not None
    clock.now += FORGET_AFTER + 1
    pacer.wait_turn(POST)
    assert pacer.rate(POST) is None


@pytest.mark.parametrize(("rate", "burst"), [(40, 10), (20, 5), (100, 20)])
def test_a_long_run_under_a_limit_takes_within_a_tenth_of_the_ideal_time(
    pacer: Pacer, clock: FakeTime, rate: float, burst: int
) -> None:
    slack = TokenBucketSlack(clock, rate=rate, burst=burst)
    calls = int(rate * 60)  # a minute's worth at the limit
    started = clock.now
    send(pacer, slack, calls)
    assert clock.now - started <= 1.1 * calls / rate
    # Honouring Retry-After costs a second each time: the limit is learned in a handful.
    distinct_429s = slack.refused
    assert distinct_429s <= 8
