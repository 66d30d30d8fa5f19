"""The bulk planner: every row it builds from its memoised steps is the row `plan_touches` and
`planned_row` make for the same case and people, whatever the order the cases come in."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cases import Channel, ClosedCase, Kind, Severity
from bot.planning.bulk import Planner
from bot.planning.plan import calendar_of, planned_row
from bot.rules.policy import Role
from bot.rules.touch_plan import plan_touches
from bot.rules.working_hours import WorkingCalendar
from db.bulk import FOLLOWUP_COLUMNS
from db.models import Agent, Team

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _roster() -> tuple[list[Team], list[Agent]]:
    """Two teams with their own hours; agents in other zones, one with her own lead."""
    support = Team(
        id=1,
        slug="support",
        name="Support",
        timezone="Europe/London",
        working_days="mon,tue,wed,thu,fri",
        work_start="08:00",
        work_end="16:30",
    )
    billing = Team(
        id=2,
        slug="billing",
        name="Billing",
        timezone="Asia/Kolkata",
        working_days="sun,mon,tue,wed,thu",
        work_start="10:00",
        work_end="18:00",
    )

    def agent(number: int, email: str, team: Team, **fields: Any) -> Agent:
        return Agent(
            id=number,
            slack_user_id=f"U{number:04d}",
            email=email,
            team_id=team.id,
            is_lead=fields.pop("is_lead", False),
            created_at=CREATED,
            **fields,
        )

    agents = [
        agent(
            1,
            "lead@example.com",
            support,
            is_lead=True,
            timezone="America/New_York",
            work_start="09:30",
        ),
        agent(2, "kei@example.com", support, lead_id=5, timezone="Asia/Tokyo"),
        agent(3, "ada@example.com", support, timezone="Europe/London", work_start="10:00"),
        agent(4, "am@example.com", billing, timezone="Europe/Paris", working_days="mon,wed"),
        agent(5, "own-lead@example.com", billing, timezone="Australia/Sydney"),
        agent(6, "bill@example.com", billing),
    ]
    return [support, billing], agents


OWNERS = ("kei@example.com", "ada@example.com", "bill@example.com", "nobody@example.com")
MANAGERS = (None, "am@example.com", "ghost@example.com")


def _expected(
    deps: Any,
    case: ClosedCase,
    team: Team,
    agents: dict[int, Agent],
    case_id: int,
    skip_late: bool = True,
) -> tuple[list[dict[str, object]], int]:
    """What `plan_case` would plan, worked out from scratch with plain calendars; with
    `skip_late`, without the touches already past their cut-off (and how many those were)."""
    by_email = {a.email: a for a in agents.values()}
    owner = by_email.get(case.owner_email or "")
    manager = by_email.get(case.account_manager_email or "")
    lead = agents.get(owner.lead_id) if owner is not None and owner.lead_id else None
    if lead is None:
        leads = [a for a in agents.values() if a.is_lead and a.team_id == team.id]
        lead = min(leads, key=lambda a: a.id) if leads else None

    def calendar_for(role: str) -> WorkingCalendar | None:
        if role == Role.ACCOUNT_MANAGER:
            return calendar_of(deps, team, manager) if case.account_manager_email else None
        if role == Role.LEAD:
            return calendar_of(deps, team, lead) if lead else None
        return calendar_of(deps, team, owner)

    people = {Role.OWNER: owner, Role.ACCOUNT_MANAGER: manager, Role.LEAD: lead}
    rows, late = [], 0
    for touch in plan_touches(case, case.closed_at, deps.policy, calendar_for):
        if skip_late and touch.missed_at <= NOW:
            late += 1
            continue
        rows.append(planned_row(touch, case_id, 1, people.get(touch.role), NOW))
    return rows, late


def _plan_all(bot: Any, cases: list[ClosedCase], skip_late: bool = True) -> None:
    """Plan `cases` with one planner (so later cases reuse earlier steps); check each."""
    teams, roster = _roster()
    by_slug = {team.slug: team for team in teams}
    planner = Planner(bot.deps)
    planner.load(roster)
    agents = {agent.id: agent for agent in roster}
    for case_id, case in enumerate(cases, start=1):
        team = by_slug[case.team or "support"]
        owner_id = planner.owner_of(case)
        rows, late = planner.touches(case, case_id, team, owner_id, NOW, skip_late=skip_late)
        got = [dict(zip(FOLLOWUP_COLUMNS, row, strict=True)) for row in rows]
        assert (got, late) == _expected(bot.deps, case, team, agents, case_id, skip_late), case


def _case(number: int, closed_at: datetime, **facts: Any) -> ClosedCase:
    return ClosedCase(
        source="generic",
        external_id=f"P-{number}",
        subject="Refund not visible",
        closed_at=closed_at,
        **facts,
    )


def test_every_kind_of_case_in_any_order_plans_as_plan_touches(bot: Any) -> None:
    combinations = list(
        itertools.product(
            Kind,
            Severity,
            (Channel.EMAIL, Channel.PHONE, Channel.WEB),
            (False, True),
            (False, True),
            OWNERS,
            MANAGERS,
        )
    )
    shuffle = random.Random(7)
    shuffle.shuffle(combinations)
    cases = [
        _case(
            number,
            # Spread over three weeks around a DST-free stretch and a weekend, to the second.
            NOW - timedelta(seconds=shuffle.randrange(21 * 86400)),
            kind=kind,
            severity=severity,
            channel=channel,
            b2b=b2b,
            senior_involved=senior,
            owner_email=owner,
            account_manager_email=manager,
            team="billing" if number % 3 == 0 else "support",
            tags=("escalated",) if number % 17 == 0 else (),
        )
        for number, (kind, severity, channel, b2b, senior, owner, manager) in enumerate(
            combinations
        )
    ]
    _plan_all(bot, cases)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400 * 86400),
            st.sampled_from(list(Kind)),
            st.sampled_from(list(Severity)),
            st.sampled_from(list(Channel)),
            st.booleans(),
            st.booleans(),
            st.sampled_from(OWNERS),
            st.sampled_from(MANAGERS),
            st.sampled_from((None, "support", "billing")),
            st.sampled_from(((), ("vip",), ("Escalated",), ("billing", "vip"))),
        ),
        min_size=1,
        max_size=25,
    ),
    st.booleans(),
)
def test_planner_rows_equal_plan_touches(bot: Any, drawn: list[Any], skip_late: bool) -> None:
    cases = [
        _case(
            number,
            # A year and more back from now, across both DST changes, to the second.
            NOW - timedelta(seconds=seconds),
            kind=kind,
            severity=severity,
            channel=channel,
            b2b=b2b,
            senior_involved=senior,
            owner_email=owner,
            account_manager_email=manager,
            team=team,
            tags=tags,
        )
        for number, (
            seconds,
            kind,
            severity,
            channel,
            b2b,
            senior,
            owner,
            manager,
            team,
            tags,
        ) in enumerate(drawn)
    ]
    _plan_all(bot, cases, skip_late=skip_late)


def test_a_newly_loaded_lead_replans_cases_alike(bot: Any) -> None:
    """Steps are remembered per kind of case; loading people can change who does a touch."""
    teams, roster = _roster()
    support = teams[0]
    without_leads = [agent for agent in roster if not agent.is_lead]
    planner = Planner(bot.deps)
    planner.load(without_leads)
    # Closed Thursday evening: due Monday 10:00 in London; 16 working hours on is Wednesday
    # 13:00 there, 08:00 in New York, where the lead starts at 09:30.
    closed = _case(1, datetime(2026, 11, 12, 18, tzinfo=UTC), owner_email="ada@example.com")
    before, _ = planner.touches(closed, 1, support, 3, NOW)
    planner.load(roster)  # now the support team has a lead, in New York
    after, _ = planner.touches(closed, 1, support, 3, NOW)
    lead_at = FOLLOWUP_COLUMNS.index("lead_at")
    assert before[0][lead_at] != after[0][lead_at]
    for rows, people in ((before, without_leads), (after, roster)):
        agents = {agent.id: agent for agent in people}
        want, _ = _expected(bot.deps, closed, support, agents, 1)
        assert [dict(zip(FOLLOWUP_COLUMNS, row, strict=True)) for row in rows] == want
