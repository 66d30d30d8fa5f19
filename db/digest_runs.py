"""The weekly digest's (team, week) row: claimed once across instances, posted, taken over
after a crash, marked stale or failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import exists, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from db.cases import dialect_insert
from db.models import Digest


def claim(session: Session, team_id: int, week: str, worker: str, now: datetime) -> int | None:
    """Insert the (team, week) row as claimed by `worker`; its id, or None when it existed."""
    statement = (
        dialect_insert(session, Digest)
        .values(
            team_id=team_id,
            week=week,
            state="claimed",
            claimed_by=worker,
            claimed_at=now,
            summary={},
        )
        .on_conflict_do_nothing(index_elements=["team_id", "week"])
        .returning(Digest.id)
    )
    # RETURNING, not rowcount: a skipped row returns nothing on both SQLite and PostgreSQL.
    inserted = session.scalar(statement)
    return int(inserted) if inserted is not None else None


def mark_stale(session: Session, team_id: int, week: str, now: datetime) -> bool:
    """Record that the week's digest was never posted in time; False when a row existed."""
    statement = (
        dialect_insert(session, Digest)
        .values(team_id=team_id, week=week, state="stale", claimed_at=now, summary={})
        .on_conflict_do_nothing(index_elements=["team_id", "week"])
        .returning(Digest.id)
    )
    return session.scalar(statement) is not None


def find(session: Session, team_id: int, week: str) -> Digest | None:
    return session.scalar(select(Digest).where(Digest.team_id == team_id, Digest.week == week))


def take_over(
    session: Session,
    digest_id: int,
    worker: str,
    now: datetime,
    *,
    claimed_before: datetime,
    states: Sequence[str] = ("claimed",),
) -> bool:
    """Re-claim an unposted row whose claim is older than `claimed_before` (a crashed runner)."""
    result = session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            Digest.state.in_(states),
            Digest.slack_ts.is_(None),
            Digest.claimed_at < claimed_before,
        )
        .values(state="claimed", claimed_by=worker, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def still_ours(session: Session, digest_id: int, worker: str, claimed_at: datetime) -> bool:
    found = session.scalar(
        select(Digest.id).where(
            Digest.id == digest_id,
            Digest.state == "claimed",
            Digest.claimed_by == worker,
            Digest.claimed_at == claimed_at,
        )
    )
    return found is not None


def mark_posted(
    session: Session,
    digest_id: int,
    channel: str,
    ts: str,
    now: datetime,
    summary: dict[str, Any],
) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(state="posted", slack_channel=channel, slack_ts=ts, posted_at=now, summary=summary)
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, digest_id: int, error: str) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.slack_ts.is_(None))
        .values(state="failed", summary={"error": error})
        .execution_options(synchronize_session=False)
    )


def set_summary(session: Session, digest_id: int, summary: dict[str, Any]) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(summary=summary)
        .execution_options(synchronize_session=False)
    )


def has_digests_before(session: Session, team_id: int, week: str) -> bool:
    """Whether the team has a digest row for a week before `week` (labels sort as weeks)."""
    found = exists().where(Digest.team_id == team_id, Digest.week < week)
    return bool(session.scalar(select(found)))


def digest_by_id(session: Session, digest_id: int) -> Digest | None:
    return session.get(Digest, digest_id)
