"""Follow-up queries: planning inserts, claims with leases, delivery records, queues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, joinedload, selectinload

from db.cases import _insert
from db.models import Agent, Case, FollowUp


def insert_planned(session: Session, rows: Sequence[dict[str, Any]]) -> list[FollowUp]:
    """Insert planned touches; an existing (case, cycle, touch) is left alone (idempotent)."""
    if not rows:
        return []
    session.execute(
        _insert(session, FollowUp)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["case_id", "cycle", "touch"])
    )
    first = rows[0]
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.case_id == first["case_id"], FollowUp.cycle == first["cycle"])
            .order_by(FollowUp.touch)
        )
    )


CLAIM_LOCK = 0x466F6C6C6F777570  # "Followup": the advisory lock key of dispatch claims


def claim_due(
    session: Session,
    now: datetime,
    worker: str,
    lease_until: datetime,
    agents: int = 100,
    max_rows: int = 2000,
) -> list[int]:
    """Claim every due follow-up of up to `agents` assignees; return the claimed ids.

    Whole assignees are claimed at once so one agent's due touches can go out as one DM.
    Claims are serialised across instances (the statement is short; deliveries, the slow
    part, stay parallel): on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
    its single writer (BEGIN IMMEDIATE). Without that, two instances choose the same agents
    before either commits and then race row by row (SKIP LOCKED): one agent's batch is split
    into two DMs, or an instance finds nothing to claim and ends its pass early.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    statement = _CLAIM_LOCKING if postgres else _CLAIM
    found = session.connection().execute(
        statement,
        {
            "b_now": now,
            "b_worker": worker,
            "b_lease": lease_until,
            "b_agents": agents,
            "b_rows": max_rows,
        },
    )
    return list(found.scalars())


def _claim_statement(locking: bool) -> Any:
    """The claim as one UPDATE … RETURNING, built once (the dispatcher runs it every round)."""
    table = cast(Table, FollowUp.__table__)
    c = table.c
    now = bindparam("b_now", type_=c.due_at.type)
    due = or_(
        and_(c.state == "planned", c.due_at <= now),
        and_(c.state == "claimed", c.lease_until < now),
    )
    assignees = (
        select(c.assignee_id)
        .where(due)
        .group_by(c.assignee_id)
        .order_by(c.assignee_id)
        .limit(bindparam("b_agents"))
    ).scalar_subquery()
    pick = (
        select(c.id)
        .where(due, or_(c.assignee_id.in_(assignees), c.assignee_id.is_(None)))
        .order_by(c.assignee_id, c.due_at)
        .limit(bindparam("b_rows"))
    )
    if locking:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(c.id.in_(pick.scalar_subquery()), due)
        .values(
            state="claimed",
            claimed_by=bindparam("b_worker"),
            lease_until=bindparam("b_lease", type_=c.lease_until.type),
            attempts=c.attempts + 1,
            updated_at=now,
        )
        .returning(c.id)
    )


_CLAIM = _claim_statement(locking=False)
_CLAIM_LOCKING = _claim_statement(locking=True)


def load_claimed(session: Session, ids: Sequence[int]) -> list[FollowUp]:
    """The follow-ups with all a DM shows loaded: case (team, owner) and assignee (team)."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(FollowUp)
            .options(
                # Cases are one per row; agents and teams are shared by many rows, so they are
                # loaded once each (IN queries) rather than joined into every row.
                joinedload(FollowUp.case).selectinload(Case.team),
                joinedload(FollowUp.case).selectinload(Case.owner),
                selectinload(FollowUp.assignee).selectinload(Agent.team),
            )
            .where(FollowUp.id.in_(ids))
            .order_by(FollowUp.assignee_id, FollowUp.priority.desc(), FollowUp.due_at)
        ).unique()
    )


_FOLLOW_UPS = cast(Table, FollowUp.__table__)
_RECORD_DRAFT = (
    update(_FOLLOW_UPS)
    .where(_FOLLOW_UPS.c.id == bindparam("b_id"))
    .values(
        review_offered=bindparam("b_offered", type_=_FOLLOW_UPS.c.review_offered.type),
        draft_flags=bindparam("b_flags", type_=_FOLLOW_UPS.c.draft_flags.type),
    )
)


def record_drafts(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Store each draft's review decision and specificity flags (`b_id`, `b_offered`,
    `b_flags`), many follow-ups in one executemany."""
    if changes:
        session.connection().execute(_RECORD_DRAFT, list(changes))


_MARK_SENT = (
    update(_FOLLOW_UPS)
    .where(
        _FOLLOW_UPS.c.id.in_(bindparam("ids", expanding=True)),
        _FOLLOW_UPS.c.state == "claimed",
        _FOLLOW_UPS.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        state="sent",
        slack_channel=bindparam("b_channel"),
        slack_ts=bindparam("b_ts"),
        sent_at=bindparam("b_now", type_=_FOLLOW_UPS.c.sent_at.type),
        lease_until=None,
        updated_at=bindparam("b_now", type_=_FOLLOW_UPS.c.updated_at.type),
        version=_FOLLOW_UPS.c.version + 1,
    )
)


def mark_sent(
    session: Session, ids: Sequence[int], worker: str, channel: str, ts: str, now: datetime
) -> int:
    """Record delivery of claimed follow-ups (only while this worker still holds them)."""
    # Core, not an ORM update: the dispatcher records thousands of DMs a minute.
    result = session.connection().execute(
        _MARK_SENT,
        {"ids": list(ids), "b_worker": worker, "b_channel": channel, "b_ts": ts, "b_now": now},
    )
    return int(result.rowcount)


def set_dm_channels(session: Session, channels: dict[int, str]) -> None:
    """Remember each agent's DM channel (agent id → channel id), learned from a post."""
    for agent_id, channel in channels.items():
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(dm_channel=channel)
            .execution_options(synchronize_session=False)
        )


def mark_reconciled(
    session: Session, ids: Sequence[int], channel: str, ts: str, now: datetime
) -> int:
    """Record a delivery found in Slack's history after a crash (sent before the commit)."""
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed")
        .values(
            state="sent",
            slack_channel=channel,
            slack_ts=ts,
            lease_until=None,
            sent_at=now,
            updated_at=now,
            version=FollowUp.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def release(
    session: Session,
    ids: Sequence[int],
    worker: str,
    due_at: datetime | None,
    now: datetime,
    state: str = "planned",
    **values: Any,
) -> int:
    """Give claimed follow-ups back (optionally due later), e.g. outside working hours."""
    changes: dict[str, Any] = {
        "state": state,
        "lease_until": None,
        "claimed_by": None,
        "updated_at": now,
        **values,
    }
    if due_at is not None:
        changes["due_at"] = due_at
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.state == "claimed", FollowUp.claimed_by == worker)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def still_held(session: Session, ids: Sequence[int], worker: str, now: datetime) -> bool:
    """True while this worker's lease on all of `ids` is still valid."""
    held = session.scalars(
        select(FollowUp.id).where(
            FollowUp.id.in_(ids),
            FollowUp.state == "claimed",
            FollowUp.claimed_by == worker,
            FollowUp.lease_until > now,
        )
    )
    return len(list(held)) == len(ids)


def set_assignee(
    session: Session, ids: Sequence[int], agent: Agent, handed_from: Agent | None = None
) -> None:
    session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids))
        .values(assignee_id=agent.id, handed_from_id=handed_from.id if handed_from else None)
        .execution_options(synchronize_session=False)
    )


def by_ids(session: Session, ids: Sequence[int]) -> list[FollowUp]:
    return load_claimed(session, ids)


def by_message(session: Session, channel: str, ts: str) -> list[FollowUp]:
    """Every follow-up shown in one DM (a batched nudge shows several)."""
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case), joinedload(FollowUp.assignee))
            .where(FollowUp.slack_channel == channel, FollowUp.slack_ts == ts)
            .order_by(FollowUp.priority.desc(), FollowUp.due_at)
        ).unique()
    )


def open_for_agent(session: Session, agent_id: int, limit: int = 200) -> list[FollowUp]:
    """An agent's follow-ups that still need doing: sent, or planned (upcoming), oldest first."""
    return list(
        session.scalars(
            select(FollowUp)
            .options(joinedload(FollowUp.case))
            .where(
                FollowUp.assignee_id == agent_id,
                FollowUp.state.in_(("sent", "planned", "claimed", "snoozed")),
            )
            .order_by(FollowUp.due_at)
            .limit(limit)
        ).unique()
    )
