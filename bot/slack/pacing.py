"""Process-wide pacing of Web API calls once Slack has answered 429.

Slack's rule is per method and workspace: after a 429, wait `Retry-After` seconds before calling
that method again, and an app that keeps calling while limited risks being disabled. slack-sdk's
`RateLimitErrorRetryHandler` waits only in the thread that got the 429 (plus up to a second of
jitter): the other threads go on calling into the limit, and each learns of it from its own 429
while Slack's allowance goes unused.

Here every thread calling a method shares one `_Pace`:

- **Gate**: a 429 closes the method for `Retry-After` seconds, for every thread of the process.
  Refusals of calls already on their way belong to the same 429 (each still keeps the gate
  shut for its own `Retry-After`); a 429 before any call got through again only closes the
  gate again.
- **Slow start**: after the first 429 the method is paced, first at what Slack took before
  refusing (spread over a second at least), doubling every quarter second callers wait.
- **Estimate**: the next 429 says how far over the limit that was. Slack's limits are an
  allowance `A` refilled at `R` calls a second: over-driven from a full allowance for `T`
  seconds, Slack takes `A + R * T` calls. What it took bounds `R` from both sides
  (`_sustained`): the rate restarts a little under the low bound; when the run was short and
  the bounds far apart, it may ramp (ten percent a second while callers wait) a quarter
  higher. Counting what Slack took, not what we meant to send, keeps the bounds right when
  the callers could not keep up with their rate.
- **Probe**: above that, one percent more every five seconds callers wait, so a limit that rose
  is found again. A method nobody waited on for a minute is unpaced again.

How close this comes to the ideal N/R is in docs/performance.md. Times come from an injected
monotonic clock and sleep, so tests drive it without waiting.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("followup.slack")

SLOW_START_FACTOR = 2.0
SLOW_START_EVERY = 0.25
RAMP_FACTOR = 1.1
RAMP_EVERY = 1.0
MARGIN = 0.97
"""The pace is set this far under the estimate: calls leave unevenly, and each 429 costs every
caller a whole `Retry-After`."""
UNSURE = 0.25
ROOM = 1.25
"""How far above the low bound an unsure estimate lets the rate ramp."""
"""Bounds further apart than this share of the estimate leave room to ramp up."""
PROBE_FACTOR = 1.01
PROBE_EVERY = 5.0
FORGET_AFTER = 60.0
LOOK_AGAIN = 0.05
"""Seconds a caller waiting for its turn sleeps at most before looking again."""
MIN_RATE = 0.2
"""Calls per second: one every five seconds, the slowest Slack's tiers ask for."""


@dataclass
class _Pace:
    """What this process knows of one method's limit."""

    rate: float | None = None
    """Calls per second; None until the first 429 (and again after a quiet minute)."""
    ceiling: float = math.inf
    """The high bound of Slack's sustained rate at the last 429 (none until the second):
    below it the rate ramps, above it the rate only probes; until then it doubles."""
    burst: int = 0
    """Calls Slack accepted before its first 429: its allowance (and a little it refilled)."""
    gate_until: float = 0.0
    last_turn: float = -math.inf
    changed_at: float = 0.0
    waited_at: float = -math.inf
    """When a caller last had to wait for its slot (the rate, not the caller, was the bound)."""
    first_call: float | None = None
    accepted: int = 0
    """Calls accepted so far (before the first 429: the first burst)."""
    marks: list[tuple[float, int]] = field(default_factory=list)
    """(when, `accepted` then) at the gate's end and at each rate change since: the moments
    the over-driving that led to the next 429 may have started from a full allowance."""


class Pacer:
    """Gates and rates per Web API method, shared by every thread of the process."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._paces: dict[str, _Pace] = {}

    def rate(self, method: str) -> float | None:
        """The current pace of `method` in calls per second (None: unpaced)."""
        with self._lock:
            pace = self._paces.get(method)
            return pace.rate if pace else None

    def ceiling(self, method: str) -> float:
        """Where ramping up stops and probing starts (infinite until the second 429)."""
        with self._lock:
            pace = self._paces.get(method)
            return pace.ceiling if pace else math.inf

    def wait_turn(self, method: str) -> None:
        """Block until `method` may be called: its gate open and, when paced, its turn come.

        Turns are not booked ahead: a waiting caller looks again at least every
        `LOOK_AGAIN` seconds, so a rate that changes (or a gate that closes) meanwhile
        applies to it at once.
        """
        while True:
            with self._lock:
                now = self._monotonic()
                pace = self._paces.setdefault(method, _Pace())
                if pace.first_call is None:
                    pace.first_call = now
                wait = pace.gate_until - now
                if wait <= 0 and pace.rate is not None:
                    self._adapt(pace, now)
                if wait <= 0 and pace.rate is not None:
                    turn = pace.last_turn + 1.0 / pace.rate
                    wait = turn - now
                    if wait <= 0:
                        # After a lull, no saved-up turns: the next one is a full interval on.
                        pace.last_turn = max(turn, now - 1.0 / pace.rate)
                    else:
                        pace.waited_at = now
                if wait <= 0:
                    return
            self._sleep(min(wait, LOOK_AGAIN))

    def accepted(self, method: str) -> None:
        """Slack answered `method` with something other than 429."""
        with self._lock:
            self._paces.setdefault(method, _Pace()).accepted += 1

    def limited(self, method: str, retry_after: float) -> None:
        """Slack answered `method` with 429 and `Retry-After: retry_after`."""
        with self._lock:
            now = self._monotonic()
            pace = self._paces.setdefault(method, _Pace())
            if now < pace.gate_until:
                # A call sent before the gate closed: the same 429 as far as the rate goes,
                # but Slack told this call to wait too.
                pace.gate_until = max(pace.gate_until, now + max(0.0, retry_after))
                pace.changed_at = max(pace.changed_at, pace.gate_until)
                pace.marks = [(pace.gate_until, pace.accepted)]
                if pace.rate is not None:
                    pace.last_turn = max(pace.last_turn, pace.gate_until - 1.0 / pace.rate)
                return
            if pace.rate is None:
                # A refused call can be counted before an accepted one still on its way back.
                pace.burst = max(1, pace.accepted)
                # Nothing is known of the sustained rate yet: start from what Slack took in
                # the first second (at least), and slow-start from there.
                took = now - (pace.first_call or now)
                pace.rate = max(MIN_RATE, pace.burst / max(1.0, took))
                pace.ceiling = math.inf
            elif not pace.marks or pace.accepted == pace.marks[0][1]:
                pass  # refused again before any call got through: the rate is not in question
            else:
                low, high = _sustained(pace.marks, pace.accepted, pace.burst, now)
                # Always below the refused rate; never below a quarter of it (one 429 right
                # after a change says little).
                refused = pace.rate
                pace.rate = max(MIN_RATE, refused * 0.25, min(refused * 0.98, low * MARGIN))
                # After a short run the bounds are far apart and the limit may be well above
                # the low one: room to ramp. After a long run, none.
                room = pace.rate * ROOM if high - low > UNSURE * low else pace.rate
                pace.ceiling = max(pace.rate, min(refused * 0.98, high * 0.98, room))
            log.info(
                "Slack rate-limited %s: every caller waits %.1f s, then %.1f calls/s",
                method,
                retry_after,
                pace.rate,
            )
            pace.gate_until = now + max(0.0, retry_after)
            pace.last_turn = pace.gate_until - 1.0 / pace.rate
            pace.changed_at = pace.gate_until
            pace.marks = [(pace.gate_until, pace.accepted)]

    def _adapt(self, pace: _Pace, now: float) -> None:
        """Raise the rate while callers wait for it; forget it after a quiet minute."""
        assert pace.rate is not None
        if now < pace.gate_until:
            return
        if now - max(pace.waited_at, pace.changed_at) > FORGET_AFTER:
            pace.rate, pace.ceiling, pace.accepted, pace.first_call = None, math.inf, 0, now
            pace.marks = []
            return
        if pace.waited_at < pace.changed_at:
            return  # nobody waited since the last change: the rate is not what holds us back
        if pace.ceiling == math.inf:
            if now - pace.changed_at >= SLOW_START_EVERY:
                pace.rate *= SLOW_START_FACTOR
                pace.changed_at = now
                pace.marks.append((now, pace.accepted))
        elif pace.rate < pace.ceiling:
            if now - pace.changed_at >= RAMP_EVERY:
                pace.rate = min(pace.ceiling, pace.rate * RAMP_FACTOR)
                pace.changed_at = now
                pace.marks.append((now, pace.accepted))
        elif now - pace.changed_at >= PROBE_EVERY:
            pace.rate *= PROBE_FACTOR
            pace.changed_at = now
            pace.marks.append((now, pace.accepted))


def _sustained(
    marks: list[tuple[float, int]], accepted: int, allowance: int, now: float
) -> tuple[float, float]:
    """Bounds on Slack's sustained rate `R`, from what it took since each mark up to its 429.

    Over-driven from a full allowance `A` for `T` seconds, Slack takes `A + R * T` calls. From
    the moment the over-driving began, `(taken - A) / T` is `R`; from any other mark it is less
    (before it, calls sent below the limit count for less than `R`; after it, the allowance was
    partly spent). So the largest is the estimate; taking `A` as the first burst, which may
    include some refill, it errs low. `taken / T` at that mark errs high by `A / T`: together
    they bound `R`, closely after a long run, loosely after a short one.
    """
    low = high = 0.0
    for when, before in marks:
        lasted = now - when
        if lasted > 1e-3:
            taken = accepted - before
            low = max(low, (taken - allowance) / lasted)
            high = max(high, taken / lasted)
    return low, high
