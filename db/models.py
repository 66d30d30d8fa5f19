"""Typed SQLAlchemy models. Alembic owns the schema; a test proves the migrations equal these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    working_days: Mapped[str] = mapped_column(String(40), default="mon,tue,wed,thu,fri")
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="17:30")
    digest_channel: Mapped[str | None] = mapped_column(String(100))
    escalation_channel: Mapped[str | None] = mapped_column(String(100))
    # When the weekly digest of the previous week posts, in the team's time zone.
    digest_day: Mapped[str] = mapped_column(String(3), default="mon", server_default="mon")
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00", server_default="09:00")
    review_link: Mapped[str | None] = mapped_column(String(2000))
    """The team's public review page, for review asks in drafts."""
    created_at: Mapped[datetime]


class Agent(Base):
    """A person in Slack who follows up: agent, account manager or lead."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    is_lead: Mapped[bool] = mapped_column(default=False)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_fetched_at: Mapped[datetime | None]
    # Per-agent overrides of the team's working pattern; NULL means "as the team".
    working_days: Mapped[str | None] = mapped_column(String(40))
    work_start: Mapped[str | None] = mapped_column(String(5))
    work_end: Mapped[str | None] = mapped_column(String(5))
    away_until: Mapped[datetime | None]
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    deactivated: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Deactivated in Slack: their follow-ups go to whoever covers, never to them."""
    phone: Mapped[str | None] = mapped_column(String(40))
    """The agent's direct number, for call scripts and signatures."""
    signature: Mapped[str | None] = mapped_column(String(500))
    """How the agent's email drafts end."""
    created_at: Mapped[datetime]

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    lead: Mapped[Agent | None] = relationship(foreign_keys=[lead_id], remote_side=[id])
    backup: Mapped[Agent | None] = relationship(foreign_keys=[backup_id], remote_side=[id])


class AgentLink(Base):
    """A helpdesk's own agent id mapped to a Slack user, for vendors that send no email."""

    __tablename__ = "agent_links"
    __table_args__ = (UniqueConstraint("source", "external_agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_agent_id: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime]


class SlackUser(Base):
    """A workspace member as users.list last showed them (kept fresh by user_change and
    team_join): who an email or a helpdesk owner is, without a lookup per person."""

    __tablename__ = "slack_users"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(default=False)
    is_bot: Mapped[bool] = mapped_column(default=False)
    seen_at: Mapped[datetime]


class Case(Base):
    """A helpdesk case; `cycle` counts resolutions (a reopen and a new close start a new one)."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="closed")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    resolution: Mapped[str | None] = mapped_column(Text)
    customer_name: Mapped[str | None] = mapped_column(String(320))
    customer_email: Mapped[str | None] = mapped_column(String(320), index=True)
    customer_external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    """The helpdesk's own id for the requester, where it sends one."""
    company: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    b2b: Mapped[bool] = mapped_column(default=False)
    senior_involved: Mapped[bool] = mapped_column(default=False)
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_external_id: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    account_manager_email: Mapped[str | None] = mapped_column(String(320))
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    tags: Mapped[list[str]] = mapped_column(default=list)
    url: Mapped[str | None] = mapped_column(String(2000))
    closed_at: Mapped[datetime]
    reopened_at: Mapped[datetime | None]
    last_close_seen_at: Mapped[datetime | None]
    """The latest close time seen in this cycle (a repeated close changes nothing else)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    owner: Mapped[Agent | None] = relationship(foreign_keys=[owner_id])
    account_manager: Mapped[Agent | None] = relationship(foreign_keys=[account_manager_id])
    team: Mapped[Team | None] = relationship()


class FollowUp(Base):
    """One planned touch of one resolution cycle; (case, cycle, touch) makes planning idempotent."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        UniqueConstraint("case_id", "cycle", "touch"),
        # The dispatcher's claim reads these: the oldest due work in time order, then the due
        # rows of the agents it picked (the latter also serves every per-agent queue).
        Index("ix_follow_ups_state_due_at", "state", "due_at"),
        Index("ix_follow_ups_assignee_state_due", "assignee_id", "state", "due_at"),
        # The weekly digest reads one week's range of each, never the history.
        Index("ix_follow_ups_due_at", "due_at"),
        Index("ix_follow_ups_missed_at", "missed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    cycle: Mapped[int]
    touch: Mapped[int]
    role: Mapped[str] = mapped_column(String(30))
    rule: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    handed_from_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    state: Mapped[str] = mapped_column(String(20), default="planned")
    why: Mapped[str] = mapped_column(String(200), default="")
    automated_ok: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime]
    # Overdue handling, fixed when planned: remind the assignee, then the lead, then "missed".
    remind_at: Mapped[datetime | None]
    lead_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    lead_notified_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    review_eligible: Mapped[bool] = mapped_column(default=False)
    referral_eligible: Mapped[bool] = mapped_column(default=False)
    # Decided when the DM goes out: the draft carried the public review invitation.
    review_offered: Mapped[bool] = mapped_column(default=False, server_default="0")
    draft_flags: Mapped[list[str]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    case: Mapped[Case] = relationship()
    assignee: Mapped[Agent | None] = relationship(foreign_keys=[assignee_id])


class Outcome(Base):
    """What the follow-up found, and the insight it gave."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), unique=True)
    result: Mapped[str] = mapped_column(String(30))
    customer_said: Mapped[str | None] = mapped_column(Text)
    insight: Mapped[str | None] = mapped_column(Text)
    """What we should change: the team's lesson, apart from the customer's words."""
    what_we_did: Mapped[str | None] = mapped_column(Text)
    """After an escalation, what the lead did this time (the next touch's fix)."""
    root_cause: Mapped[str | None] = mapped_column(String(100))
    skip_reason: Mapped[str | None] = mapped_column(Text)
    review_asked: Mapped[bool] = mapped_column(default=False)
    review_given: Mapped[bool] = mapped_column(default=False)
    referral_asked: Mapped[bool] = mapped_column(default=False)
    referral_given: Mapped[bool] = mapped_column(default=False)
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(index=True)


class Digest(Base):
    """One weekly digest per team and ISO week; the unique row is claimed before posting."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("team_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    week: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="claimed")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class InboundDelivery(Base):
    """An idempotency key of something delivered to us (webhook, Slack event retry, CSV row)."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    result: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(index=True)


class DmRefresh(Base):
    """A sent DM to bring up to date (chat.update) at the bulk queue's pace: one row per
    message however many changes queued it, as its sender renders the state of the moment."""

    __tablename__ = "dm_refreshes"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    """Raised by every enqueue: the message is due while this is above `sent_version`."""
    sent_version: Mapped[int] = mapped_column(default=0)
    """The `version` its last update rendered; queued again meanwhile, it is due again."""
    claimed_at: Mapped[datetime | None]
    """When a pass last took it, for one call to Slack: the budget counts these."""
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    """Nobody claims it before then: the claim's lease, or after a failure the retry time."""


class Writeback(Base):
    """A note (and perhaps a reopen) owed to the helpdesk a case came from: the outbox row
    written with the outcome or the lead's "Handled", delivered by bot/writeback/worker.py."""

    __tablename__ = "writebacks"
    __table_args__ = (Index("ix_writebacks_source_ticket", "source", "ticket", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    ticket: Mapped[str] = mapped_column(String(200))
    """The helpdesk's id of the ticket or conversation (the case's external id)."""
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    event: Mapped[str] = mapped_column(String(30))
    """`outcome` (an outcome or skip recorded) or `handled` (a lead's "Handled")."""
    reopen: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    """The internal note, plain text, its marker on the last line."""
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The event's fields, for the generic signed webhook."""
    marker: Mapped[str] = mapped_column(String(40), unique=True)
    """Ends the note: a retry after a timeout looks for it on the ticket before sending again."""
    state: Mapped[str] = mapped_column(String(20), default="pending")
    """`pending` (waiting or in flight), `delivered` or `failed` (given up; retry by hand)."""
    attempts: Mapped[int] = mapped_column(default=0)
    """Deliveries started, ever (a claim counts one): above 1, an earlier one may have landed."""
    failures: Mapped[int] = mapped_column(default=0)
    """Failed attempts since it was written or an operator retried it; it fails at a limit."""
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    """Nobody claims it before then: the claim's lease, or after a failure the retry time."""
    last_error: Mapped[str | None] = mapped_column(String(300))
    """Why the last attempt failed: the vendor's status and error code, never the note."""
    result: Mapped[str | None] = mapped_column(String(300))
    """What landed: the note's id, the state set, a follow-up ticket."""
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Every state change: who, what, when, from which surface."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    surface: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


__all__ = [
    "Agent",
    "AgentLink",
    "AuditEntry",
    "Base",
    "Case",
    "Digest",
    "DmRefresh",
    "FollowUp",
    "InboundDelivery",
    "Outcome",
    "Team",
    "UTCDateTime",
    "Writeback",
]
