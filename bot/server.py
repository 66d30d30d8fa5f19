"""The HTTP side: Slack requests, helpdesk webhooks and health, served by waitress."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from waitress import wasyncore
from waitress.server import create_server

from bot.deps import Deps

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
    """True when the database answers a trivial query."""
    try:
        with deps.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except (OperationalError, DBAPIError):
        return False


class FollowupWSGI:
    """Routes `/slack/events`, `/webhooks/<source>` and `/healthz`."""

    def __init__(self, deps: Deps, bolt_app: App | None, receive_webhook: WebhookReceiver) -> None:
        self.deps = deps
        # In Socket Mode Slack never calls us over HTTP; the route stays off so nothing unsigned
        # can reach the listeners.
        self.slack = SlackRequestHandler(bolt_app) if bolt_app is not None else None
        self.receive_webhook = receive_webhook

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            return self._health(start_response)
        if path == "/slack/events":
            if self.slack is None:
                return _json(
                    start_response,
                    404,
                    {"error": "Slack requests arrive over Socket Mode in this deployment"},
                )
            if method != "POST":
                return _json(start_response, 405, {"error": "use POST"})
            return self.slack(environ, start_response)
        if path.startswith("/webhooks/"):
            if method != "POST":
                return _json(start_response, 405, {"error": "use POST"})
            return self._webhook(environ, start_response, path.removeprefix("/webhooks/"))
        return _json(start_response, 404, {"error": f"no route for {path}"})

    def _health(self, start_response: StartResponse) -> list[bytes]:
        ok = database_ok(self.deps)
        payload = {
            "status": "ok" if ok else "unavailable",
            "database": "ok" if ok else "unreachable",
            "mode": "socket" if self.deps.settings.socket_mode else "http",
        }
        return _json(start_response, 200 if ok else 503, payload)

    def _webhook(
        self, environ: dict[str, Any], start_response: StartResponse, source: str
    ) -> list[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json(start_response, 400, {"error": "Content-Length is not a number"})
        if length > MAX_WEBHOOK_BODY:
            return _json(start_response, 413, {"error": "body larger than 1 MiB"})
        body = (
            environ["wsgi.input"].read(MAX_WEBHOOK_BODY + 1) if length or _chunked(environ) else b""
        )
        if len(body) > MAX_WEBHOOK_BODY:
            return _json(start_response, 413, {"error": "body larger than 1 MiB"})
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
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
        except DataError:
            # The database refused one of its values (validation should have caught it): a
            # retry would be refused again, so the sender must not be told to retry.
            log.warning("webhook %s: the database refused a value of the delivery", source)
            return _json(
                start_response,
                400,
                {"error": "a value of this delivery cannot be stored (too long or not text)"},
            )
        except (OperationalError, DBAPIError):
            log.warning("webhook %s: database unavailable, asking the sender to retry", source)
            return _json(
                start_response,
                503,
                {"error": "database unavailable, retry later"},
                [("Retry-After", "30")],
            )
        return _json(start_response, status, payload)


def _chunked(environ: dict[str, Any]) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


class HttpServer:
    """waitress in a background thread, stoppable; `port` is the one really bound."""

    def __init__(
        self, wsgi: Callable[..., Iterable[bytes]], host: str, port: int, threads: int
    ) -> None:
        self._server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="followup",
            clear_untrusted_proxy_headers=True,
            channel_timeout=30,
            connection_limit=1000,
        )
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
