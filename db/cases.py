"""Cases, teams, agents and delivery keys. Functions take the session first and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.cases import ClosedCase, Event
from db.models import Agent, AgentLink, AuditEntry, Case, FollowUp, InboundDelivery, Team

OPEN_STATES = ("planned", "claimed", "sent", "snoozed", "triage")
"""Follow-up states that a reopen cancels: nothing in them has been recorded yet."""


class Change(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    NEW_CYCLE = "new_cycle"
    REOPENED = "reopened"
    REOPEN_DUPLICATE = "reopen_duplicate"
    REOPEN_UNKNOWN = "reopen_unknown"


@dataclass(frozen=True)
class Upserted:
    case: Case | None
    change: Change
    cancelled: list[FollowUp]


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT in the session's dialect, so `on_conflict_do_nothing` works on both databases."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def record_delivery(
    session: Session, source: str, key: str, now: datetime, result: str = "accepted"
) -> bool:
    """Remember a delivery key; False when it was seen before (a duplicate delivery)."""
    statement = (
        dialect_insert(session, InboundDelivery)
        .values(source=source, key=key[:300], result=result, received_at=now)
        .on_conflict_do_nothing(index_elements=["source", "key"])
        # RETURNING, not rowcount: PostgreSQL reports -1 rows for a skipped conflict here.
        .returning(InboundDelivery.id)
    )
    return session.execute(statement).scalar() is not None


def delivery_seen(session: Session, source: str, key: str) -> bool:
    found = session.scalar(
        select(InboundDelivery.id).where(
            InboundDelivery.source == source, InboundDelivery.key == key[:300]
        )
    )
    return found is not None


def team_for(session: Session, slug: str | None, defaults: dict[str, Any], now: datetime) -> Team:
    """The team named `slug` (default team when None), created with `defaults` on first sight."""
    slug = (slug or "default").strip().lower()[:80] or "default"
    found = session.scalar(select(Team).where(Team.slug == slug))
    if found is not None:  # the usual case: one read, no write
        return found
    statement = (
        dialect_insert(session, Team)
        .values(
            slug=slug,
            name=defaults.get("name", slug),
            created_at=now,
            **{k: v for k, v in defaults.items() if k != "name"},
        )
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    session.execute(statement)
    team = session.scalar(select(Team).where(Team.slug == slug))
    assert team is not None
    return team


def agent_by_slack_id(
    session: Session, slack_user_id: str, now: datetime, team_id: int | None = None
) -> Agent:
    """The agent with this Slack id, created (time zone unknown yet) on first sight."""
    statement = (
        dialect_insert(session, Agent)
        .values(slack_user_id=slack_user_id, team_id=team_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["slack_user_id"])
    )
    session.execute(statement)
    agent = session.scalar(select(Agent).where(Agent.slack_user_id == slack_user_id))
    assert agent is not None
    if agent.team_id is None and team_id is not None:
        agent.team_id = team_id
    return agent


def agent_by_email(session: Session, email: str) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.email == email.strip().lower()).limit(1))


def agent_by_link(session: Session, source: str, external_agent_id: str) -> Agent | None:
    return session.scalar(
        select(Agent)
        .join(AgentLink, AgentLink.agent_id == Agent.id)
        .where(AgentLink.source == source, AgentLink.external_agent_id == external_agent_id)
    )


def link_agent(
    session: Session, source: str, external_agent_id: str, agent: Agent, now: datetime
) -> None:
    """Map a helpdesk's agent id to `agent` (replacing an earlier mapping)."""
    existing = session.scalar(
        select(AgentLink).where(
            AgentLink.source == source, AgentLink.external_agent_id == external_agent_id
        )
    )
    if existing is None:
        session.add(
            AgentLink(
                source=source,
                external_agent_id=external_agent_id,
                agent_id=agent.id,
                created_at=now,
            )
        )
    else:
        existing.agent_id = agent.id


CASE_VALUE_COLUMNS = (
    "subject",
    "resolution",
    "customer_name",
    "customer_email",
    "customer_external_id",
    "company",
    "channel",
    "severity",
    "kind",
    "b2b",
    "senior_involved",
    "owner_email",
    "owner_external_id",
    "account_manager_email",
    "tags",
    "url",
    "closed_at",
)
"""The columns of `cases` that a closed-case record sets, in `case_values`' order."""


def case_values(closed: ClosedCase) -> tuple[Any, ...]:
    """The values of CASE_VALUE_COLUMNS for a closed case (a tuple: the bulk path makes 50,000)."""
    return (
        closed.subject,
        closed.resolution,
        closed.customer_name,
        closed.customer_email,
        closed.customer_external_id,
        closed.company,
        # str() of a StrEnum is its value, without Enum's slow `.value` descriptor (bulk path).
        str(closed.channel),
        str(closed.severity),
        str(closed.kind),
        closed.b2b,
        closed.senior_involved,
        closed.owner_email.lower() if closed.owner_email else None,
        closed.owner_external_id,
        closed.account_manager_email.lower() if closed.account_manager_email else None,
        list(closed.tags),
        closed.url,
        closed.closed_at,
    )


def _case_values(closed: ClosedCase) -> dict[str, Any]:
    return dict(zip(CASE_VALUE_COLUMNS, case_values(closed), strict=True))


def cancel_open_followups(session: Session, case: Case, now: datetime) -> list[FollowUp]:
    """Cancel what is still open for the case's current cycle; return them (DMs to update)."""
    followups = list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.case_id == case.id, FollowUp.state.in_(OPEN_STATES))
            .with_for_update()
        )
    )
    for followup in followups:
        followup.state = "cancelled"
        followup.updated_at = now
        followup.version += 1
        followup.lease_until = None
    return followups


def reopened_by_writeback(
    session: Session, case_id: int, followup_id: int, since: datetime, now: datetime
) -> list[FollowUp]:
    """Our write-back has just reopened the case's ticket in its helpdesk, for a reopen decided
    at `since`: the case is reopened here as if the helpdesk's reopen trigger had said so
    (which may follow, as a duplicate), so that its next close there starts the next cycle.
    Only while the case is still in that follow-up's cycle and closed, with no close seen
    since. Returns the follow-ups this cancels."""
    case = session.get(Case, case_id, with_for_update=True)
    followup = session.get(FollowUp, followup_id)
    if case is None or followup is None or case.status != "closed":
        return []
    closed_since = case.last_close_seen_at is not None and case.last_close_seen_at > since
    if case.cycle != followup.cycle or closed_since or case.closed_at > since:
        return []
    case.status = "reopened"
    case.reopened_at = since
    case.updated_at = now
    cancelled = cancel_open_followups(session, case, now)
    audit(
        session,
        at=now,
        actor="writeback",
        surface="writeback",
        entity="case",
        entity_id=case.id,
        action="case_reopened",
        detail={"cycle": case.cycle, "cancelled": len(cancelled)},
    )
    return cancelled


def upsert_case(session: Session, closed: ClosedCase, team: Team, now: datetime) -> Upserted:
    """Store a closed or reopened case idempotently on (source, external id).

    Only a reopen starts a new resolution cycle. A close of a case already closed is the same
    cycle, whatever its timestamp: helpdesk rules fire again on later updates of a solved
    ticket (a rating, a note), and Resolved-then-Closed is one resolution, not two. A close
    after a reopen starts the next cycle; a close stamped before that reopen is a late copy of
    the previous one. A reopen cancels open follow-ups. Deliveries can overtake each other: a
    repeated close keeps its time, so a reopen stamped between the two closes, arriving last,
    starts the cycle the later close began.
    """
    if closed.event is Event.CLOSED:
        inserted = (
            session.execute(
                dialect_insert(session, Case)
                .values(
                    source=closed.source,
                    external_id=closed.external_id,
                    cycle=1,
                    status="closed",
                    team_id=team.id,
                    created_at=now,
                    updated_at=now,
                    **_case_values(closed),
                )
                .on_conflict_do_nothing(index_elements=["source", "external_id"])
                .returning(Case.id)
            ).scalar()
            is not None
        )
    case = session.scalar(
        select(Case)
        .where(Case.source == closed.source, Case.external_id == closed.external_id)
        .with_for_update()
    )
    if closed.event is Event.REOPENED:
        if case is None:
            return Upserted(None, Change.REOPEN_UNKNOWN, [])
        if case.status == "reopened" and case.reopened_at and case.reopened_at >= closed.closed_at:
            return Upserted(case, Change.REOPEN_DUPLICATE, [])
        if case.status == "closed" and closed.closed_at < case.closed_at:
            # A reopen from before the latest close arrived late: the case is closed again.
            return Upserted(case, Change.REOPEN_DUPLICATE, [])
        later = case.last_close_seen_at
        if case.status == "closed" and later is not None and closed.closed_at < later:
            # Reopened between two closes, the second of which arrived first (and was kept as
            # a time only): that second close began the next cycle, which starts now.
            cancelled = cancel_open_followups(session, case, now)
            case.cycle += 1
            case.closed_at = later
            case.reopened_at = closed.closed_at
            case.last_close_seen_at = None
            case.updated_at = now
            return Upserted(case, Change.NEW_CYCLE, cancelled)
        case.status = "reopened"
        case.reopened_at = closed.closed_at
        case.updated_at = now
        cancelled = cancel_open_followups(session, case, now)
        return Upserted(case, Change.REOPENED, cancelled)
    assert case is not None
    if inserted:
        return Upserted(case, Change.NEW, [])
    if case.status == "closed":
        if closed.closed_at > (case.last_close_seen_at or case.closed_at):
            case.last_close_seen_at = closed.closed_at  # for a reopen still on its way
        return Upserted(case, Change.DUPLICATE, [])
    if case.reopened_at and closed.closed_at < case.reopened_at:
        return Upserted(case, Change.DUPLICATE, [])
    for name, value in _case_values(closed).items():
        setattr(case, name, value)
    case.cycle += 1
    case.status = "closed"
    case.team_id = team.id
    case.last_close_seen_at = None
    case.updated_at = now
    return Upserted(case, Change.NEW_CYCLE, [])


def find_case(session: Session, reference: str) -> Case | None:
    """A case by `<source>:<external id>`, or by external id alone when that is unambiguous."""
    if ":" in reference:
        source, external_id = reference.split(":", 1)
        found = session.scalar(
            select(Case).where(Case.source == source, Case.external_id == external_id)
        )
        if found is not None:
            return found
    matches = list(session.scalars(select(Case).where(Case.external_id == reference).limit(2)))
    return matches[0] if len(matches) == 1 else None


def audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    surface: str,
    entity: str,
    entity_id: int | None,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            surface=surface,
            entity=entity,
            entity_id=entity_id,
            action=action,
            detail=detail or {},
        )
    )


def adopt_owned_cases(session: Session, agent: Agent) -> int:
    """Give a newly known agent the cases and open follow-ups that name them by email."""
    if not agent.email:
        return 0
    case_ids = select(Case.id).where(Case.owner_email == agent.email, Case.owner_id.is_(None))
    owned = list(session.scalars(case_ids))
    if not owned:
        return 0
    session.execute(
        update(Case)
        .where(Case.id.in_(owned))
        .values(owner_id=agent.id)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(FollowUp)
        .where(
            FollowUp.case_id.in_(owned),
            FollowUp.assignee_id.is_(None),
            FollowUp.role == "owner",
            FollowUp.state.in_(("planned", "snoozed")),
        )
        .values(assignee_id=agent.id)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class PlannedTouch:
    touch: int
    channel: str
    due_at: datetime
    assignee: str | None
    """The assignee's Slack user id; None while in triage."""
    state: str


@dataclass(frozen=True)
class StoredCase:
    """What the store holds for one case, in plain values (`followup webhooks test`)."""

    reference: str
    cycle: int
    status: str
    owner: str | None
    """The owner's Slack user id, when the owner was matched to one."""
    has_resolution: bool
    has_customer: bool
    touches: list[PlannedTouch]


def stored_case(session: Session, source: str, external_id: str) -> StoredCase | None:
    """The case and its current cycle's follow-ups, or None when it is not stored."""
    case = session.scalar(
        select(Case).where(Case.source == source, Case.external_id == external_id)
    )
    if case is None:
        return None
    rows = session.execute(
        select(FollowUp, Agent.slack_user_id)
        .outerjoin(Agent, Agent.id == FollowUp.assignee_id)
        .where(FollowUp.case_id == case.id, FollowUp.cycle == case.cycle)
        .order_by(FollowUp.touch, FollowUp.id)
    ).all()
    touches = [
        PlannedTouch(f.touch, f.channel, f.due_at, slack_id, f.state) for f, slack_id in rows
    ]
    return StoredCase(
        reference=f"{source}:{external_id}",
        cycle=case.cycle,
        status=case.status,
        owner=case.owner.slack_user_id if case.owner else None,
        has_resolution=bool(case.resolution),
        has_customer=bool(case.customer_name or case.customer_email),
        touches=touches,
    )


def cancel_case(session: Session, source: str, external_id: str, now: datetime) -> int:
    """Cancel a stored case's open follow-ups (a test case); how many were cancelled."""
    case = session.scalar(
        select(Case).where(Case.source == source, Case.external_id == external_id)
    )
    return len(cancel_open_followups(session, case, now)) if case is not None else 0
