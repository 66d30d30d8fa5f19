"""The composition root: settings → database → clock → Slack client → app → servers → scheduler."""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.web import SlackResponse

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deps import Deps, make_web_client
from bot.dispatch.delivery import describe
from bot.people.directory import sync_directory, sync_if_stale
from bot.render.templates import Renderer, check_templates
from bot.rules.policy_file import load_policy
from bot.runtime.app import build_app, listener_pool
from bot.runtime.scheduler import build_scheduler, stop_scheduler
from bot.runtime.server import FollowupWSGI, HttpServer
from db import migrate
from db.engine import make_engine, make_session_factory
from handlers.webhooks.receive import receive_webhook

log = logging.getLogger("followup.run")

# slack-sdk's built-in Socket Mode client notices a dead connection only through its pings
# (several missed in a row); Bolt's default of 10 s leaves a silent drop unnoticed for about a
# minute, slack-sdk's own default of 5 s halves that.
SOCKET_PING_SECONDS = 5.0


class StartupError(Exception):
    """Start-up cannot go on; the message says what to do. `transient`: it may well go on in a
    moment unchanged (Slack or the address not reachable yet), so a service manager may retry;
    otherwise the setup must change first."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def build_deps(settings: Settings, clock: Clock | None = None) -> Deps:
    """Database, clock, Slack client, policy and renderer for `settings`, built once."""

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
    if deps.engine.dialect.name == "sqlite":
        migrate.upgrade(deps.settings.database_url, engine=deps.engine)
        return
    current = migrate.current_revision(deps.engine)
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

    listeners: Executor | None = None
    stopped: bool = False

    def stop(self) -> None:
        """Take no more requests, let what was acknowledged finish, then close the database."""

        if self.stopped:
            return
        self.stopped = True
        stop_scheduler(self.scheduler)
        if self.socket_mode is not None:
            close_socket_mode(self.socket_mode.client)
        self.http.stop()
        if self.listeners is not None:
            # A click or submission already acknowledged still opens its modal or updates its
            # DM: Slack will not send it again, so dropping the work would lose it.
            self.listeners.shutdown(wait=True)
        self.deps.engine.dispose()


def close_socket_mode(client: SocketModeClient) -> None:
    """Close slack-sdk's built-in Socket Mode client at once, not after its 3 s read timeout."""
    # What close() sets first, set before the socket goes so nothing reconnects in between.
    client.auto_reconnect_enabled = False
    client.current_session_state.terminated = True
    session = client.current_session
    sock = session.sock if session is not None else None
    if sock is not None:
        # The reader holds the socket's receive lock inside recv(); close() needs that lock.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    try:
        client.close()
    except AttributeError:
        # slack-sdk 3.47: two threads can both pass disconnect()'s `if self.sock is not None`;
        # the loser fails on None. Closing again finds the socket gone and finishes the job.
        client.close()


GIL_SWITCH_SECONDS = 0.001
"""How long a thread may hold the GIL while others wait (CPython's default is 5 ms); set by
`start` and by `followup dispatch`.

The webhook writer, every database call and the delivery threads waiting on Slack release the
GIL and must win it back from busy request threads: 1 ms hands it back sooner
(docs/performance.md).
"""


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between two young-generation collections (CPython's default is 700).

Each Slack request, webhook and DM allocates thousands of short-lived objects; at 700 the
collector runs so often that its full collections, which stop every thread while they walk the
whole heap, dominate tail latency (docs/performance.md).
"""


def tune_interpreter() -> None:
    """A busy multi-threaded server's settings: GIL hand-over and garbage-collection pace."""
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def start(
    deps: Deps,
    *,
    verify_token: bool = True,
    with_scheduler: bool = True,
    socket_ping_seconds: float = SOCKET_PING_SECONDS,
) -> Running:
    """Start the HTTP server, Socket Mode (when configured) and the scheduler; return at once."""

    tune_interpreter()
    auth_test = check_slack(deps) if verify_token else None
    # The token was just checked: Bolt reuses that answer instead of calling auth.test again
    # on the first request (which fails that request if Slack is failing at that moment).
    listeners = listener_pool()
    app = build_app(deps, verify_token=False, auth_test=auth_test, listener_executor=listeners)
    settings = deps.settings
    wsgi = FollowupWSGI(deps, None if settings.socket_mode else app, receive_webhook)
    try:
        http = HttpServer(wsgi, settings.host, settings.port, settings.http_threads)
    except (OSError, ValueError) as error:
        listeners.shutdown(wait=False)
        in_use = isinstance(error, OSError) and error.errno == errno.EADDRINUSE
        problem = _bind_problem(settings.host, settings.port, error)
        raise StartupError(problem, transient=in_use) from None
    http.start()
    handler = None
    if settings.socket_mode:
        handler = SocketModeHandler(
            app, settings.slack_app_token, ping_interval=socket_ping_seconds
        )
        handler.connect()
    scheduler = build_scheduler(deps) if with_scheduler else None
    if scheduler is not None:
        read_directory(deps)
        scheduler.start()
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode at /slack/events"
    log.info("followup is up: %s, webhooks and /healthz on port %d", mode, http.port)
    return Running(deps, app, http, handler, scheduler, listeners)


def read_directory(deps: Deps, *, stale_only: bool = False) -> None:
    """The workspace directory before the first dispatch pass, so no DM waits on a lookup
    (`stale_only`: unless it was read within its refresh interval, for a one-shot command).
    If Slack refuses, logged: people are then looked up one by one until the next read."""
    try:
        if stale_only:
            sync_if_stale(deps)
        else:
            sync_directory(deps)
    except Exception as error:
        log.warning("could not read the directory (users.list): %s", describe(error))


def _bind_problem(host: str, port: int, error: Exception) -> str:
    """One line on why the HTTP server could not listen on `host`:`port`."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another followup or another program): "
            "stop it or set PORT to a free port"
        )
    if isinstance(error, OSError) and error.errno == errno.EACCES:
        return f"no permission to listen on port {port}: use a port above 1023"
    return (
        f"cannot listen on {host}:{port} ({error}): check HOST (an address or name of this "
        "machine) and PORT"
    )


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


def check_templates_at_start(deps: Deps) -> None:
    """A team's template overrides must render: a typo stops start-up, naming file and line."""

    if deps.settings.templates_dir is None:
        return
    problems = check_templates(deps.renderer, policy=deps.policy)
    if problems:
        listed = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise StartupError(
            f"FOLLOWUP_TEMPLATES has broken templates: {listed}{more}. "
            "Fix them (`followup templates check` lists them all)."
        )


def check_slack(deps: Deps) -> SlackResponse:
    """The bot token works against SLACK_API_URL (its auth.test answer); one clear line when
    it does not."""
    url = deps.settings.slack_api_url
    try:
        return deps.client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown error")
        raise StartupError(
            f"Slack refused SLACK_BOT_TOKEN ({code}): check the Bot User OAuth "
            "Token on the app's OAuth & Permissions page"
        ) from None
    except OSError as error:  # URLError and socket errors: nothing answers there
        reason = getattr(error, "reason", error)
        raise StartupError(
            f"cannot reach Slack's Web API at {url} ({reason}): check SLACK_API_URL and the "
            "network",
            transient=True,
        ) from None


def run_forever(deps: Deps) -> None:
    """`followup run`: start everything, wait for SIGTERM or SIGINT, stop cleanly. A signal
    during start-up (a service manager stopping a slow start) stops it as soon as it is up."""
    stop = threading.Event()
    with _signals_set(stop):
        ensure_schema(deps)
        check_templates_at_start(deps)
        running = start(deps)
        # What start-up built (modules, SQLAlchemy's and Bolt's machinery, templates) lives as
        # long as the process: out of the collector's sight, full collections walk only what
        # came after.
        gc.freeze()
        while not stop.wait(1.0):
            pass
    running.stop()
    log.info("stopped")
