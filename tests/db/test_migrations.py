"""Alembic owns the schema: `upgrade head` on an empty database equals the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db import migrate
from db.models import Base


def test_upgrade_head_produces_exactly_the_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert version == migrate.current_head()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    from db.engine import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_delivery_key_is_new_once_then_a_duplicate(database_url: str) -> None:
    """On both databases: PostgreSQL reports no rowcount for a skipped conflict."""
    from datetime import UTC, datetime

    from db.cases import record_delivery
    from db.engine import make_engine, make_session_factory

    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with sessions.begin() as session:
        assert record_delivery(session, "zendesk", "inv-1", now) is True
    with sessions.begin() as session:
        assert record_delivery(session, "zendesk", "inv-1", now) is False
        assert record_delivery(session, "zendesk", "inv-2", now) is True
    engine.dispose()
