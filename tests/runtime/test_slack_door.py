"""`POST /slack/events` against hostile clients: nothing unverified is parsed, answered 500 or
acted on, and no storm of them stalls the server."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.runtime.slack_door import MAX_SLACK_BODY, body_problem, check_signature
from bot.sandbox.payloads import sign
from tests.conftest import SIGNING_SECRET
from tests.idle import wait_idle

# --- the checks themselves ----------------------------------------------------------------------

NOW = 1_800_000_000


def headers(stamp: str, signature: str) -> dict[str, str]:
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": signature}


def test_no_signature_holds_without_a_signing_secret() -> None:
    body = b"x=1"
    forged = sign("", str(NOW), body.decode())
    refusal = check_signature(headers(str(NOW), forged), body, "", NOW)
    assert refusal is not None
    assert refusal.status == 401


def test_a_fresh_valid_signature_passes() -> None:
    body = b"command=%2Ffollowup&text=help"
    good = sign("secret", str(NOW), body.decode())
    assert check_signature(headers(str(NOW), good), body, "secret", NOW) is None


@pytest.mark.parametrize(
    ("stamp", "signature", "reason"),
    [
        ("", "v0=" + "0" * 64, "missing X-Slack-Request-Timestamp"),
        ("abc", "v0=" + "0" * 64, "malformed X-Slack-Request-Timestamp"),
        ("1e3", "v0=" + "0" * 64, "malformed X-Slack-Request-Timestamp"),
        ("-5", "v0=" + "0" * 64, "malformed X-Slack-Request-Timestamp"),
        ("9" * 40, "v0=" + "0" * 64, "malformed X-Slack-Request-Timestamp"),
        (str(NOW - 301), "v0=" + "0" * 64, "stale"),
        (str(NOW + 301), "v0=" + "0" * 64, "stale"),
        (str(NOW), "", "missing or malformed X-Slack-Signature"),
        (str(NOW), "v1=abc", "missing or malformed X-Slack-Signature"),
        (str(NOW), "v0=" + "0" * 64, "invalid X-Slack-Signature"),
    ],
)
def test_malformed_stale_or_wrong_signatures_are_401_with_the_reason(
    stamp: str, signature: str, reason: str
) -> None:
    refusal = check_signature(headers(stamp, signature), b"x=1", "secret", NOW)
    assert refusal is not None
    assert refusal.status == 401
    assert reason in refusal.reason


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"payload=notjson", "application/x-www-form-urlencoded", "not valid JSON"),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded", "not an object"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "JSON"),
        (b"[1, 2]", "application/json", "not an object"),
    ],
)
def test_bodies_bolt_cannot_read_are_named(body: bytes, content_type: str, problem: str) -> None:
    found = body_problem(body, content_type)
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "body", [b"", b"command=%2Ffollowup&text=help", b'{"type": "url_verification"}']
)
def test_bodies_bolt_reads_pass(body: bytes) -> None:
    assert body_problem(body, "application/x-www-form-urlencoded") is None


# --- over HTTP, against the running bot ---------------------------------------------------------


class Listener:
    """An attacker's listener: counts connections, never answers (holds them open)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(256)
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}/steal"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    box = Listener()
    yield box
    box.close()


def raw_post(bot: Any, body: Any, head: dict[str, str], timeout: float = 10) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", bot.running.http.port, timeout=timeout)
    try:
        chunked = head.get("Transfer-Encoding") == "chunked"
        connection.request("POST", "/slack/events", body=body, headers=head, encode_chunked=chunked)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def hostile_shapes(response_url: str) -> list[tuple[bytes, dict[str, str]]]:
    """The unsigned requests of the review, each naming the attacker's response_url."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    command = (
        f"command=%2Ffollowup&text=help&user_id=U0AGENT&response_url={response_url}"
    ).encode()
    bad_sig = {"X-Slack-Signature": "v0=" + "0" * 64}
    now = str(int(time.time()))
    return [
        (command, {**form, "X-Slack-Request-Timestamp": "abc", **bad_sig}),
        (command, {**form, "X-Slack-Request-Timestamp": "1e3", **bad_sig}),
        (command, {**form}),
        (command, {**form, "X-Slack-Request-Timestamp": now, **bad_sig}),
        (b"payload=notjson", {**form, "X-Slack-Request-Timestamp": now, **bad_sig}),
        (b"payload=%5B%5D", {**form, "X-Slack-Request-Timestamp": "abc"}),
        (b"{invalid", {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now}),
        (b"\xff\xfe\xfd", {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now}),
        (b"[" * 100_000, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now}),
    ]


def test_unsigned_malformed_requests_are_401_and_call_nobody(
    bot: Any, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for body, head in hostile_shapes(listener.url):
        assert raw_post(bot, body, head) == 401, (body[:40], head)
    wait_idle(bot)
    assert listener.connections == [], "an unverified request made the bot call out"
    assert bot.sandbox.responses == []
    assert not [r for r in caplog.records if r.exc_info], "a refused request logged a traceback"


def test_signed_bodies_bolt_cannot_read_are_400_not_500(bot: Any) -> None:
    for body in ("payload=notjson", "payload=%5B%5D", "{invalid", "[" * 5000):
        content_type = (
            "application/json" if body[0] in "{[" else "application/x-www-form-urlencoded"
        )
        assert bot.driver.post(body, content_type).status == 400, body[:20]


def test_a_body_over_the_limit_is_413_before_it_is_sent(bot: Any) -> None:
    """Headers announcing 200 MB, and not one byte of it: the answer comes at once."""
    with socket.create_connection(("127.0.0.1", bot.running.http.port), timeout=5) as client:
        client.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (200 * 1024 * 1024)
        )
        assert client.recv(64).startswith(b"HTTP/1.1 413")
    chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    body = b"{" + b" " * MAX_SLACK_BODY + b"}"
    assert raw_post(bot, iter([body]), chunked) == 413  # type: ignore[arg-type]


def test_a_storm_of_unsigned_requests_leaves_health_and_signed_commands_answering(
    bot: Any, listener: Listener
) -> None:
    shapes = hostile_shapes(listener.url)[:2]
    threads = [
        threading.Thread(target=raw_post, args=(bot, *shapes[n % 2], 30), daemon=True)
        for n in range(32)
    ]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", bot.running.http.port, timeout=5)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    assert time.monotonic() - started < 1.5
    started = time.monotonic()
    assert bot.driver.command("U0AGENT", "help").status == 200
    assert time.monotonic() - started < 3
    for thread in threads:
        thread.join(timeout=10)
    assert listener.connections == []


def test_the_signed_request_is_still_answered_by_bolt(bot: Any) -> None:
    assert bot.driver.command("U0AGENT", "help").status == 200
    wait_idle(bot)
    assert "/followup due" in bot.sandbox.responses[-1].body["text"]
    assert SIGNING_SECRET not in bot.sandbox.responses[-1].body["text"]
