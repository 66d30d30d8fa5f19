"""The engine as the rest of the code gets it from db/engine.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from db import migrate
from db.engine import make_engine, make_session_factory
from db.models import Team


def test_a_database_error_never_carries_the_values_it_was_given(sqlite_url: str) -> None:
    """Errors reach the logs (a listener's or a pass's traceback); the values are case text and
    customers' details, so SQLAlchemy is told to leave them out."""
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    at = datetime(2026, 12, 6, tzinfo=UTC)
    with make_session_factory(engine).begin() as session:
        session.add(Team(slug="dup", name="Refund for Jane Doe, card 4111", created_at=at))
    with pytest.raises(IntegrityError) as caught, make_session_factory(engine).begin() as session:
        session.add(Team(slug="dup", name="Refund for Jane Doe, card 4111", created_at=at))
    engine.dispose()
    assert "UNIQUE" in str(caught.value)
    assert "Jane Doe" not in str(caught.value)
