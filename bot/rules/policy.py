"""The follow-up policy: which rule fits a closed case, and who follows up when and how.

The policy is a TOML file (the shipped `default_policy.toml` documents every key). Loading
validates all of it; `bot.rules.touch_plan` plans the touches of the rule a case matches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Protocol, TypeVar

from bot.cases import Channel, Kind, Severity
from bot.rules.working_hours import WorkingCalendar

log = logging.getLogger(__name__)
E = TypeVar("E", bound=StrEnum)

DEFAULT_POLICY_FILE = "default_policy.toml"


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the file, the rule and the field."""


class Role(StrEnum):
    OWNER = "owner"
    ACCOUNT_MANAGER = "account_manager"
    LEAD = "lead"


class TouchChannel(StrEnum):
    SAME = "same"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"


class CaseFacts(Protocol):
    """What matching needs from a case; a `ClosedCase` has all of it."""

    @property
    def kind(self) -> Kind: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def b2b(self) -> bool: ...
    @property
    def senior_involved(self) -> bool: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def team(self) -> str | None: ...


@dataclass(frozen=True)
class Duration:
    """An offset after close as written in the file ("72h", "30d", "1d12h")."""

    text: str
    delta: timedelta

    def words(self) -> str:
        """ "72 hours", "30 days", "1 day 12 hours"."""
        units = {"w": "week", "d": "day", "h": "hour", "m": "minute"}
        parts = []
        for number, unit in _DURATION_PART.findall(self.text):
            count = int(number)
            parts.append(f"{count} {units[unit]}{'' if count == 1 else 's'}")
        return " ".join(parts)


_DURATION = re.compile(r"^(\d+[wdhm])+$")
_DURATION_PART = re.compile(r"(\d+)([wdhm])")
_UNIT = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def quoted(value: object) -> str:
    """A value as TOML would write it, for messages: "soon", 3, true."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def parse_duration(text: str) -> Duration:
    """A duration like 48h, 30d, 2w, 90m or 1d12h; ValueError otherwise."""
    compact = text.strip().lower() if isinstance(text, str) else ""
    if not _DURATION.match(compact):
        raise ValueError(f"expected a duration like 48h or 30d, got {quoted(text)}")
    delta = timedelta()
    for number, unit in _DURATION_PART.findall(compact):
        delta += int(number) * _UNIT[unit]
    return Duration(compact, delta)


@dataclass(frozen=True)
class Touch:
    """One follow-up a rule asks for."""

    after: Duration
    who: Role
    channel: TouchChannel
    template: str
    automated_ok: bool


@dataclass(frozen=True)
class Overdue:
    """When an undone touch is nudged again, raised to the lead, and counted as missed."""

    remind_after_working_hours: float = 4
    lead_after_working_hours: float = 16
    missed_after_days: float = 7

    @cached_property
    def missed_after(self) -> timedelta:
        """`missed_after_days` as a span (built once: every planned touch adds it)."""
        return timedelta(days=self.missed_after_days)


@dataclass(frozen=True)
class Conditions:
    """A rule's `match` table; None means "any"."""

    kind: frozenset[Kind] | None = None
    severity: frozenset[Severity] | None = None
    channel: frozenset[Channel] | None = None
    b2b: bool | None = None
    senior_involved: bool | None = None
    tags_any: frozenset[str] | None = None
    team: frozenset[str] | None = None

    @property
    def is_catch_all(self) -> bool:
        return all(getattr(self, name) is None for name in MATCH_KEYS)


@dataclass(frozen=True)
class Rule:
    index: int
    """1-based position in the file."""
    name: str
    description: str
    conditions: Conditions
    touches: tuple[Touch, ...]
    public_review: bool
    referral: bool
    overdue: Overdue
    priority: int = 0

    @property
    def label(self) -> str:
        return f'rule {self.index} "{self.name}"'


@dataclass(frozen=True)
class Match:
    """The rule that decides for a case, and in plain words why (and why earlier ones did not)."""

    rule: Rule
    reasons: list[str]


@dataclass(frozen=True)
class Policy:
    source: str
    """The file it came from, as named in error messages."""
    rules: tuple[Rule, ...]
    calendar: WorkingCalendar
    """The team calendar, for anyone whose own calendar is unknown."""
    overdue: Overdue = Overdue()
    review_once_per_days: int = 90
    batch_cap: int = 5
    no_reply_retry_hours: float = 72
    root_causes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def match(self, case: CaseFacts) -> Match:
        """The first rule whose conditions all hold for `case`; PolicyError when none does."""
        reasons: list[str] = []
        for rule in self.rules:
            fits, why = _evaluate(rule.conditions, case)
            if fits:
                reasons.append(f"{rule.label} matches: {why}")
                return Match(rule, reasons)
            reasons.append(f"{rule.label} does not: {why}")
        raise PolicyError(
            f"{self.source}: no rule matches a case with {describe_case(case)}; "
            "add a final catch-all rule (one with no match conditions)"
        )


# --- matching ---------------------------------------------------------------------------------

MATCH_KEYS = ("kind", "severity", "channel", "b2b", "senior_involved", "tags_any", "team")


def _one_of(values: Iterable[str]) -> str:
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else "one of " + ", ".join(ordered)


def _evaluate(conditions: Conditions, case: CaseFacts) -> tuple[bool, str]:
    """Whether all conditions hold; the words say which held, or the first that failed."""
    held: list[str] = []
    for name, wanted in (
        ("kind", conditions.kind),
        ("severity", conditions.severity),
        ("channel", conditions.channel),
    ):
        if wanted is None:
            continue
        actual = str(getattr(case, name))
        if actual not in wanted:
            return False, f"{name} is {actual}, not {_one_of(wanted)}"
        held.append(f"{name} is {actual}")
    for name, yes, no in (
        ("b2b", "a B2B account", "not a B2B account"),
        ("senior_involved", "senior staff were involved", "no senior involvement"),
    ):
        flag = getattr(conditions, name)
        if flag is None:
            continue
        actual_flag = bool(getattr(case, name))
        if actual_flag != flag:
            return False, yes if actual_flag else no
        held.append(yes if actual_flag else no)
    if conditions.tags_any is not None:
        tags = {tag.casefold() for tag in case.tags}
        found = sorted(tags & conditions.tags_any)
        if not found:
            return False, f"no tag among {', '.join(sorted(conditions.tags_any))}"
        held.append(f"tagged {', '.join(found)}")
    if conditions.team is not None:
        team = case.team.casefold() if case.team else None
        if team not in conditions.team:
            return False, f"team is {case.team or 'not set'}, not {_one_of(conditions.team)}"
        held.append(f"team is {case.team}")
    return True, "; ".join(held) if held else "no conditions (catch-all)"


def describe_case(case: CaseFacts) -> str:
    """The facts rules look at, in one line."""
    parts = [f"kind {case.kind}", f"severity {case.severity}", f"channel {case.channel}"]
    parts.append("B2B" if case.b2b else "not B2B")
    parts.append("senior involvement" if case.senior_involved else "no senior involvement")
    parts.append(f"team {case.team}" if case.team else "no team")
    parts.append(f"tags {', '.join(case.tags)}" if case.tags else "no tags")
    return ", ".join(parts)
