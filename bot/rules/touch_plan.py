"""Planning a case's touches from the rule it matched: who does each, by which channel, and when.

`plan_touches` and `explain` are pure functions of a case, its close time, the policy and the
calendars of the people involved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.cases import Channel, Kind, Severity
from bot.rules.policy import (
    CaseFacts,
    Duration,
    Overdue,
    Policy,
    Role,
    Rule,
    TouchChannel,
    describe_case,
)
from bot.rules.working_hours import WorkingCalendar

CalendarFor = Callable[[str], WorkingCalendar | None]
"""Given a role ("owner", "account_manager", "lead"): that person's calendar, or None."""


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
        if wanted is Role.ACCOUNT_MANAGER:
            # ../shared/DOMAIN.md: "the account manager (or a lead) instead" of the agent.
            lead = calendar_for(Role.LEAD.value)
            if lead is not None:
                return Role.LEAD, lead, "no account manager for this case: a lead does this touch"
        missing = "account manager or lead" if wanted is Role.ACCOUNT_MANAGER else "lead"
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
