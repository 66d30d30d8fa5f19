"""Bulk inserts bypass SQLAlchemy's per-value conversion on SQLite: what they store must be
exactly what the ORM stores for the same values, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select

from bot.cases import Channel, ClosedCase, Kind, Severity
from db import bulk, migrate
from db.cases import _case_values
from db.engine import make_engine, make_session_factory
from db.models import Case, FollowUp, Team

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PARIS_SUMMER = timezone(timedelta(hours=2))
TIMES = [
    NOW,
    datetime(2026, 6, 5, 9, 30, 15, 250, tzinfo=PARIS_SUMMER),  # not UTC, microseconds
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 3, 28, 0, 59, 59, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]


def _raw(session: Any, table: str, id_: int) -> dict[str, Any]:
    """A row as the database driver returns it, with no type conversion on the way."""
    row = session.connection().exec_driver_sql(f"SELECT * FROM {table} WHERE id = {id_}")
    return dict(row.mappings().one())


@pytest.fixture
def session_factory(database_url: str) -> Any:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_bulk_case_and_follow_up_are_stored_as_the_orm_stores_them(session_factory: Any) -> None:
    closed = ClosedCase(
        source="zendesk",
        external_id="B-1",
        subject="Facture n°1, « remboursement »",
        closed_at=TIMES[1],
        owner_email="Ada@Example.com",
        resolution="Re-issued the credit note,\nconfirmed it posted",
        customer_name="Zoë O'Brien",
        channel=Channel.PHONE,
        severity=Severity.HIGH,
        kind=Kind.COMPLAINT,
        b2b=True,
        account_manager_email="AM@example.com",
        tags=("vip", "billing; eu", "ünï"),
        url="https://help.example.com/tickets/1",
    )
    with session_factory.begin() as session:
        team = Team(slug="support", name="Support", created_at=NOW)
        session.add(team)
        session.flush()
        ours = bulk.insert_cases(session, [bulk.new_case_row(closed, team.id, None, None, NOW)])
        theirs = Case(
            source="zendesk",
            external_id="O-1",
            cycle=1,
            status="closed",
            team_id=team.id,
            created_at=NOW,
            updated_at=NOW,
            **_case_values(closed),  # as the webhook's upsert sets them
        )
        session.add(theirs)
        session.flush()
        case_id = ours["B-1"]
        bulk_case, orm_case = _raw(session, "cases", case_id), _raw(session, "cases", theirs.id)
        values = [2, "owner", "b2b", "call", "call_script", 45, "why, « why »", False, True, False]
        head = (*values, None, 1, "planned", [], 1, 0)
        tail = (NOW, NOW, case_id, *TIMES)
        assert bulk.insert_followups(session, [head + tail]) == 1
        orm_followup = FollowUp(**dict(zip(bulk.FOLLOWUP_COLUMNS, head + tail, strict=True)))
        orm_followup.case_id, orm_followup.touch = theirs.id, 1
        session.add(orm_followup)
        session.flush()
        bulk_id = session.scalar(select(FollowUp.id).where(FollowUp.case_id == case_id))
        bulk_followup = _raw(session, "follow_ups", bulk_id)
        orm_row = _raw(session, "follow_ups", orm_followup.id)
    for name in ("id", "external_id"):
        del bulk_case[name], orm_case[name]
    assert bulk_case == orm_case
    for name in ("id", "case_id", "touch"):
        del bulk_followup[name], orm_row[name]
    assert bulk_followup == orm_row


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, PARIS_SUMMER, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe")]
        ),
    )
)
def test_sqlite_datetime_text_is_sqlalchemys_for_any_offset(moment: datetime) -> None:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    # SQLAlchemy's SQLite DATETIME storage format.
    assert bulk._sqlite_datetime(moment) == naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_naive_datetime_is_refused_as_the_column_type_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive"):
        bulk._sqlite_datetime(datetime(2026, 11, 20, 10, 0))


def test_a_column_null_in_every_row_is_null_whatever_its_server_default(tmp_path: Any) -> None:
    metadata = MetaData()
    table = Table(
        "things",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(20)),
        Column("note", String(20), server_default="none given"),
        Column("flag", Boolean),
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'things.db'}")
    metadata.create_all(engine)
    with make_session_factory(engine).begin() as session:
        bulk._executemany(
            session,
            table,
            ("name", "note", "flag"),
            [("a", None, None), (None, None, True)],
            conflict=(),
        )
        rows = session.connection().exec_driver_sql("SELECT name, note, flag FROM things")
        assert [tuple(row) for row in rows] == [("a", None, None), (None, None, 1)]
    engine.dispose()
