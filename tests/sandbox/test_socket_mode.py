"""The sandbox's Socket Mode: slack-sdk's built-in client against it, and the wire by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.runtime.start import close_socket_mode
from bot.sandbox import SlackSandbox
from bot.sandbox.socket_mode import EnvelopeNotAcknowledged, NotConnected
from bot.sandbox.waiting import wait_for

COMMAND = {"command": "/followup", "text": "help", "user_id": "U0AGENT1", "team_id": "T0SANDBOX"}


@pytest.fixture
def connect(sandbox: SlackSandbox) -> Iterator[Callable[..., SocketModeClient]]:
    """Start slack-sdk's built-in client; it acks every request with `answer(request)`."""
    clients: list[SocketModeClient] = []

    def start(
        answer: Callable[[SocketModeRequest], dict[str, Any] | None] = lambda r: None,
        url_suffix: str = "",
    ) -> SocketModeClient:
        web = WebClient(base_url=sandbox.api_url)
        client = SocketModeClient(sandbox.app_token, web_client=web, ping_interval=0.3)
        if url_suffix:
            issue = client.issue_new_wss_url
            client.issue_new_wss_url = lambda: issue() + url_suffix  # type: ignore[method-assign]
        client.received = []  # type: ignore[attr-defined]

        def on_request(client: Any, request: SocketModeRequest) -> None:
            client.received.append(request)
            response = SocketModeResponse(request.envelope_id, answer(request))
            client.send_socket_mode_response(response)

        client.socket_mode_request_listeners.append(on_request)
        client.on_message_listeners.append(lambda raw: client.received.append(json.loads(raw)))
        client.connect()
        clients.append(client)
        return client

    yield start
    for client in clients:
        close_socket_mode(client)


def test_hello_then_envelopes_acknowledged_with_their_payload(
    sandbox: SlackSandbox, connect: Any
) -> None:
    client = connect(lambda request: {"text": f"hi {request.payload['text']}"})
    hub = sandbox.socket_mode
    hub.wait_connected()
    hello = wait_for(lambda: [m for m in client.received if m.get("type") == "hello"])[0]
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": sandbox.app_id}
    assert hello["debug_info"]["approximate_connection_time"] > 360
    ack = hub.deliver("slash_commands", COMMAND, accepts_response_payload=True)
    assert ack["payload"] == {"text": "hi help"}
    [request] = [r for r in client.received if isinstance(r, SocketModeRequest)]
    assert (request.type, request.accepts_response_payload) == ("slash_commands", True)
    assert request.payload == COMMAND


def test_the_url_is_single_use_and_needs_the_app_token(sandbox: SlackSandbox) -> None:
    url = WebClient(base_url=sandbox.api_url).apps_connections_open(app_token=sandbox.app_token)
    assert url["url"].startswith(f"ws://127.0.0.1:{urlsplit(sandbox.base_url).port}/link/?ticket=")
    first, _ = handshake(url["url"])
    assert first.startswith(b"HTTP/1.1 101")
    again, _ = handshake(url["url"])
    assert again.startswith(b"HTTP/1.1 401")
    made_up, _ = handshake(url["url"].replace("ticket=", "ticket=x"))
    assert made_up.startswith(b"HTTP/1.1 401")


def test_pings_are_answered_and_fragmented_acks_understood(sandbox: SlackSandbox) -> None:
    hub = sandbox.socket_mode
    status, sock = handshake(open_url(sandbox))
    assert status.startswith(b"HTTP/1.1 101")
    assert json.loads(read_server_frame(sock)[1])["type"] == "hello"
    sock.sendall(client_frame(0x9, b"session:123.4"))
    assert read_server_frame(sock) == (0xA, b"session:123.4")
    envelope_id = hub.send("events_api", {"type": "event_callback", "event_id": "Ev1"})
    envelope = json.loads(read_server_frame(sock)[1])
    assert (envelope["envelope_id"], envelope["retry_attempt"]) == (envelope_id, 0)
    ack = json.dumps({"envelope_id": envelope_id}).encode()
    sock.sendall(client_frame(0x1, ack[:10], fin=False) + client_frame(0x0, ack[10:]))
    assert hub.wait_ack(envelope_id, timeout=2) == {"envelope_id": envelope_id}
    sock.sendall(client_frame(0x8, struct.pack("!H", 1000)))
    assert read_server_frame(sock) == (0x8, struct.pack("!H", 1000))
    sock.close()


def test_large_envelopes_use_extended_lengths(sandbox: SlackSandbox, connect: Any) -> None:
    client = connect()
    sandbox.socket_mode.wait_connected()
    for size in (200, 70_000):
        payload = {"type": "event_callback", "event": {"text": "x" * size}}
        sandbox.socket_mode.deliver("events_api", payload, timeout=5)
    texts = [r.payload["event"]["text"] for r in client.received if hasattr(r, "payload")]
    assert [len(t) for t in texts] == [200, 70_000]


def test_an_unmasked_client_frame_fails_the_connection(sandbox: SlackSandbox) -> None:
    _, sock = handshake(open_url(sandbox))
    read_server_frame(sock)  # hello
    sock.sendall(bytes([0x81, 2]) + b"{}")
    opcode, body = read_server_frame(sock)
    assert (opcode, struct.unpack("!H", body[:2])[0]) == (0x8, 1002)
    assert wait_for(lambda: sandbox.socket_mode.connection_count == 0)
    sock.close()


def test_disconnect_refresh_moves_the_client_to_a_new_connection(
    sandbox: SlackSandbox, connect: Any
) -> None:
    client = connect()
    hub = sandbox.socket_mode
    hub.wait_connected()
    assert hub.request_refresh() == 1
    hub.wait_connected(opened_at_least=2)
    assert {"type": "disconnect", "reason": "refresh_requested"}.items() <= next(
        m for m in client.received if m.get("type") == "disconnect"
    ).items()
    assert wait_for(lambda: hub.connection_count == 1)
    assert hub.deliver("interactive", {"type": "block_actions"}, timeout=5) == {
        "envelope_id": hub.envelopes[-1].envelope_id
    }


def test_debug_reconnects_shortens_the_connection(sandbox: SlackSandbox, connect: Any) -> None:
    hub = sandbox.socket_mode
    hub.debug_refresh_seconds = 0.3
    client = connect(url_suffix="&debug_reconnects=true")
    hello = wait_for(lambda: [m for m in client.received if m.get("type") == "hello"])[0]
    assert hello["debug_info"]["approximate_connection_time"] == 360
    hub.wait_connected(opened_at_least=2, timeout=10)  # refreshed without being asked to


def test_unacknowledged_events_are_retried_on_the_next_connection(
    sandbox: SlackSandbox, connect: Any
) -> None:
    client = connect()
    hub = sandbox.socket_mode
    hub.wait_connected()
    hub.drop_after_next_envelope()
    ack = hub.deliver("events_api", {"type": "event_callback", "event_id": "Ev9"}, timeout=15)
    [envelope] = hub.envelopes
    assert ack == {"envelope_id": envelope.envelope_id}
    assert (envelope.attempts, envelope.retry_reason) == (2, "connection_lost")
    retries = [r.retry_attempt for r in client.received if isinstance(r, SocketModeRequest)]
    assert retries == [0, 1], "the client saw the first delivery, its ack never arrived"


def test_unacknowledged_commands_are_lost_and_need_a_connection(
    sandbox: SlackSandbox, connect: Any
) -> None:
    with pytest.raises(NotConnected):
        sandbox.socket_mode.send("slash_commands", COMMAND)
    connect()
    hub = sandbox.socket_mode
    hub.wait_connected()
    hub.drop_after_next_envelope()
    with pytest.raises(EnvelopeNotAcknowledged, match="does not deliver those again"):
        hub.deliver("slash_commands", COMMAND, accepts_response_payload=True, timeout=15)
    assert [e.attempts for e in hub.envelopes] == [1]


def test_stopping_the_sandbox_cuts_open_connections(connect: Any) -> None:
    with SlackSandbox() as other:
        other.socket_mode.open_url(other.base_url)
        status, sock = handshake(open_url(other))
        assert status.startswith(b"HTTP/1.1 101")
        read_server_frame(sock)
        other.stop()
        sock.settimeout(2)
        assert sock.recv(1) == b""
        sock.close()


# -- a minimal WebSocket client, to look at the wire ------------------------------------------


def open_url(sandbox: SlackSandbox) -> str:
    web = WebClient(base_url=sandbox.api_url)
    return str(web.apps_connections_open(app_token=sandbox.app_token)["url"])


def handshake(url: str) -> tuple[bytes, socket.socket]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    if head.startswith(b"HTTP/1.1 101"):
        expected = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        assert f"Sec-WebSocket-Accept: {base64.b64encode(expected).decode()}".encode() in head
    return head, sock


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)])
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_server_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exactly(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data

    first, second = exactly(2)
    assert not second & 0x80, "server frames are never masked"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", exactly(8))
    return first & 0x0F, exactly(length)
