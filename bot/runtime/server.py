"""The HTTP side: Slack requests, helpdesk webhooks and health, served by waitress."""

from __future__ import annotations

import io
import json
import logging
import resource
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import make_wsgi_app
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

from bot import metrics
from bot.cases import SOURCES
from bot.deps import Deps
from bot.runtime.slack_door import MAX_SLACK_BODY, Refusal, body_problem, check_signature
from db import engine as db_engine

log = logging.getLogger("followup.server")

MAX_WEBHOOK_BODY = 1024 * 1024  # 1 MiB: far above any real ticket payload
StartResponse = Callable[..., Any]
WebhookReceiver = Callable[[Deps, dict[str, Any]], tuple[int, dict[str, Any]]]


def _json(
    start_response: StartResponse,
    status: int,
    payload: dict[str, Any],
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload).encode()
    reasons = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        415: "Unsupported Media Type",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {reasons.get(status, 'Unknown')}", headers + (extra or []))
    return [body]


def database_ok(deps: Deps) -> bool:
    """True when the database answers a trivial query (a read: it never queues for SQLite's
    writer lock)."""
    return db_engine.ping(deps.engine)


HEALTH_WAIT_SECONDS = 1.0


class HealthProbe:
    """`/healthz`'s database check, answered within HEALTH_WAIT_SECONDS whatever the database
    does: the check runs on a thread of its own, one at a time, and a check still running is
    reported "slow" rather than waited for (a stuck database must not hold server threads)."""

    def __init__(self, check: Callable[[], bool], wait: float = HEALTH_WAIT_SECONDS) -> None:
        self._check = check
        self._wait = wait
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()
        self._answer = False

    def __call__(self) -> str:
        """One of "ok", "unreachable" or "slow"."""
        with self._lock:
            if self._done.is_set():
                self._done.clear()
                threading.Thread(target=self._run, name="healthz", daemon=True).start()
            done = self._done
        if not done.wait(self._wait):
            return "slow"
        return "ok" if self._answer else "unreachable"

    def _run(self) -> None:
        try:
            self._answer = self._check()
        finally:
            self._done.set()


class FollowupWSGI:
    """Routes `/slack/events`, `/webhooks/<source>`, `/healthz` and (with METRICS=1)
    `/metrics`."""

    def __init__(self, deps: Deps, bolt_app: App | None, receive_webhook: WebhookReceiver) -> None:
        self.deps = deps
        # In Socket Mode Slack never calls us over HTTP; the route stays off so nothing unsigned
        # can reach the listeners.
        self.slack = SlackRequestHandler(bolt_app) if bolt_app is not None else None
        self.receive_webhook = receive_webhook
        self.health = HealthProbe(lambda: database_ok(deps))
        # Off unless METRICS=1; served in Socket Mode too, since this server runs in both.
        self.metrics = make_wsgi_app(metrics.REGISTRY) if deps.settings.metrics else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            return self._health(start_response)
        if path == "/metrics" and self.metrics is not None:
            if method not in ("GET", "HEAD"):
                return _json(start_response, 405, {"error": "use GET"})
            return self.metrics(environ, start_response)
        if path == "/slack/events":
            if self.slack is None:
                return _json(
                    start_response,
                    404,
                    {"error": "Slack requests arrive over Socket Mode in this deployment"},
                )
            if method != "POST":
                return _json(start_response, 405, {"error": "use POST"})
            return self._slack(environ, start_response, self.slack)
        if path.startswith("/webhooks/"):
            if method != "POST":
                return _json(start_response, 405, {"error": "use POST"})
            return self._webhook(environ, start_response, path.removeprefix("/webhooks/"))
        return _json(start_response, 404, {"error": f"no route for {path}"})

    def _health(self, start_response: StartResponse) -> list[bytes]:
        database = self.health()
        ok = database == "ok"
        payload = {
            "status": "ok" if ok else ("degraded" if database == "slow" else "unavailable"),
            "database": database,
            "mode": "socket" if self.deps.settings.socket_mode else "http",
        }
        return _json(start_response, 200 if ok else 503, payload)

    def _slack(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        bolt: Callable[..., Iterable[bytes]],
    ) -> Iterable[bytes]:
        """Size, signature and shape first; only then Bolt, on the very bytes checked."""
        body = _read_body(environ, MAX_SLACK_BODY)
        if isinstance(body, Refusal):
            return _json(start_response, body.status, {"error": body.reason})
        secret = self.deps.settings.slack_signing_secret or ""
        refusal = check_signature(_headers(environ), body, secret, time.time())
        if refusal is not None:
            log.info("/slack/events refused: %s", refusal.reason)
            return _json(start_response, refusal.status, {"error": refusal.reason})
        problem = body_problem(body, environ.get("CONTENT_TYPE"))
        if problem is not None:
            log.warning("/slack/events: a signed request Bolt cannot read: %s", problem)
            return _json(start_response, 400, {"error": problem})
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return bolt(environ, start_response)

    def _webhook(
        self, environ: dict[str, Any], start_response: StartResponse, source: str
    ) -> list[bytes]:
        body = _read_body(environ, MAX_WEBHOOK_BODY)
        if isinstance(body, Refusal):
            _webhook_refused(source, body.status, body.reason, logging.INFO)
            return _json(start_response, body.status, {"error": body.reason})
        headers = _headers(environ)
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        request = {
            "source": source,
            "method": environ.get("REQUEST_METHOD", "POST"),
            "path": environ.get("PATH_INFO", ""),
            "query": query,
            "query_string": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body": body,
        }
        try:
            status, payload = self.receive_webhook(self.deps, request)
        except db_engine.VALUE_REFUSED:
            # The database refused one of its values (validation should have caught it): a
            # retry would be refused again, so the sender must not be told to retry.
            reason = "the database refused a value of the delivery"
            _webhook_refused(source, 400, reason, logging.WARNING)
            return _json(
                start_response,
                400,
                {"error": "a value of this delivery cannot be stored (too long or not text)"},
            )
        except db_engine.DATABASE_DOWN:
            reason = "database unavailable, asking the sender to retry"
            _webhook_refused(source, 503, reason, logging.WARNING)
            return _json(
                start_response,
                503,
                {"error": "database unavailable, retry later"},
                [("Retry-After", "30")],
            )
        return _json(start_response, status, payload)


def _webhook_refused(source: str, status: int, reason: str, level: int) -> None:
    """The one log line and count of a webhook refused before or around the adapter (size,
    database), in the same shape as handlers/webhooks/receive.py's."""
    shown = source if source in SOURCES else "unknown"  # never echo a raw path
    log.log(
        level,
        "webhook %s case - delivery -: refused (%d): %s",
        shown,
        status,
        reason,
        extra={"event": "webhook", "source": shown, "outcome": "refused"}
        | {"reason": reason, "status": status},
    )
    metrics.WEBHOOKS.labels(source=shown, outcome="refused").inc()


def _chunked(environ: dict[str, Any]) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's HTTP headers by their usual names ("X-Slack-Signature")."""
    return {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


def _read_body(environ: dict[str, Any], limit: int) -> bytes | Refusal:
    """The request body, read no further than `limit` + 1 bytes; 400/413 when it cannot be."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return Refusal(400, "Content-Length is not a number")
    too_large = Refusal(413, f"body larger than {limit / (1024 * 1024):g} MiB")
    if length > limit:
        return too_large
    body: bytes = environ["wsgi.input"].read(limit + 1) if length or _chunked(environ) else b""
    return too_large if len(body) > limit else body


IDLE_SECONDS = 10
"""A connection with no request under way is closed after this long without a byte."""
REQUEST_SECONDS = 10
"""A request's headers and body must arrive within this, however slowly they trickle in."""
CONNECTION_LIMIT = 4000
"""Open connections before waitress stops accepting; near it the longest-idle ones make room."""
ROOM_AT = 0.9


class _GuardedChannel(HTTPChannel):
    """waitress's channel, noting when the request now arriving began (its own idle timeout
    restarts at every byte, so a client trickling a byte every few seconds is never closed)."""

    partial_since: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and self.partial_since is None:
            self.partial_since = time.time()
        result = bool(super().received(data))
        if self.request is None:
            self.partial_since = None
        return result


def _close_slow_and_idle(server: Any, now: float) -> None:
    """waitress's periodic maintenance, stricter: close connections idle past IDLE_SECONDS or
    trickling one request past REQUEST_SECONDS; near the limit, close the longest-idle ones
    (never one whose request is being answered)."""
    idle: list[Any] = []
    for channel in list(server.active_channels.values()):
        if channel.requests:
            continue
        started = getattr(channel, "partial_since", None)
        if started is not None:
            if now - started > REQUEST_SECONDS:
                channel.will_close = True
        elif now - channel.last_activity > IDLE_SECONDS:
            channel.will_close = True
        else:
            idle.append(channel)
    excess = len(server._map) - int(CONNECTION_LIMIT * ROOM_AT)
    if excess > 0:
        idle.sort(key=lambda channel: channel.last_activity)
        for channel in idle[:excess]:
            channel.will_close = True
        log.warning("%d open connections: closed the %d longest idle", len(server._map), excess)


def _raise_open_file_limit(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class HttpServer:
    """waitress in a background thread, stoppable; `port` is the one really bound.

    Slow or many clients cannot hold it: idle and trickling connections are closed (above);
    poll() rather than select(), so more than 1,024 sockets work; a body over 2 MiB is refused
    by waitress from its Content-Length before it is read, one over 1 MiB by us (JSON). More
    connections than CONNECTION_LIMIT are the reverse proxy's to absorb (docs/deploy.md).
    """

    def __init__(
        self, wsgi: Callable[..., Iterable[bytes]], host: str, port: int, threads: int
    ) -> None:
        _raise_open_file_limit(CONNECTION_LIMIT + 256)
        self._server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="followup",
            clear_untrusted_proxy_headers=True,
            channel_timeout=IDLE_SECONDS,
            cleanup_interval=1,
            connection_limit=CONNECTION_LIMIT,
            asyncore_use_poll=True,
            max_request_header_size=64 * 1024,
            max_request_body_size=2 * max(MAX_SLACK_BODY, MAX_WEBHOOK_BODY),
        )
        server: Any = self._server
        server.channel_class = _GuardedChannel
        server.maintenance = lambda now: _close_slow_and_idle(server, now)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)  # type: ignore[union-attr]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every socket from inside waitress's own loop (closing them from this thread
        races its select()), which ends the loop; then let the worker threads finish."""
        server: Any = self._server
        # Worker threads first: one finishing a request pulls the loop's trigger, which must
        # still be open then (closing it first made a late response fail with EBADF).
        server.task_dispatcher.shutdown()
        if self._thread is not None and self._thread.is_alive():
            try:
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            except OSError:
                # The trigger's pipe is already closed (seen once in ~10 full test runs, after a
                # 413): the loop cannot be woken, so the sockets are closed from here instead.
                log.warning("waitress's trigger was already closed; closing its sockets here")
                wasyncore.close_all(server._map)
            self._thread.join(timeout=5)
        else:
            wasyncore.close_all(server._map)
