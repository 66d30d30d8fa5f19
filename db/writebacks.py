"""The write-back outbox: rows added with the outcome that owes them, claimed under a lease,
settled by the helpdesk's answer. Functions take the session first and never commit.

Claims are serialised across instances (a transaction-scoped advisory lock on PostgreSQL,
SQLite's single writer), as dispatch's are. One ticket's rows go out in the order they were
written: a row waits while an earlier row of the same ticket is pending (waiting, in flight or
backing off), so a lead's "handled" note never lands above the outcome it answers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased

from db.models import Agent, Case, FollowUp, Writeback

WRITEBACK_CLAIM_LOCK = 0x5772697465626B  # "Writebk": the advisory lock key of write-back claims


@dataclass(frozen=True)
class Claimed:
    """A row claimed for one delivery."""

    id: int
    source: str
    ticket: str
    event: str
    reopen: bool
    body: str
    marker: str
    detail: dict[str, Any]
    attempts: int
    """Deliveries started, this one included: above 1, an earlier one may have landed."""
    failures: int
    follow_up_id: int
    case_id: int
    created_at: datetime
    lease_until: datetime


def claim(
    session: Session,
    now: datetime,
    worker: str,
    lease_until: datetime,
    *,
    sources: Collection[str],
    limit: int,
) -> list[Claimed]:
    """Claim up to `limit` due rows of these sources, oldest first, one per ticket."""
    if not sources:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(WRITEBACK_CLAIM_LOCK)))
    earlier = aliased(Writeback)
    blocked = exists().where(
        earlier.source == Writeback.source,
        earlier.ticket == Writeback.ticket,
        earlier.id < Writeback.id,
        earlier.state == "pending",
    )
    due = and_(
        Writeback.state == "pending",
        Writeback.source.in_(list(sources)),
        or_(Writeback.lease_until.is_(None), Writeback.lease_until <= now),
    )
    ids = list(
        session.scalars(
            select(Writeback.id).where(due, ~blocked).order_by(Writeback.id).limit(limit)
        )
    )
    if not ids:
        return []
    rows = session.execute(
        update(Writeback)
        .where(Writeback.id.in_(ids), due)
        .values(
            claimed_by=worker,
            lease_until=lease_until,
            attempts=Writeback.attempts + 1,
            updated_at=now,
        )
        .returning(
            Writeback.id,
            Writeback.source,
            Writeback.ticket,
            Writeback.event,
            Writeback.reopen,
            Writeback.body,
            Writeback.marker,
            Writeback.detail,
            Writeback.attempts,
            Writeback.failures,
            Writeback.follow_up_id,
            Writeback.case_id,
            Writeback.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    found = [Claimed(**row._asdict(), lease_until=lease_until) for row in rows]
    return sorted(found, key=lambda c: c.id)


def _ours(row_id: int, worker: str) -> Any:
    return and_(
        Writeback.id == row_id, Writeback.claimed_by == worker, Writeback.state == "pending"
    )


def _settle(session: Session, row_id: int, worker: str, values: dict[str, Any]) -> bool:
    result = session.execute(
        update(Writeback)
        .where(_ours(row_id, worker))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def renew(session: Session, row_id: int, worker: str, until: datetime, now: datetime) -> bool:
    """Extend our claim on a row to `until` as its delivery starts. False when it is no longer
    ours (another instance took it after our lease ran out)."""
    return _settle(session, row_id, worker, {"lease_until": until, "updated_at": now})


def delivered(session: Session, row_id: int, worker: str, result: str, now: datetime) -> bool:
    """The helpdesk took it. False when the claim was no longer ours."""
    return _settle(
        session,
        row_id,
        worker,
        {
            "state": "delivered",
            "result": result[:300],
            "last_error": None,
            "claimed_by": None,
            "lease_until": None,
            "delivered_at": now,
            "updated_at": now,
        },
    )


def retry_later(
    session: Session,
    row_id: int,
    worker: str,
    at: datetime,
    error: str | None,
    now: datetime,
    *,
    failed: bool = True,
    started: bool = True,
) -> bool:
    """Give the claim back, claimable again from `at`; `failed`: count a failure; not
    `started`: nothing was sent, so the claim's attempt is taken back. `error` (None: keep the
    last one) says why."""
    values: dict[str, Any] = {"claimed_by": None, "lease_until": at, "updated_at": now}
    if not started:
        values["attempts"] = Writeback.attempts - 1
    if error is not None:
        values["last_error"] = error[:300]
    if failed:
        values["failures"] = Writeback.failures + 1
    return _settle(session, row_id, worker, values)


def give_up(session: Session, row_id: int, worker: str, error: str, now: datetime) -> bool:
    """Failed for good, until an operator retries it."""
    return _settle(
        session,
        row_id,
        worker,
        {
            "state": "failed",
            "last_error": error[:300],
            "failures": Writeback.failures + 1,
            "claimed_by": None,
            "lease_until": None,
            "updated_at": now,
        },
    )


def hold_source(session: Session, source: str, until: datetime, now: datetime) -> int:
    """A 429: no row of `source` is claimed before `until` (the vendor's Retry-After)."""
    result = session.execute(
        update(Writeback)
        .where(
            Writeback.source == source,
            Writeback.state == "pending",
            Writeback.claimed_by.is_(None),
            or_(Writeback.lease_until.is_(None), Writeback.lease_until < until),
        )
        .values(lease_until=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


RETRIED = "retried"
RELEASED = "released"


def retry(session: Session, row_id: int, now: datetime) -> tuple[Writeback | None, str | None]:
    """An operator's retry: the row (None when there is none) and what was done, None when
    nothing could be.

    A failed row is pending again at once with its failures forgotten (its attempts kept: the
    next delivery still looks for an earlier note first, and drops a reopen gone stale). A
    pending row held back (a long Retry-After, a backoff) is released to go now. A row in
    flight or delivered is left alone."""
    row = session.get(Writeback, row_id, with_for_update=True)
    if row is None:
        return None, None
    if row.state == "pending" and row.claimed_by is None and row.lease_until is not None:
        row.lease_until = None
        row.updated_at = now
        return row, RELEASED
    if row.state != "failed":
        return row, None
    row.state = "pending"
    row.failures = 0
    row.lease_until = None
    row.claimed_by = None
    row.updated_at = now
    return row, RETRIED


def reopen_is_stale(session: Session, row_id: int) -> bool:
    """A reopen whose case has been resolved again since the row was written: a later cycle,
    or a close seen after it. Sending it would reopen a ticket the team has just solved."""
    row = session.get(Writeback, row_id)
    if row is None:
        return False
    case = session.get(Case, row.case_id)
    followup = session.get(FollowUp, row.follow_up_id)
    if case is None or followup is None:
        return False
    if case.cycle > followup.cycle:
        return True
    later_close = case.last_close_seen_at is not None and case.last_close_seen_at > row.created_at
    return later_close or (case.status == "closed" and case.closed_at > row.created_at)


def rewrite(
    session: Session, row_id: int, *, body: str, reopen: bool, detail: dict[str, Any]
) -> None:
    """What a row says, settled as its delivery starts (a stale reopen dropped, the handled
    note's next step filled in); a retry sends the same."""
    session.execute(
        update(Writeback)
        .where(Writeback.id == row_id)
        .values(body=body, reopen=reopen, detail=detail)
        .execution_options(synchronize_session=False)
    )


def fresh_check_in_planned(session: Session, followup_id: int) -> bool:
    """Whether a check-in after this (escalated) follow-up is planned in its cycle."""
    followup = session.get(FollowUp, followup_id)
    if followup is None:
        return False
    found = session.scalar(
        select(FollowUp.id)
        .where(
            FollowUp.case_id == followup.case_id,
            FollowUp.cycle == followup.cycle,
            FollowUp.touch > followup.touch,
            FollowUp.template == "check_in",
            FollowUp.state == "planned",
        )
        .limit(1)
    )
    return found is not None


def reopen_underway(session: Session, followup_id: int) -> bool:
    """Whether a reopen of this follow-up's ticket is queued, in flight or delivered: the case
    is on its way back to the helpdesk, which then owns the next check-in."""
    found = session.scalar(
        select(Writeback.id)
        .where(
            Writeback.follow_up_id == followup_id,
            Writeback.reopen.is_(True),
            Writeback.state.in_(("pending", "delivered")),
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class Listed:
    """A row as `followup writeback list` shows it: ids, state and errors, never the note."""

    id: int
    source: str
    ticket: str
    event: str
    reopen: bool
    state: str
    attempts: int
    failures: int
    last_error: str | None
    result: str | None
    created_at: datetime
    next_try: datetime | None
    follow_up_id: int


def listing(session: Session, *, failed_only: bool, limit: int = 200) -> list[Listed]:
    """The newest rows first (failed ones only when asked)."""
    query = select(
        Writeback.id,
        Writeback.source,
        Writeback.ticket,
        Writeback.event,
        Writeback.reopen,
        Writeback.state,
        Writeback.attempts,
        Writeback.failures,
        Writeback.last_error,
        Writeback.result,
        Writeback.created_at,
        Writeback.lease_until.label("next_try"),
        Writeback.follow_up_id,
    ).order_by(Writeback.id.desc())
    if failed_only:
        query = query.where(Writeback.state == "failed")
    return [Listed(**row._asdict()) for row in session.execute(query.limit(limit))]


def failed_for_followups(session: Session, followup_ids: Sequence[int]) -> dict[int, Writeback]:
    """Follow-up id -> its latest failed write-back, for the DM's warning."""
    if not followup_ids:
        return {}
    rows = session.scalars(
        select(Writeback)
        .where(Writeback.follow_up_id.in_(list(followup_ids)), Writeback.state == "failed")
        .order_by(Writeback.id)
    )
    return {row.follow_up_id: row for row in rows}


def failed_for_team(session: Session, team_id: int | None, limit: int = 10) -> list[Writeback]:
    """A team's failed write-backs (by the follow-up's assignee), newest first, for App Home."""
    in_team = FollowUp.assignee_id.in_(select(Agent.id).where(Agent.team_id == team_id))
    return list(
        session.scalars(
            select(Writeback)
            .join(FollowUp, FollowUp.id == Writeback.follow_up_id)
            .where(Writeback.state == "failed", in_team)
            .order_by(Writeback.id.desc())
            .limit(limit)
        )
    )


def counts(session: Session) -> dict[str, int]:
    """Rows by state."""
    rows = session.execute(select(Writeback.state, func.count()).group_by(Writeback.state))
    return {state: int(count) for state, count in rows}
