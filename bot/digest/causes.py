"""What keeps breaking: root causes followed across weeks, and the quotes that illustrate them.

Trend rule, over TREND_WEEKS (8) weeks ending with the digest's week, split into the earlier
four and the recent four:

- new: named in the recent four weeks and never in the earlier four;
- rising: recent at least 1.5 times earlier and at least 2 more;
- fading: recent at most half of earlier and at least 2 fewer, or gone from the recent four;
- steady: anything else.

"Keeps coming back": named in at least COMES_BACK_WEEKS (3) of the last four weeks.

Quotes: "what we should change" (`Outcome.insight`) first, then what the customer said; never
a thanks ("Works now, thanks!", "M fits, thanks."), never shorter than MIN_QUOTE characters,
never one shown in last week's digest (its row's `summary["quotes"]`); longer ones first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

TREND_WEEKS = 8
RECENT_WEEKS = 4
COMES_BACK_WEEKS = 3
RISING_FACTOR = 1.5
MIN_SHIFT = 2
MIN_QUOTE = 25
CANDIDATES = 12
_WORD = re.compile(r"[a-z']+")
_THANKS = frozenset(
    [
        "thanks",
        "thank",
        "thx",
        "ty",
        "cheers",
        "great",
        "works",
        "worked",
        "fixed",
        "sorted",
        "working",
        "no",
        "problem",
        "problems",
        "issue",
        "issues",
        "on",
        "our",
        "side",
        "perfect",
        "fine",
        "good",
        "ok",
        "okay",
        "all",
        "now",
        "it",
        "is",
        "its",
        "it's",
        "that's",
        "thats",
        "everything",
        "all",
        "set",
        "yes",
        "yep",
        "fits",
        "fit",
        "awesome",
        "brilliant",
        "lovely",
        "appreciated",
        "much",
        "so",
        "very",
        "you",
        "guys",
        "team",
    ]
)


@dataclass(frozen=True)
class CauseTrend:
    """One root cause over the weeks (oldest first) and what its trend is called."""

    name: str
    weekly: tuple[int, ...]
    status: str

    @property
    def total(self) -> int:
        return sum(self.weekly)

    @property
    def this_week(self) -> int:
        return self.weekly[-1]

    @property
    def keeps_coming_back(self) -> bool:
        return sum(1 for n in self.weekly[-RECENT_WEEKS:] if n) >= COMES_BACK_WEEKS


def trend_status(weekly: Sequence[int]) -> str:
    """new, rising, steady or fading (the rule in the module docstring)."""
    recent = sum(weekly[-RECENT_WEEKS:])
    earlier = sum(weekly[:-RECENT_WEEKS])
    if earlier == 0:
        return "new" if recent else "steady"
    if recent == 0:
        return "fading"  # gone from the last four weeks, however few it was before
    if recent >= earlier * RISING_FACTOR and recent - earlier >= MIN_SHIFT:
        return "rising"
    if recent * 2 <= earlier and earlier - recent >= MIN_SHIFT:
        return "fading"
    return "steady"


def cause_trends(weekly: dict[str, list[int]]) -> list[CauseTrend]:
    """Every cause named in the weeks: this week's most frequent first, then the recent."""
    trends = [CauseTrend(name, tuple(n), trend_status(n)) for name, n in weekly.items()]
    return sorted(
        trends,
        key=lambda t: (-t.this_week, -sum(t.weekly[-RECENT_WEEKS:]), -t.total, t.name),
    )


_NOT_SETTLED = re.compile(r"\b(not|never|still|broken|again|worse)\b|n't\b")
"""Words that say something is wrong: a text with one is never taken for a thanks."""


def is_thanks(text: str) -> bool:
    """A thank-you or "it works" that teaches nothing: only such words, or nearly, and
    nothing saying something is still wrong ("It is not working again on our side")."""
    lowered = text.lower()
    if _NOT_SETTLED.search(lowered):
        return False
    words = _WORD.findall(lowered)
    other = [w for w in words if w not in _THANKS]
    return len(other) <= 1 and len(words) <= 8


def usable(text: str, shown_before: Collection[str]) -> bool:
    flat = " ".join(text.split())
    return len(flat) >= MIN_QUOTE and not is_thanks(flat) and flat not in shown_before


def choose_quotes(
    insights: Sequence[str], said: Sequence[str], shown_before: Collection[str], wanted: int
) -> list[str]:
    """Up to `wanted` quotes: insights first, then customers' words, each longest first."""
    chosen: list[str] = []
    for text in [*insights, *said]:
        flat = " ".join(text.split())
        if len(chosen) < wanted and usable(flat, shown_before) and flat not in chosen:
            chosen.append(flat)
    return chosen
