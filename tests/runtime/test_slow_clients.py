"""Slow and many clients cannot hold the HTTP server: idle and trickling connections are cut
off, and a crowd of idle ones leaves Slack's requests answered within its 3 seconds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import bot.runtime.server as server


def closed_within(client: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes `client` within `seconds` (sending `trickle` every 0.2 s)."""
    client.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if trickle:
                client.sendall(trickle)
            if client.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


@contextmanager
def open_crowd(bot: Any, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections to the bot that never send a byte, closed at the end."""
    port = bot.running.http.port
    crowd = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    try:
        yield crowd
    finally:
        for client in crowd:
            client.close()


def answers_a_command_within_3_seconds(bot: Any) -> bool:
    started = time.monotonic()
    status = bot.driver.command("U0AGENT", "help").status
    return status == 200 and time.monotonic() - started < 3


def test_1100_idle_connections_leave_a_signed_command_answered_within_3_seconds(
    bot: Any,
) -> None:
    with open_crowd(bot, 1100):
        time.sleep(0.5)  # let the server accept them all before the real request
        assert answers_a_command_within_3_seconds(bot)


def test_an_idle_connection_is_closed(bot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "IDLE_SECONDS", 1)
    with socket.create_connection(("127.0.0.1", bot.running.http.port), timeout=5) as client:
        assert closed_within(client, 5)


def test_a_client_trickling_its_headers_is_cut_off(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte now and then restarts waitress's own idle timer; the request deadline does not."""
    monkeypatch.setattr(server, "IDLE_SECONDS", 1)
    monkeypatch.setattr(server, "REQUEST_SECONDS", 2)
    with socket.create_connection(("127.0.0.1", bot.running.http.port), timeout=5) as client:
        client.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n")
        assert closed_within(client, 6, trickle=b"X")


def test_a_crowd_near_the_limit_makes_room_by_closing_the_longest_idle(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "CONNECTION_LIMIT", 60)
    with open_crowd(bot, 80) as crowd:
        assert closed_within(crowd[0], 4)
        assert answers_a_command_within_3_seconds(bot)
