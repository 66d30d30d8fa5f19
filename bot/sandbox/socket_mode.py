"""Socket Mode on the sandbox: Slack's side of the WebSocket, as slack-sdk's clients expect it.

What Slack does, and the sandbox with it (Slack's Socket Mode guide; slack-sdk's client and the
test server in its own test suite):

- `apps.connections.open`, called with the app-level token, returns a single-use
  `ws://127.0.0.1:PORT/link/?ticket=…&app_id=…`; a client may append `&debug_reconnects=true`.
- On connect the server sends `hello` (`num_connections`, `debug_info.approximate_connection_time`,
  `connection_info.app_id`). With `debug_reconnects=true` it asks for a refresh after
  `debug_refresh_seconds` (Slack: 360 s).
- Each request is an envelope `{"envelope_id", "type", "payload", "accepts_response_payload"}`
  of type `events_api` (with `retry_attempt` and `retry_reason`), `slash_commands` or
  `interactive`; the app acknowledges with `{"envelope_id": …, "payload": {…}?}`. The payload
  of an acknowledgement is the same JSON an HTTP app would answer with (modal `errors`,
  `response_action`, a slash command's immediate reply).
- `{"type": "disconnect", "reason": "refresh_requested"}` asks the client to open a new
  connection; the old one gets no new envelopes.
- Pings are answered with pongs carrying the same bytes (slack-sdk's built-in client measures
  staleness from them); a close frame is echoed.
- An Events API envelope that is not acknowledged when its connection goes is delivered again on
  the next connection with `retry_attempt` + 1, at most 3 retries, as Slack retries events.
  Slash commands and interactions are not redelivered (Slack shows the user an error instead):
  such an envelope is reported lost.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.socket_connection import SocketConnection, refuse

ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
EVENT_RETRIES = 3  # the Events API's retry count
CONNECTION_SECONDS = 18060  # what Slack's hello usually announces (about 5 hours)
DEBUG_CONNECTION_SECONDS = 360
LINK_PATH = "/link/"
HOST = "applink-sandbox"


class NotConnected(Exception):
    """No open Socket Mode connection to deliver a slash command or interaction on."""


class EnvelopeNotAcknowledged(TimeoutError):
    """The app never acknowledged an envelope (in time, or before its connection went)."""


@dataclass
class Envelope:
    """One request pushed to the app, and what became of it."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    attempts: int = 0  # times written to a socket
    retry_reason: str = ""
    ack: dict[str, Any] | None = None  # the app's acknowledgement message
    lost: bool = False  # not acknowledged, and Slack would not deliver it again
    connection_id: int | None = None

    def message(self) -> dict[str, Any]:
        """The JSON text frame Slack sends for this delivery attempt."""
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            body["retry_attempt"] = max(self.attempts - 1, 0)
            body["retry_reason"] = self.retry_reason
        return body


class SocketModeServer:
    """The sandbox's Socket Mode endpoint: tickets, connections, envelopes and their acks."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.debug_refresh_seconds: float = DEBUG_CONNECTION_SECONDS
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[SocketConnection] = []
        self._envelopes: dict[str, Envelope] = {}
        self._outbox: list[str] = []
        self._ids = itertools.count(1)
        self._opened = 0
        self._drops_pending = 0
        self._turn = 0
        self._stopped = False

    # -- the Web API side ------------------------------------------------------------------

    def open_url(self, base_url: str) -> str:
        """A fresh single-use WebSocket URL on the sandbox (what apps.connections.open returns)."""
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        ws_base = base_url.replace("http://", "ws://", 1)
        return f"{ws_base}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # -- connections -----------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Take over an HTTP request asking to upgrade; return when the WebSocket has ended."""
        handler.close_connection = True
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        ticket = (query.get("ticket") or [""])[0]
        with self._cond:
            known = ticket in self._tickets and not self._stopped
            self._tickets.discard(ticket)
        if url.path != LINK_PATH or not known:
            refuse(handler, 401, "invalid or already used Socket Mode ticket")
            return
        connection = SocketConnection.accept(next(self._ids), handler)
        if connection is None:
            return
        debug = (query.get("debug_reconnects") or [""])[0] == "true"
        if self._open(connection, debug):
            try:
                connection.run(lambda data: self._receive(connection, data))
            finally:
                self._gone(connection)

    def _open(self, connection: SocketConnection, debug: bool) -> bool:
        with self._cond:
            count = len(self._live()) + 1
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": HOST,
                "build_number": 1,
                "approximate_connection_time": DEBUG_CONNECTION_SECONDS
                if debug
                else CONNECTION_SECONDS,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            connection.send_json(hello)
        except OSError:
            return False
        with self._cond:
            if self._stopped:
                connection.kill()
                return False
            connection.live = True
            self._connections.append(connection)
            self._opened += 1
            if debug:
                timer = threading.Timer(
                    self.debug_refresh_seconds, self._refresh, args=([connection],)
                )
                timer.daemon = True
                connection.refresh_timer = timer
                timer.start()
            queued = self._take_outbox(connection)
            self._cond.notify_all()
        for envelope in queued:
            self._transmit(envelope, connection)
        return True

    def _receive(self, connection: SocketConnection, data: bytes) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError:
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            return
        with self._cond:
            if connection.deaf:
                return
            envelope = self._envelopes.get(message["envelope_id"])
            if envelope is None or envelope.ack is not None or envelope.lost:
                return
            envelope.ack = message
            if envelope.envelope_id in self._outbox:
                self._outbox.remove(envelope.envelope_id)
            self._cond.notify_all()

    def _gone(self, connection: SocketConnection) -> None:
        """Forget a connection; its unacknowledged events go again, other envelopes are lost."""
        connection.kill()
        with self._cond:
            connection.live = False
            if connection in self._connections:
                self._connections.remove(connection)
            if connection.refresh_timer is not None:
                connection.refresh_timer.cancel()
            for envelope in self._envelopes.values():
                if envelope.connection_id != connection.id or envelope.ack is not None:
                    continue
                envelope.connection_id = None
                if envelope.type == "events_api" and envelope.attempts <= EVENT_RETRIES:
                    envelope.retry_reason = "connection_lost"
                    self._outbox.append(envelope.envelope_id)
                else:
                    envelope.lost = True
            target = self._pick()
            queued = self._take_outbox(target) if target is not None else []
            self._cond.notify_all()
        if target is not None:
            for envelope in queued:
                self._transmit(envelope, target)

    # -- delivery --------------------------------------------------------------------------

    def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push one envelope; return its id. Events wait for a connection, the rest need one."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}")
        envelope = Envelope(
            envelope_id=str(uuid.uuid4()),
            type=envelope_type,
            payload=copy.deepcopy(payload),
            accepts_response_payload=accepts_response_payload,
            attempts=retry_attempt,
            retry_reason=retry_reason,
        )
        with self._cond:
            target = self._pick()
            if target is None and envelope_type != "events_api":
                raise NotConnected(f"no Socket Mode connection to deliver {envelope_type} on")
            self._envelopes[envelope.envelope_id] = envelope
            if target is None:
                self._outbox.append(envelope.envelope_id)
                return envelope.envelope_id
            self._assign(envelope, target)
            drop = self._drops_pending > 0
            if drop:
                self._drops_pending -= 1
                target.deaf = True
        self._transmit(envelope, target)
        if drop:
            target.kill()
        return envelope.envelope_id

    def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Send one envelope and return the app's acknowledgement message.

        While the app is between connections a slash command or interaction waits for the next
        one (a person tries again); EnvelopeNotAcknowledged when no acknowledgement comes.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                envelope_id = self.send(
                    envelope_type,
                    payload,
                    accepts_response_payload=accepts_response_payload,
                    retry_attempt=retry_attempt,
                    retry_reason=retry_reason,
                )
                break
            except NotConnected:
                self.wait_connected(max(deadline - time.monotonic(), 0.0))
        return self.wait_ack(envelope_id, max(deadline - time.monotonic(), 0.0))

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope; EnvelopeNotAcknowledged if none comes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                envelope = self._envelopes[envelope_id]
                if envelope.ack is not None:
                    return copy.deepcopy(envelope.ack)
                if envelope.lost:
                    raise EnvelopeNotAcknowledged(
                        f"{envelope.type} envelope {envelope_id} was not acknowledged before "
                        "its connection closed, and Slack does not deliver those again"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EnvelopeNotAcknowledged(
                        f"no acknowledgement of {envelope.type} envelope {envelope_id} "
                        f"within {timeout:g} s"
                    )
                self._cond.wait(remaining)

    def wait_connected(self, timeout: float = 10.0, *, opened_at_least: int = 1) -> None:
        """Block until a connection takes envelopes and `opened_at_least` have said hello."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pick(advance=False) is None or self._opened < opened_at_least:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no Socket Mode connection within {timeout:g} s "
                        f"({self._opened} opened so far, {opened_at_least} wanted)"
                    )
                self._cond.wait(remaining)

    # -- faults ----------------------------------------------------------------------------

    def drop(self, close_code: int | None = None) -> int:
        """Cut every open connection (after a close frame when `close_code` is given)."""
        with self._cond:
            doomed = list(self._connections)
            for connection in doomed:
                connection.deaf = True  # nothing more goes out on it, and no ack gets back
        for connection in doomed:
            if close_code is None:
                connection.kill()
            else:
                connection.close(close_code)
        return len(doomed)

    def drop_after_next_envelope(self) -> None:
        """The next envelope is written, then its connection fails before any ack gets back."""
        with self._cond:
            self._drops_pending += 1

    def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Send `disconnect` on every open connection, as Slack does before recycling them."""
        with self._cond:
            targets = list(self._connections)
        self._refresh(targets, reason)
        return len(targets)

    def _refresh(self, targets: list[SocketConnection], reason: str = "refresh_requested") -> None:
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
        for connection in targets:
            with self._cond:
                if not connection.live:
                    continue
                connection.draining = True
            with contextlib.suppress(OSError):
                connection.send_json(message)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones (the sandbox is going away)."""
        with self._cond:
            self._stopped = True
            self._tickets.clear()
            self._cond.notify_all()
        self.drop()

    # -- what happened ---------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Connections open now (including ones asked to refresh)."""
        with self._cond:
            return len(self._connections)

    @property
    def connections_opened(self) -> int:
        """Connections that have said hello since the sandbox started."""
        with self._cond:
            return self._opened

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope pushed so far, oldest first (copies)."""
        with self._cond:
            return [replace(e, payload=copy.deepcopy(e.payload)) for e in self._envelopes.values()]

    # -- internals (call with the condition held) ------------------------------------------

    def _live(self) -> list[SocketConnection]:
        return [c for c in self._connections if c.live and not c.draining and not c.deaf]

    def _pick(self, *, advance: bool = True) -> SocketConnection | None:
        """The next connection to deliver on, round robin as Slack spreads envelopes."""
        live = self._live()
        if not live:
            return None
        chosen = live[self._turn % len(live)]
        if advance:
            self._turn += 1
        return chosen

    def _take_outbox(self, connection: SocketConnection) -> list[Envelope]:
        queued = [self._envelopes[i] for i in self._outbox if self._envelopes[i].ack is None]
        self._outbox.clear()
        for envelope in queued:
            self._assign(envelope, connection)
        return queued

    def _assign(self, envelope: Envelope, connection: SocketConnection) -> None:
        envelope.attempts += 1
        envelope.connection_id = connection.id

    def _transmit(self, envelope: Envelope, connection: SocketConnection) -> None:
        with self._cond:
            message = copy.deepcopy(envelope.message())
        try:
            connection.send_json(message)
        except OSError:
            # The reader notices too and hands the envelope to the next connection.
            connection.kill()
