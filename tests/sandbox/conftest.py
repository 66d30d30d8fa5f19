"""Sandbox test fixtures: a started sandbox, a real WebClient, a signed-request receiver."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

# The repo root is not on sys.path when pytest is run through the venv's console script.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.sandbox import SlackSandbox  # noqa: E402
from tests.sandbox.receiver import SIGNING_SECRET, Received, Receiver  # noqa: E402


@pytest.fixture
def sandbox() -> Iterator[SlackSandbox]:
    """A started sandbox with two agents, a lead and a team channel."""
    with SlackSandbox() as started:
        started.add_user(
            "U0AGENT1",
            name="ann",
            real_name="Ann Agent",
            email="ann@example.com",
            tz="Europe/London",
        )
        started.add_user(
            "U0AGENT2",
            name="bob",
            real_name="Bob Agent",
            email="bob@example.com",
            tz="America/New_York",
        )
        started.add_user("U0LEAD", name="lee", real_name="Lee Lead", email="lee@example.com")
        started.add_channel("C0TEAM", "support-team", members=["U0AGENT1", "U0AGENT2", "U0LEAD"])
        yield started


@pytest.fixture
def client(sandbox: SlackSandbox) -> WebClient:
    """A real slack_sdk WebClient pointed at the sandbox with the bot token."""
    return WebClient(base_url=sandbox.api_url, token=sandbox.bot_token)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver that verifies Slack signatures and parses bodies like Bolt."""
    from slack_bolt.request.internals import parse_body

    verifier = SignatureVerifier(SIGNING_SECRET)
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            headers = {key.lower(): value for key, value in self.headers.items()}
            if not verifier.is_valid_request(raw, headers):
                state.rejected += 1
                self._send(401, b"")
                return
            body = parse_body(raw, headers.get("content-type"))
            state.requests.append(Received(raw, headers, body))
            if body.get("type") == "url_verification":
                self._send(200, json.dumps({"challenge": body["challenge"]}).encode())
            elif state.answer_body is not None:
                self._send(state.answer_status, json.dumps(state.answer_body).encode())
            else:
                self._send(state.answer_status, b"")

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if payload else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
