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

    def take(self, now: float) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimits:
    """Token buckets per Web API method; methods without one are unlimited."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}

    def set(self, method: str, per_second: float, burst: int = 1) -> None:
        """Limit `method` to `per_second` calls with bursts of `burst`, starting full."""
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        self._buckets[method] = TokenBucket(per_second, burst, float(burst), self._monotonic())

    def clear(self) -> None:
        """Remove every limit."""
        self._buckets.clear()

    def retry_after(self, method: str) -> int | None:
        """None when the call may go ahead, else the whole seconds for `Retry-After`."""
        bucket = self._buckets.get(method)
        if bucket is None:
            return None
        wait = bucket.take(self._monotonic())
        # Slack sends whole seconds; rounding up keeps a client that honours it from
        # arriving before a token is back.
        return None if wait == 0 else max(1, math.ceil(wait))


@dataclass
class Fault:
    """One planned failure: an HTTP status (None means 200), a Slack error, a delay."""

    status: int | None
    error: str | None
    delay: float


class Faults:
    """Queued failures per method, consumed one per call."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}

    def add(self, method: str, fault: Fault, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with `fault`."""
        self._queued.setdefault(method, []).extend([fault] * times)

    def pop(self, method: str) -> Fault | None:
        """The next fault for `method`, if one is queued."""
        queue = self._queued.get(method)
        return queue.pop(0) if queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queued.clear()
