"""The composition root: settings → database → clock → Slack client → app → servers → scheduler."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import inspect

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deps import Deps, make_web_client
from bot.server import FollowupWSGI, HttpServer

log = logging.getLogger("followup.run")


class StartupError(Exception):
    """Start-up cannot go on; the message says what to do."""


def build_deps(settings: Settings, clock: Clock | None = None) -> Deps:
    """Database, clock, Slack client, policy and renderer for `settings`, built once."""
    from bot.drafting import Renderer
    from bot.policy import load_policy
    from db.engine import make_engine, make_session_factory

    engine = make_engine(settings.database_url)
    return Deps(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
        client=make_web_client(settings),
        policy=load_policy(settings.policy_path),
        renderer=Renderer(settings.templates_dir),
    )


def ensure_schema(deps: Deps) -> None:
    """SQLite is migrated on start; PostgreSQL must already be at head (`followup db upgrade`)."""
    from db import migrate

    if deps.engine.dialect.name == "sqlite":
        migrate.upgrade(deps.settings.database_url, engine=deps.engine)
        return
    with deps.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        current = None
        if "alembic_version" in tables:
            current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    if current != migrate.current_head():
        raise StartupError(
            f"the database schema is at {current or 'nothing'}, the code needs "
            f"{migrate.current_head()}: run `followup db upgrade` once, then start again"
        )


@dataclass
class Running:
    """The pieces `followup run` started, for tests and for shutdown."""

    deps: Deps
    app: App
    http: HttpServer
    socket_mode: SocketModeHandler | None
    scheduler: object

    def stop(self) -> None:
        from bot.scheduler import stop_scheduler

        stop_scheduler(self.scheduler)
        if self.socket_mode is not None:
            self.socket_mode.close()
        self.http.stop()
        self.deps.engine.dispose()


def start(deps: Deps, *, verify_token: bool = True, with_scheduler: bool = True) -> Running:
    """Start the HTTP server, Socket Mode (when configured) and the scheduler; return at once."""
    from bot.app import build_app
    from bot.intake import receive_webhook
    from bot.scheduler import build_scheduler

    app = build_app(deps, verify_token=verify_token)
    settings = deps.settings
    wsgi = FollowupWSGI(deps, None if settings.socket_mode else app, receive_webhook)
    http = HttpServer(wsgi, settings.host, settings.port, settings.http_threads)
    http.start()
    handler = None
    if settings.socket_mode:
        handler = SocketModeHandler(app, settings.slack_app_token)
        handler.connect()
    scheduler = build_scheduler(deps) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode at /slack/events"
    log.info("followup is up: %s, webhooks and /healthz on port %d", mode, http.port)
    return Running(deps, app, http, handler, scheduler)


@contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_forever(deps: Deps) -> None:
    """`followup run`: start everything, wait for SIGTERM or SIGINT, stop cleanly."""
    ensure_schema(deps)
    running = start(deps)
    stop = threading.Event()
    with _signals_set(stop):
        while not stop.wait(1.0):
            pass
    running.stop()
    log.info("stopped")
