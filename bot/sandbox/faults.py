"""Rate limits and injected failures for the sandbox's Web API, both per method."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """A token bucket refilled at `per_second`, holding at most `burst` tokens."""

    per_second: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, per_second: float, burst: int, now: float) -> TokenBucket:
        """A bucket holding `burst` tokens at `now`."""
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        return cls(per_second, burst, float(burst), now)

    def wait(self, now: float) -> float:
        """Refill up to `now`; return 0 when a token is there, else the seconds until one is."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        # The tolerance keeps float sums (0.9 + 0.1 tokens) from refusing a client that waited
        # exactly the Retry-After it was given.
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.per_second

    def take(self, now: float) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        wait = self.wait(now)
        if wait == 0:
            self.tokens -= 1
        return wait


def retry_after_seconds(wait: float) -> int:
    """A wait as Slack's `Retry-After`: whole seconds, rounded up, at least 1.

    Rounding up keeps a client that honours it from arriving before a token is back.
    """
    return max(1, math.ceil(wait))


class RateLimits:
    """Token buckets per Web API method; methods without one are unlimited."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}

    def set(self, method: str, per_second: float, burst: int = 1) -> None:
        """Limit `method` to `per_second` calls with bursts of `burst`, starting full."""
        self._buckets[method] = TokenBucket.full(per_second, burst, self._monotonic())

    def clear(self) -> None:
        """Remove every limit."""
        self._buckets.clear()

    def retry_after(self, method: str) -> int | None:
        """None when the call may go ahead, else the whole seconds for `Retry-After`."""
        bucket = self._buckets.get(method)
        if bucket is None:
            return None
        wait = bucket.take(self._monotonic())
        return None if wait == 0 else retry_after_seconds(wait)


@dataclass
class Fault:
    """One planned failure: an HTTP status (None means 200), a Slack error, a delay.

    `retry_after` is the `Retry-After` header sent with a 429. With `after` set the call is
    carried out first (a message is posted) and only the answer fails: Slack did the work but
    the client hears an error, as when a proxy times out in front of it.
    """

    status: int | None
    error: str | None
    delay: float
    retry_after: int = 1
    after: bool = False


@dataclass
class Intermittent:
    """A fault on every `every`-th call of a method, starting with the next one."""

    fault: Fault
    every: int
    seen: int = 0

    def next_fails(self) -> bool:
        fails = self.seen % self.every == 0
        self.seen += 1
        return fails


ANY_METHOD = "*"
"""The method name that makes an intermittent fault apply to every Web API method."""


class Faults:
    """Queued failures per method, consumed one per call, and intermittent ones that keep
    failing a share of the calls (every other one, say) until cleared."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}
        self._intermittent: dict[str, Intermittent] = {}

    def add(self, method: str, fault: Fault, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with `fault`."""
        self._queued.setdefault(method, []).extend([fault] * times)

    def add_every(self, method: str, fault: Fault, every: int = 2) -> None:
        """Fail one call in `every` of `method` (`ANY_METHOD`: of every method, counted per
        method), the next call first: `every=2` fails half the calls, alternately."""
        if every < 1:
            raise ValueError("every must be >= 1")
        self._intermittent[method] = Intermittent(fault, every)

    def pop(self, method: str, *, web_api: bool = True) -> Fault | None:
        """The next fault for `method`: a queued one first, else an intermittent one's turn.

        `ANY_METHOD` faults apply only to Web API methods (`web_api`), not to response URLs.
        """
        queue = self._queued.get(method)
        if queue:
            return queue.pop(0)
        intermittent = self._intermittent.get(method)
        if intermittent is None and web_api and ANY_METHOD in self._intermittent:
            shared = self._intermittent[ANY_METHOD]
            intermittent = self._intermittent[method] = Intermittent(shared.fault, shared.every)
        if intermittent is not None and intermittent.next_fails():
            return intermittent.fault
        return None

    def clear(self) -> None:
        """Drop every queued and intermittent fault."""
        self._queued.clear()
        self._intermittent.clear()
