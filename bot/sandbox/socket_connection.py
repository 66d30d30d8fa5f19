"""One accepted WebSocket on the sandbox: the upgrade answer, the frame loop, sending."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from bot.sandbox.socket_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    ProtocolError,
    accept_key,
    close_payload,
    encode_frame,
    exact_reader,
    read_frame,
)


class SocketConnection:
    """A WebSocket taken over from an HTTP request: frames out under a lock, in on its thread."""

    def __init__(self, connection_id: int, handler: BaseHTTPRequestHandler) -> None:
        self.id = connection_id
        self.sock: socket.socket = handler.connection
        self._read_exactly = exact_reader(handler.rfile.read)
        self._send_lock = threading.Lock()
        # The hub's bookkeeping, changed under its lock.
        self.live = False  # hello sent and not gone
        self.draining = False  # asked to reconnect: no new envelopes
        self.deaf = False  # failing: acknowledgements sent on it never arrive
        self.refresh_timer: threading.Timer | None = None

    @classmethod
    def accept(cls, connection_id: int, handler: BaseHTTPRequestHandler) -> SocketConnection | None:
        """Answer the upgrade with 101 (None, after a 400, when it is no WebSocket 13 handshake)."""
        key = handler.headers.get("Sec-WebSocket-Key")
        if not key or handler.headers.get("Sec-WebSocket-Version") != "13":
            refuse(handler, 400, "not a WebSocket version 13 handshake")
            return None
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(key))
        handler.end_headers()
        return cls(connection_id, handler)

    def send(self, opcode: int, payload: bytes = b"") -> None:
        """Write one frame; OSError when the connection is gone."""
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload))

    def send_json(self, message: dict[str, Any]) -> None:
        """Write one text frame holding `message` as JSON."""
        self.send(OP_TEXT, json.dumps(message).encode())

    def close(self, code: int) -> None:
        """Send a close frame, then cut the connection."""
        with contextlib.suppress(OSError):
            self.send(OP_CLOSE, close_payload(code))
        self.kill()

    def kill(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure does."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def run(self, on_text: Callable[[bytes], None]) -> None:
        """Read frames until the peer closes or the connection fails; hand on each text message."""
        parts: list[bytes] = []
        kind = OP_TEXT
        while True:
            try:
                frame = read_frame(self._read_exactly)
            except ProtocolError:
                self.close(1002)
                return
            except (EOFError, OSError):
                return
            try:
                if frame.opcode == OP_PING:
                    self.send(OP_PONG, frame.payload)
                elif frame.opcode == OP_CLOSE:
                    # Echo the status code, as RFC 6455 asks; the caller then drops the socket.
                    self.send(OP_CLOSE, frame.payload[:2])
                    return
                elif frame.opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                    if frame.opcode != OP_CONTINUATION:
                        kind, parts = frame.opcode, []
                    parts.append(frame.payload)
                    if frame.fin and kind == OP_TEXT:
                        on_text(b"".join(parts))
                # Pongs need no answer.
            except OSError:
                return


def refuse(handler: BaseHTTPRequestHandler, status: int, reason: str) -> None:
    """Answer an upgrade request with an HTTP error instead of a WebSocket."""
    body = json.dumps({"ok": False, "error": reason}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
