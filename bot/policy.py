"""The follow-up policy: which rule fits a closed case, and who follows up when and how.

The policy is a TOML file (the shipped `default_policy.toml` documents every key). Loading
validates all of it; `plan_touches` and `explain` are pure functions of a case, its close
time, the policy and the calendars of the people involved.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.cases import Channel, Kind, Severity
from bot.working_hours import WorkingCalendar

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


CalendarFor = Callable[[str], WorkingCalendar | None]
"""Given a role ("owner", "account_manager", "lead"): that person's calendar, or None."""


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


# --- planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedTouch:
    """One follow-up to schedule: who does it, when it is due, and what happens if it is late."""

    number: int
    rule: str
    nominal_at: datetime
    """Close time plus the touch's offset."""
    due_at: datetime
    """The nominal time moved into the assignee's working hours."""
    role: Role
    """The role that actually does it (the owner when the rule's role has nobody)."""
    requested_role: Role
    fallback: str | None
    """Why the role differs from the rule's (or the team calendar was used), else None."""
    tz: str
    """The assignee's time zone."""
    channel: TouchChannel
    """Resolved: email, phone or chat, never "same"."""
    template: str
    remind_at: datetime
    lead_at: datetime
    missed_at: datetime
    automated_ok: bool
    review_eligible: bool
    referral_eligible: bool
    priority: int
    why: str
    after: Duration


_SAME_CHANNEL = {
    Channel.EMAIL: TouchChannel.EMAIL,
    Channel.PHONE: TouchChannel.PHONE,
    Channel.CHAT: TouchChannel.CHAT,
}
_SEVERITY_WEIGHT = {Severity.LOW: 0, Severity.NORMAL: 10, Severity.HIGH: 20, Severity.URGENT: 30}
_KIND_NOUN = {
    Kind.QUERY: "a query",
    Kind.COMPLAINT: "a complaint",
    Kind.INCIDENT: "an incident",
    Kind.REQUEST: "a request",
}
_ORDINAL = ("first", "second", "third", "fourth", "fifth")


def case_priority(case: CaseFacts, rule: Rule) -> int:
    """Order within a batched DM: higher for urgent, complaints, senior involvement and B2B."""
    priority = _SEVERITY_WEIGHT[Severity(case.severity)] + rule.priority
    if case.kind == Kind.COMPLAINT:
        priority += 15
    if case.senior_involved:
        priority += 10
    if case.b2b:
        priority += 10
    return priority


def may_automate(case: CaseFacts) -> bool:
    """Only routine queries may get an automated check-in, whatever a rule says."""
    return (
        case.kind == Kind.QUERY
        and case.severity in (Severity.LOW, Severity.NORMAL)
        and not case.senior_involved
    )


@lru_cache(maxsize=512)
def _why(number: int, after: Duration, kind: str) -> str:
    if number == 1:
        return f"{after.words()} after {_KIND_NOUN[Kind(kind)]} was closed"
    ordinal = _ORDINAL[number - 1] if number <= len(_ORDINAL) else f"touch {number},"
    return f"{ordinal} check-in, {after.words()} on"


def _assignee(
    wanted: Role, calendar_for: CalendarFor, team: WorkingCalendar
) -> tuple[Role, WorkingCalendar, str | None]:
    if wanted is not Role.OWNER:
        calendar = calendar_for(wanted.value)
        if calendar is not None:
            return wanted, calendar, None
        missing = "account manager" if wanted is Role.ACCOUNT_MANAGER else "lead"
        note = f"no {missing} for this case: the owner does this touch"
    else:
        note = None
    owner = calendar_for(Role.OWNER.value)
    if owner is None:
        extra = "the owner's working hours are unknown: the team calendar is used"
        return Role.OWNER, team, f"{note}; {extra}" if note else extra
    return Role.OWNER, owner, note


@dataclass(frozen=True)
class TouchStep:
    """One touch of the matched rule for one case, before its times are known.

    All of it follows from the rule, the case's facts and who is there to do it, none of it
    from the close time: a backfill plans every case alike from the same steps.
    """

    number: int
    rule: str
    role: Role
    requested_role: Role
    fallback: str | None
    calendar: WorkingCalendar
    """The assignee's calendar (the team's when theirs is unknown)."""
    channel: TouchChannel
    template: str
    automated_ok: bool
    review_eligible: bool
    referral_eligible: bool
    priority: int
    why: str
    after: Duration


def touch_steps(
    case: CaseFacts, rule: Rule, policy: Policy, calendar_for: CalendarFor
) -> list[TouchStep]:
    """The touches `rule` asks for `case`: who, by which channel and template, in what order."""
    priority = case_priority(case, rule)
    automate = may_automate(case)
    steps: list[TouchStep] = []
    for number, touch in enumerate(rule.touches, start=1):
        role, calendar, fallback = _assignee(touch.who, calendar_for, policy.calendar)
        channel = touch.channel
        if channel is TouchChannel.SAME:
            channel = _SAME_CHANNEL.get(Channel(case.channel), TouchChannel.EMAIL)
        steps.append(
            TouchStep(
                number=number,
                rule=rule.name,
                role=role,
                requested_role=touch.who,
                fallback=fallback,
                calendar=calendar,
                channel=channel,
                template=touch.template,
                automated_ok=touch.automated_ok and automate,
                review_eligible=rule.public_review,
                referral_eligible=rule.referral,
                priority=priority,
                why=_why(number, touch.after, str(case.kind)),
                after=touch.after,
            )
        )
    return steps


def touch_times(
    calendar: WorkingCalendar,
    nominal: datetime,
    lead_calendar: WorkingCalendar | None,
    overdue: Overdue,
) -> tuple[datetime, datetime, datetime, datetime]:
    """Due, reminder, lead and missed times of a touch nominally at `nominal` (UTC)."""
    due, remind_at, lead_at = calendar.due_and_later(
        nominal, overdue.remind_after_working_hours, overdue.lead_after_working_hours
    )
    if lead_calendar is not None:  # the lead hears in the lead's own working hours
        lead_at = lead_calendar.next_window_start(lead_at)
    return due, remind_at, lead_at, due + overdue.missed_after


def plan_touches(
    case: CaseFacts,
    closed_at: datetime,
    policy: Policy,
    calendar_for: CalendarFor,
    rule: Rule | None = None,
) -> list[PlannedTouch]:
    """Every touch the matching rule asks for, with due, reminder, lead and missed times.

    `rule` is `policy.match(case).rule` when the caller has already matched the case.
    """
    if closed_at.tzinfo is None or closed_at.utcoffset() is None:
        raise ValueError("closed_at needs a time zone")
    closed_at = closed_at.astimezone(UTC)
    if rule is None:
        rule = policy.match(case).rule
    lead_calendar = calendar_for(Role.LEAD.value)
    planned: list[PlannedTouch] = []
    for step in touch_steps(case, rule, policy, calendar_for):
        nominal = closed_at + step.after.delta
        due, remind_at, lead_at, missed_at = touch_times(
            step.calendar, nominal, lead_calendar, rule.overdue
        )
        planned.append(
            PlannedTouch(
                number=step.number,
                rule=step.rule,
                nominal_at=nominal,
                due_at=due,
                role=step.role,
                requested_role=step.requested_role,
                fallback=step.fallback,
                tz=step.calendar.tz,
                channel=step.channel,
                template=step.template,
                remind_at=remind_at,
                lead_at=lead_at,
                missed_at=missed_at,
                automated_ok=step.automated_ok,
                review_eligible=step.review_eligible,
                referral_eligible=step.referral_eligible,
                priority=step.priority,
                why=step.why,
                after=step.after,
            )
        )
    return planned


def no_reply_retry_at(recorded_at: datetime, policy: Policy, calendar: WorkingCalendar) -> datetime:
    """When the one extra gentle touch after "no reply yet" falls due, in working hours."""
    later = recorded_at + timedelta(hours=policy.no_reply_retry_hours)
    return calendar.next_window_start(later)


def _local(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M} {tz}"


def explain(case: CaseFacts, closed_at: datetime, policy: Policy, calendar_for: CalendarFor) -> str:
    """Which rule matched and why, and each touch's times in the assignee's local time."""
    matched = policy.match(case)
    touches = plan_touches(case, closed_at, policy, calendar_for)
    rule = matched.rule
    lines = [
        f"Case: {describe_case(case)}",
        f"Closed: {_local(closed_at, 'UTC')}",
        f"Policy: {policy.source}",
        f"Rule: {rule.label}" + (f": {rule.description}" if rule.description else ""),
        "Why:",
        *(f"  - {reason}" for reason in matched.reasons),
    ]
    if not touches:
        lines.append("Touches: none (this rule asks for no follow-up)")
    for touch in touches:
        calendar = _calendar_of(touch, calendar_for, policy)
        off = calendar.off_hours_reason(touch.nominal_at)
        short = f"{touch.after.words()} after close"
        timing = (
            f"{short} fell {off}; moved to the start of the next working window"
            if off
            else f"{short}, inside working hours"
        )
        automated = ", may be automated" if touch.automated_ok else ""
        lines += [
            f"Touch {touch.number}: {touch.why}",
            f"  who: {touch.role.value.replace('_', ' ')} by {touch.channel}, "
            f"template {touch.template}{automated}",
            f"  due: {_local(touch.due_at, touch.tz)} ({timing})",
            f"  nominal: {_local(touch.nominal_at, touch.tz)}",
            f"  reminder: {_local(touch.remind_at, touch.tz)}; lead told: "
            f"{_local(touch.lead_at, touch.tz)}; missed from: {_local(touch.missed_at, touch.tz)}",
        ]
        if touch.fallback:
            lines.append(f"  note: {touch.fallback}")
    return "\n".join(lines)


def _calendar_of(touch: PlannedTouch, calendar_for: CalendarFor, policy: Policy) -> WorkingCalendar:
    return calendar_for(touch.role.value) or policy.calendar


def load_policy(path: Path | None = None) -> Policy:
    """The policy in `path` (FOLLOWUP_POLICY), or the shipped default when None."""
    from bot.policy_file import load_policy as load

    return load(path)


def parse_policy(text: str, source: str = "policy.toml") -> Policy:
    """A policy from TOML text; errors name `source`, the rule and the field."""
    from bot.policy_file import parse_policy as parse

    return parse(text, source)
