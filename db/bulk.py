"""Batched queries for a backfill: thousands of cases and follow-ups per statement.

Functions take the session first and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bot.cases import ClosedCase
from db.cases import CASE_VALUE_COLUMNS, case_values, dialect_insert
from db.models import Agent, AuditEntry, Case, FollowUp, UTCDateTime


def existing_external_ids(session: Session, source: str, external_ids: Iterable[str]) -> set[str]:
    """Which of these ids `source` already has a case for."""
    wanted = list(external_ids)
    if not wanted:
        return set()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Straight to the driver: compiling SQLAlchemy's expanding IN of a few thousand ids
        # costs more than running the query.
        marks = ", ".join("?" * len(wanted))
        return set(
            connection.exec_driver_sql(
                f"SELECT external_id FROM cases WHERE source = ? AND external_id IN ({marks})",
                (source, *wanted),
            ).scalars()
        )
    return set(
        connection.scalars(
            select(Case.external_id).where(Case.source == source, Case.external_id.in_(wanted))
        )
    )


CASE_COLUMNS = (
    "source",
    "external_id",
    "cycle",
    "status",
    "team_id",
    "owner_id",
    "account_manager_id",
    "created_at",
    "updated_at",
    *CASE_VALUE_COLUMNS,
)
"""The columns of a new case's row, in `new_case_row`'s order."""

FOLLOWUP_COLUMNS = (
    # The same for every case whose touch is planned alike (bot.planning.plan.row_head)...
    "touch",
    "role",
    "rule",
    "channel",
    "template",
    "priority",
    "why",
    "automated_ok",
    "review_eligible",
    "referral_eligible",
    "assignee_id",
    "cycle",
    "state",
    "draft_flags",
    "version",
    "attempts",
    # ...and what differs from case to case.
    "created_at",
    "updated_at",
    "case_id",
    "due_at",
    "remind_at",
    "lead_at",
    "missed_at",
)
"""The columns of a planned follow-up's row as `insert_followups` takes it."""


def new_case_row(
    closed: ClosedCase,
    team_id: int,
    owner_id: int | None,
    manager_id: int | None,
    now: datetime,
) -> tuple[Any, ...]:
    """The CASE_COLUMNS values of a case stored for the first time (cycle 1, closed)."""
    return (
        closed.source,
        closed.external_id,
        1,
        "closed",
        team_id,
        owner_id,
        manager_id,
        now,
        now,
        *case_values(closed),
    )


def insert_cases(session: Session, rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    """Insert new cases of one source (CASE_COLUMNS tuples) in one executemany; {external
    id: case id} of them.

    A case that appeared meanwhile (a webhook racing the import) is skipped, not duplicated,
    and is not in the answer.
    """
    if not rows:
        return {}
    if session.get_bind().dialect.name != "sqlite":
        # Another transaction may insert the same case meanwhile (ON CONFLICT then waits for
        # it and skips): only RETURNING says which rows are ours.
        statement = (
            postgresql.insert(Case)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(Case.external_id, Case.id)
        )
        found = session.execute(
            statement, [dict(zip(CASE_COLUMNS, row, strict=True)) for row in rows]
        )
        return {external_id: case_id for external_id, case_id in found}
    # SQLite has one writer at a time (BEGIN IMMEDIATE): the rows above the highest id before
    # the insert are the ones it inserted, no other writer's.
    connection = session.connection()
    before = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM cases").scalar()
    _executemany(session, Case.__table__, CASE_COLUMNS, rows, conflict=("source", "external_id"))
    found = connection.exec_driver_sql(
        "SELECT external_id, id FROM cases WHERE source = ? AND id > ?", (rows[0][0], before)
    )
    return {external_id: case_id for external_id, case_id in found}


def insert_followups(session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert planned follow-ups (FOLLOWUP_COLUMNS tuples) of new cases in one executemany.

    A (case, cycle, touch) already planned (a webhook for the same case racing the import)
    is left alone.
    """
    _executemany(
        session, FollowUp.__table__, FOLLOWUP_COLUMNS, rows, conflict=("case_id", "cycle", "touch")
    )
    return len(rows)


def insert_audit(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append many audit entries (at, actor, surface, entity, entity_id, action, detail)."""
    if rows:
        columns = tuple(rows[0])
        _executemany(
            session,
            AuditEntry.__table__,
            columns,
            [tuple(row[name] for name in columns) for row in rows],
            conflict=(),
        )


def _executemany(
    session: Session,
    table: Any,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    conflict: tuple[str, ...],
) -> None:
    """INSERT … ON CONFLICT DO NOTHING of many rows, each a tuple of `columns`' values.

    On SQLite the rows go straight to the driver's executemany, converted the way the column
    types would convert them (SQLAlchemy's per-value bind processing is most of the cost of a
    bulk insert there); elsewhere SQLAlchemy Core's executemany.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        statement = postgresql.insert(table)
        if conflict:
            statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
        connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    # Column by column: zip and map loop in C, and a column's repeated values (created_at,
    # a Monday 09:00 due time, no tags) are converted once.
    by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
    kept = []
    for index, name in enumerate(columns):
        column = table.columns[name]
        values = by_column[index]
        if column.server_default is None and values.count(None) == len(values):
            # NULL in every row (no owner known, no vendor agent id): left out, it is NULL
            # all the same, and the driver does not look each None up among its adapters.
            continue
        convert = _sqlite_converter(column.type)
        kept.append((name, values if convert is None else convert(values)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(name for name, _ in kept)}) "
        f"VALUES ({', '.join('?' for _ in kept)})"
        + (f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else "")
    )
    connection.exec_driver_sql(sql, list(zip(*(values for _, values in kept), strict=True)))


def _sqlite_converter(kind: Any) -> Callable[[Sequence[Any]], list[Any]] | None:
    """How SQLAlchemy would store a column of this type in SQLite (None: as it is)."""
    if isinstance(kind, UTCDateTime):
        return _sqlite_datetimes
    if isinstance(kind, JSON):
        return _sqlite_json
    if isinstance(kind, Boolean):
        return _sqlite_booleans
    return None


_AS_INTEGER = {False: 0, True: 1, None: None}


def _sqlite_booleans(values: Sequence[bool | None]) -> list[int | None]:
    # Stored as 1 and 0 either way, but the driver binds an exact int directly and sends a
    # bool (or a None, which cannot be helped) through its adapter lookup first, a large share
    # of the driver's work in a backfill (docs/performance.md).
    return list(map(_AS_INTEGER.__getitem__, values))


def _sqlite_datetimes(values: Sequence[datetime | None]) -> list[str | None]:
    text: dict[datetime | None, str | None] = {None: None}
    for value in set(values):
        if value is not None:
            text[value] = _sqlite_datetime(value)
    return list(map(text.__getitem__, values))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _sqlite_datetime(value: datetime) -> str:
    """UTCDateTime on SQLite: naive UTC in SQLAlchemy's SQLite DATETIME text format,
    "2026-11-20 09:00:00.000000"."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    # Built from the days, seconds and microseconds since the epoch, with no format spec:
    # formatting numbers through isoformat or "{:02d}" costs twice as much, and every
    # planned follow-up has four times of its own.
    since = value - _EPOCH
    seconds, micro = since.seconds, since.microseconds
    fraction = str(1_000_000 + micro)[1:] if micro else "000000"
    two = _TWO_DIGITS
    return (
        f"{_date_text(since.days)}{two[seconds // 3600]}:{two[seconds // 60 % 60]}:"
        f"{two[seconds % 60]}.{fraction}"
    )


_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))


@lru_cache(maxsize=8192)
def _date_text(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).isoformat(" ")[:11]


def _sqlite_json(values: Sequence[Any]) -> list[str | None]:
    text: dict[Any, str] = {}
    converted: list[str | None] = []
    for value in values:
        if value is None:
            converted.append(None)
        elif isinstance(value, list):  # tags, draft flags: mostly the same few lists
            key = tuple(value)
            found = text.get(key)
            if found is None:
                found = text[key] = json.dumps(value)
            converted.append(found)
        else:
            converted.append(json.dumps(value))
    return converted


def all_agents(session: Session) -> list[Agent]:
    """Every known agent (a roster: hundreds, not millions), with lead links."""
    return list(session.scalars(select(Agent)))


def agents_by_slack_id(
    session: Session, slack_user_ids: Iterable[str], now: datetime, team_id: int | None
) -> list[Agent]:
    """The agents with these Slack ids, creating the missing ones in one statement."""
    wanted = sorted(set(slack_user_ids))
    if not wanted:
        return []
    session.execute(
        dialect_insert(session, Agent)
        .values([{"slack_user_id": s, "team_id": team_id, "created_at": now} for s in wanted])
        .on_conflict_do_nothing(index_elements=["slack_user_id"])
    )
    return list(session.scalars(select(Agent).where(Agent.slack_user_id.in_(wanted))))
