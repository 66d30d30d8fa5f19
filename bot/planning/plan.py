"""Turning a stored case into planned follow-ups, with each person's working calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.cases import Channel, Kind, Severity
from bot.deps import Deps
from bot.rules.policy import Role
from bot.rules.touch_plan import CalendarFor, PlannedTouch, TouchStep, explain, plan_touches
from bot.rules.working_hours import WorkingCalendar, clock_text
from db import agents as agent_store
from db import cases as store
from db import followups as followup_store
from db.bulk import FOLLOWUP_COLUMNS
from db.models import Agent, Case, FollowUp, Team


@dataclass(frozen=True)
class CaseFacts:
    """What the policy matches on, read from a stored case."""

    kind: Kind
    severity: Severity
    channel: Channel
    b2b: bool
    senior_involved: bool
    tags: tuple[str, ...] = field(default_factory=tuple)
    team: str | None = None

    @classmethod
    def of(cls, case: Case) -> CaseFacts:
        return cls(
            kind=Kind(case.kind),
            severity=Severity(case.severity),
            channel=Channel(case.channel),
            b2b=case.b2b,
            senior_involved=case.senior_involved,
            tags=tuple(case.tags or ()),
            team=case.team.slug if case.team else None,
        )


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def team_calendar_fields(calendar: WorkingCalendar) -> dict[str, str]:
    """A policy calendar as the team row stores it."""
    return {
        "timezone": calendar.tz,
        "working_days": ",".join(DAY_NAMES[d] for d in sorted(calendar.days)),
        "work_start": clock_text(calendar.start),
        "work_end": clock_text(calendar.end),
    }


def calendar_of(deps: Deps, team: Team | None, agent: Agent | None) -> WorkingCalendar:
    """An agent's calendar: their own zone and overrides, else the team's, else the policy's."""
    base = deps.policy.calendar
    tz = (agent.timezone if agent else None) or (team.timezone if team else None) or base.tz
    days = (agent.working_days if agent else None) or (team.working_days if team else None)
    start = (agent.work_start if agent else None) or (team.work_start if team else None)
    end = (agent.work_end if agent else None) or (team.work_end if team else None)
    return WorkingCalendar.parse(
        tz=tz,
        days=days or ",".join(DAY_NAMES[d] for d in sorted(base.days)),
        start=start or base.start,
        end=end or base.end,
        holidays=base.holidays,
    )


def team_lead(session: Session, team: Team | None, owner: Agent | None) -> Agent | None:
    """The owner's own lead, else the team's first lead (never one deactivated in Slack)."""
    if owner is not None and owner.lead is not None and not owner.lead.deactivated:
        return owner.lead
    if team is None:
        return None
    return agent_store.first_lead(session, team.id)


def lead_of(session: Session, followup: FollowUp) -> Agent | None:
    """The assignee's own lead, else their team's lead; nobody when that is the assignee."""
    assignee = followup.assignee
    lead = team_lead(session, (assignee.team if assignee else None) or followup.case.team, assignee)
    if lead is None or lead.id == followup.assignee_id:
        return None
    return lead


def lead_calendar(deps: Deps, followup: FollowUp, lead: Agent) -> WorkingCalendar:
    """The hours in which `lead` hears about `followup`: the lead's own."""
    return calendar_of(deps, lead.team or followup.case.team, lead)


@dataclass
class People:
    """Who could follow up on a case: known agents, or only an email to resolve later."""

    owner: Agent | None
    account_manager: Agent | None
    lead: Agent | None
    has_account_manager: bool


def people_of(session: Session, case: Case) -> People:
    owner = case.owner
    if owner is None and case.owner_email:
        owner = store.agent_by_email(session, case.owner_email)
    if owner is None and case.owner_external_id:
        owner = store.agent_by_link(session, case.source, case.owner_external_id)
    if owner is not None and case.owner_id is None:
        case.owner_id = owner.id
    manager = case.account_manager
    if manager is None and case.account_manager_email:
        manager = store.agent_by_email(session, case.account_manager_email)
        if manager is not None:
            case.account_manager_id = manager.id
    return People(
        owner,
        manager,
        team_lead(session, case.team, owner),
        has_account_manager=bool(case.account_manager_email or manager),
    )


def _calendar_for(deps: Deps, case: Case, people: People) -> CalendarFor:
    def calendar_for(role: str) -> WorkingCalendar | None:
        if role == Role.ACCOUNT_MANAGER:
            if not people.has_account_manager:
                return None
            return calendar_of(deps, case.team, people.account_manager)
        if role == Role.LEAD:
            return calendar_of(deps, case.team, people.lead) if people.lead else None
        return calendar_of(deps, case.team, people.owner)

    return calendar_for


def row_head(
    touch: TouchStep | PlannedTouch, cycle: int, assignee_id: int | None
) -> tuple[object, ...]:
    """The first values of a follow_ups row (bulk.FOLLOWUP_COLUMNS): the ones that do not
    depend on the case's id or times, so a backfill builds them once per kind of case."""
    return (
        touch.number,
        str(touch.role),
        touch.rule,
        str(touch.channel),
        touch.template,
        touch.priority,
        touch.why[:200],
        touch.automated_ok,
        touch.review_eligible,
        touch.referral_eligible,
        assignee_id,
        cycle,
        "planned",
        [],
        1,
        0,
    )


def planned_row(
    touch: PlannedTouch, case_id: int, cycle: int, assignee: Agent | int | None, now: datetime
) -> dict[str, object]:
    """The follow_ups row of one planned touch (`plan_case` inserts it; the bulk planner
    builds the same values as a tuple, from the same `row_head`)."""
    assignee_id = assignee.id if isinstance(assignee, Agent) else assignee
    values = (
        *row_head(touch, cycle, assignee_id),
        now,
        now,
        case_id,
        touch.due_at,
        touch.remind_at,
        touch.lead_at,
        touch.missed_at,
    )
    return dict(zip(FOLLOWUP_COLUMNS, values, strict=True))


def plan_case(session: Session, deps: Deps, case: Case) -> list[FollowUp]:
    """Plan the current cycle's touches; planning the same cycle twice adds nothing."""
    session.flush()
    session.refresh(case)
    people = people_of(session, case)
    touches = plan_touches(
        CaseFacts.of(case), case.closed_at, deps.policy, _calendar_for(deps, case, people)
    )
    now = deps.clock.now()
    assignees = {
        Role.OWNER: people.owner,
        Role.ACCOUNT_MANAGER: people.account_manager,
        Role.LEAD: people.lead,
    }
    rows = [
        planned_row(touch, case.id, case.cycle, assignees.get(touch.role), now) for touch in touches
    ]
    return followup_store.insert_planned(session, rows)


class UnknownCase(LookupError):
    """No stored case answers to the reference; the message says how to name one."""


def explain_case(deps: Deps, reference: str) -> str:
    """`followup policy explain <case>`: the rule matched, why, and the planned local times.
    Raises `UnknownCase` when no case answers to `reference`."""
    with deps.session_factory() as session:
        case = store.find_case(session, reference)
        if case is None:
            raise UnknownCase(
                f"no case {reference!r}: use <source>:<id> as shown in the DM, e.g. zendesk:4821"
            )
        people = people_of(session, case)
        return explain(
            CaseFacts.of(case), case.closed_at, deps.policy, _calendar_for(deps, case, people)
        )


def team_defaults(deps: Deps) -> dict[str, Any]:
    """A new team's settings, from the policy's defaults and the environment."""
    return {
        **team_calendar_fields(deps.policy.calendar),
        "digest_channel": deps.settings.digest_channel,
        "escalation_channel": deps.settings.escalation_channel,
    }
