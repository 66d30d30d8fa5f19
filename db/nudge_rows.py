"""Follow-ups as a DM shows them: plain rows read in one Core query, no ORM objects.

The dispatcher loads these for every DM it sends and the queue for every `/followup due`;
ORM objects with each row's case, team and people cost many times more (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, select
from sqlalchemy.orm import Session, aliased

from db.models import Agent, Case, FollowUp, Outcome, Team

OPEN_STATES = ("sent", "planned", "claimed", "snoozed")


@dataclass(slots=True)
class NudgeRow:
    """One follow-up with what its DM shows of the case and the people."""

    id: int
    case_id: int
    cycle: int
    touch: int
    channel: str
    template: str
    priority: int
    why: str
    state: str
    due_at: datetime
    missed_at: datetime | None
    snoozed_until: datetime | None
    review_eligible: bool
    referral_eligible: bool
    review_offered: bool
    handed_from_id: int | None
    assignee_id: int | None
    assignee_display: str | None
    assignee_slack_id: str | None
    source: str
    external_id: str
    subject: str
    resolution: str | None
    customer_name: str | None
    customer_email: str | None
    company: str | None
    case_channel: str
    closed_at: datetime
    case_url: str | None
    team_name: str | None
    owner_id: int | None
    owner_name: str | None
    slack_channel: str | None
    slack_ts: str | None
    claimed_by: str | None
    lease_until: datetime | None
    attempts: int
    role: str
    case_kind: str
    team_slug: str | None
    team_review_link: str | None
    account_manager_id: int | None
    assignee_is_lead: bool | None
    assignee_phone: str | None
    assignee_signature: str | None
    case_status: str
    """The case now: `closed`, or `reopened` in its helpdesk."""
    case_cycle: int
    """The case's cycle now: above `cycle`, it was reopened and resolved again since."""

    @property
    def handed_back(self) -> bool:
        """The case went back to its helpdesk (reopened there, maybe resolved again) after this
        follow-up: the helpdesk's next close plans the check-in, not this cycle."""
        return self.case_status == "reopened" or self.case_cycle > self.cycle

    @property
    def reference(self) -> str:
        return f"{self.source} #{self.external_id}"

    @property
    def assignee_name(self) -> str | None:
        """The assignee's display name, else their Slack id (None: nobody assigned)."""
        return self.assignee_display or self.assignee_slack_id


def _select() -> Select[Any]:
    f = cast(Table, FollowUp.__table__).c
    c = cast(Table, Case.__table__).c
    team = cast(Table, Team.__table__).c
    assignee = aliased(Agent, name="assignee")
    owner = aliased(Agent, name="owner")
    columns: dict[str, Any] = {
        "id": f.id,
        "case_id": f.case_id,
        "cycle": f.cycle,
        "touch": f.touch,
        "channel": f.channel,
        "template": f.template,
        "priority": f.priority,
        "why": f.why,
        "state": f.state,
        "due_at": f.due_at,
        "missed_at": f.missed_at,
        "snoozed_until": f.snoozed_until,
        "review_eligible": f.review_eligible,
        "referral_eligible": f.referral_eligible,
        "review_offered": f.review_offered,
        "handed_from_id": f.handed_from_id,
        "assignee_id": f.assignee_id,
        "assignee_display": assignee.display_name,
        "assignee_slack_id": assignee.slack_user_id,
        "source": c.source,
        "external_id": c.external_id,
        "subject": c.subject,
        "resolution": c.resolution,
        "customer_name": c.customer_name,
        "customer_email": c.customer_email,
        "company": c.company,
        "case_channel": c.channel,
        "closed_at": c.closed_at,
        "case_url": c.url,
        "team_name": team.name,
        "owner_id": c.owner_id,
        "owner_name": owner.display_name,
        "slack_channel": f.slack_channel,
        "slack_ts": f.slack_ts,
        "claimed_by": f.claimed_by,
        "lease_until": f.lease_until,
        "attempts": f.attempts,
        "role": f.role,
        "case_kind": c.kind,
        "team_slug": team.slug,
        "team_review_link": team.review_link,
        "account_manager_id": c.account_manager_id,
        "assignee_is_lead": assignee.is_lead,
        "assignee_phone": assignee.phone,
        "assignee_signature": assignee.signature,
        "case_status": c.status,
        "case_cycle": c.cycle,
    }
    # Rows become NudgeRows by position: the columns are the fields, in order.
    assert list(columns) == [field.name for field in fields(NudgeRow)]
    return (
        select(*(column.label(name) for name, column in columns.items()))
        .select_from(FollowUp.__table__)
        .join(Case.__table__, c.id == f.case_id)
        .outerjoin(Team.__table__, team.id == c.team_id)
        .outerjoin(assignee, assignee.id == f.assignee_id)
        .outerjoin(owner, owner.id == c.owner_id)
    )


_SELECT = _select()


def _rows(session: Session, statement: Select[Any]) -> list[NudgeRow]:
    return [NudgeRow(*row) for row in session.connection().execute(statement)]


def by_ids(session: Session, ids: Sequence[int]) -> list[NudgeRow]:
    """These follow-ups, in the order a batched DM lists them: priority, then due time."""
    if not ids:
        return []
    f = cast(Table, FollowUp.__table__).c
    return _rows(
        session,
        _SELECT.where(f.id.in_(list(ids))).order_by(f.assignee_id, f.priority.desc(), f.due_at),
    )


def of_message(session: Session, channel: str, ts: str) -> list[NudgeRow]:
    """Every follow-up one DM shows (a batched nudge shows several)."""
    f = cast(Table, FollowUp.__table__).c
    return _rows(
        session,
        _SELECT.where(f.slack_channel == channel, f.slack_ts == ts).order_by(
            f.priority.desc(), f.due_at
        ),
    )


def open_for_agent(session: Session, agent_id: int, limit: int = 200) -> list[NudgeRow]:
    """An agent's follow-ups that still need doing: sent, or planned (upcoming), oldest first."""
    f = cast(Table, FollowUp.__table__).c
    return _rows(
        session,
        _SELECT.where(f.assignee_id == agent_id, f.state.in_(OPEN_STATES))
        .order_by(f.due_at)
        .limit(limit),
    )


@dataclass(frozen=True, slots=True)
class EarlierFix:
    """A handled escalation in a case's cycle, with what the lead said was done this time."""

    case_id: int
    cycle: int
    touch: int
    """The escalated follow-up's touch: touches after it come after the escalation."""
    what_we_did: str | None


def handled_escalations(session: Session, case_ids: Sequence[int]) -> list[EarlierFix]:
    """Every handled escalation of these cases, oldest touch first, in one query.

    The lead's words are the `what_we_did` the Handled modal writes on the escalated
    follow-up's outcome."""
    if not case_ids:
        return []
    f = cast(Table, FollowUp.__table__).c
    o = cast(Table, Outcome.__table__).c
    statement = (
        select(f.case_id, f.cycle, f.touch, o.what_we_did)
        .select_from(FollowUp.__table__)
        .outerjoin(Outcome.__table__, o.follow_up_id == f.id)
        .where(f.case_id.in_(list(set(case_ids))), f.state == "escalation_handled")
        .order_by(f.case_id, f.cycle, f.touch)
    )
    return [EarlierFix(*row) for row in session.connection().execute(statement)]
