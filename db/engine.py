"""Engine and session factory: SQLite tuned for concurrent use, PostgreSQL as configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]

LOCK_TIMEOUT_MS = 2000
"""PostgreSQL `lock_timeout` and SQLite's busy timeout: a statement waiting longer than this
for a lock fails, so a table someone holds locked cannot keep a Slack request past its 3
seconds (the job's next pass or the helpdesk's retry comes back later)."""
STATEMENT_TIMEOUT_MS = 30_000
"""PostgreSQL `statement_timeout`: no statement of the bot's runs unbounded (the largest, the
digest over a million rows, takes under a second)."""
READ_ONLY = {"sqlite_begin": "DEFERRED"}
"""Execution options of a connection that only reads: on SQLite it begins DEFERRED, so it does
not queue for the single writer's lock (WAL lets readers run beside a writer)."""
DATABASE_DOWN = (OperationalError, DBAPIError)
"""Errors meaning the database is unreachable or failing: the caller may retry later."""
VALUE_REFUSED = DataError
"""The database refused a value (too long, not text): a retry would be refused again. A kind
of DBAPIError, so catch it before DATABASE_DOWN."""


def make_engine(url: str, *, bounded: bool = True, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    `bounded`: PostgreSQL sessions get lock and statement timeouts (migrations turn them off).
    A database error never carries the statement's values (`hide_parameters`): they are case
    text and customers' details, and errors reach the logs.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": LOCK_TIMEOUT_MS / 1000},
            # The most recently used connection first: its page cache is the warmest.
            pool_use_lifo=True,
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE ourselves so
        # a writer takes the lock up front instead of failing on upgrade (SQLAlchemy's recipe).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if bounded and url.startswith("postgresql"):
        kwargs.setdefault(
            "connect_args",
            {
                "options": f"-c lock_timeout={LOCK_TIMEOUT_MS} "
                f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
            },
        )
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={LOCK_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


class _Sessions(sessionmaker[Session]):
    """`factory.begin()` is a unit of work that writes; a plain `factory()` session is never
    committed anywhere, so it only reads and begins DEFERRED on SQLite (READ_ONLY)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self._reader = engine.execution_options(**READ_ONLY)

    def __call__(self, **local_kw: Any) -> Session:
        local_kw.setdefault("bind", self._reader)
        return super().__call__(**local_kw)

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with super().__call__() as session, session.begin():
            yield session


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (the caller owns the transaction)."""
    return _Sessions(engine)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query (a read: it never queues for SQLite's
    writer lock)."""
    try:
        with engine.connect() as connection:
            connection.execution_options(**READ_ONLY).execute(text("SELECT 1"))
        return True
    except DATABASE_DOWN:
        return False


def url_parses(url: str) -> bool:
    """True when SQLAlchemy can read `url` (no error text: it would show the password)."""
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return False
    return True
