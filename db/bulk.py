"""Batched queries for a backfill: thousands of cases and follow-ups per statement.

Functions take the session first and never commit.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from db.cases import _insert
from db.models import Agent, AuditEntry, Case, FollowUp, UTCDateTime


def existing_external_ids(session: Session, source: str, external_ids: Iterable[str]) -> set[str]:
    """Which of these ids `source` already has a case for."""
    wanted = list(external_ids)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Case.external_id).where(Case.source == source, Case.external_id.in_(wanted))
        )
    )


def insert_cases(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new cases of one source in one executemany; {external id: case id} of them.

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
        found = session.execute(statement, list(rows))
        return {external_id: case_id for external_id, case_id in found}
    # SQLite has one writer at a time (BEGIN IMMEDIATE): the new ids are the ones above the
    # highest id before the insert.
    before = session.scalar(select(func.coalesce(func.max(Case.id), 0))) or 0
    _executemany(session, Case.__table__, rows, conflict=("source", "external_id"))
    wanted = [row["external_id"] for row in rows]
    found = session.execute(
        select(Case.external_id, Case.id).where(
            Case.source == rows[0]["source"], Case.external_id.in_(wanted), Case.id > before
        )
    )
    return {external_id: case_id for external_id, case_id in found}


def insert_followups(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert planned follow-ups of new cases in one executemany.

    A (case, cycle, touch) already planned (a webhook for the same case racing the import)
    is left alone.
    """
    _executemany(session, FollowUp.__table__, rows, conflict=("case_id", "cycle", "touch"))
    return len(rows)


def insert_audit(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append many audit entries (at, actor, surface, entity, entity_id, action, detail)."""
    _executemany(session, AuditEntry.__table__, rows, conflict=())


def _executemany(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], conflict: tuple[str, ...]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING of many rows with the same keys.

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
        connection.execute(statement, list(rows))
        return
    names = list(rows[0])
    converters = [_sqlite_converter(table.columns[name].type) for name in names]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
        + (f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else "")
    )
    pick = operator.itemgetter(*names)
    converted = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    # Many rows share values (created_at, a Monday 09:00 due time, no tags): convert each once.
    seen: dict[Any, Any] = {}
    values = []
    for row in rows:
        record = list(pick(row))
        for i, convert in converted:
            value = record[i]
            if value is None:
                continue
            if isinstance(value, dict):
                record[i] = convert(value)
                continue
            key = (i, tuple(value)) if isinstance(value, list) else (i, value)
            found = seen.get(key)
            if found is None:
                found = seen[key] = convert(value)
            record[i] = found
        values.append(tuple(record))
    connection.exec_driver_sql(sql, values)


def _sqlite_converter(kind: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy would store a value of this column type in SQLite (None: as it is)."""
    if isinstance(kind, UTCDateTime):
        return _sqlite_datetime
    if isinstance(kind, JSON):
        return json.dumps
    return None


def _sqlite_datetime(value: datetime) -> str:
    """UTCDateTime on SQLite: naive UTC in SQLAlchemy's SQLite DATETIME text format."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # Of an aware UTC moment, isoformat's first 26 characters are the naive text.
    return value.isoformat(" ", "microseconds")[:26]


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
        _insert(session, Agent)
        .values([{"slack_user_id": s, "team_id": team_id, "created_at": now} for s in wanted])
        .on_conflict_do_nothing(index_elements=["slack_user_id"])
    )
    return list(session.scalars(select(Agent).where(Agent.slack_user_id.in_(wanted))))
