"""`followup run` in Socket Mode as an operator runs it: a real process, the sandbox, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import SlackDriver, SlackSandbox
from handlers.webhooks.generic import sign_generic

# Under libfaketime the sandbox's Socket Mode hub never sees the bot's ack: the WebSocket client
# and a timed Condition.wait hang (seen at every faked moment), so CI's faketime runs skip this
# one. What it runs at a given date (dispatch, the scheduler) is the HTTP-mode `followup run`,
# which those runs cover (tests/bot/test_cli.py).
pytestmark = [pytest.mark.realclock, pytest.mark.not_under_faketime]

FOLLOWUP = [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    method = "GET" if body is None else "POST"
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_health(port: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        try:
            return dict(request(f"http://127.0.0.1:{port}/healthz")[1])
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_run_in_socket_mode_answers_over_the_socket_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with SlackSandbox() as sandbox:
        sandbox.add_user("U0ADA", name="ada", email="ada@example.com")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL"))
        }
        env.update(
            SLACK_BOT_TOKEN=sandbox.bot_token,
            SLACK_APP_TOKEN=sandbox.app_token,
            SLACK_API_URL=sandbox.api_url,
            DATABASE_URL=f"sqlite:///{tmp_path}/followup.db",
            PORT=str(port),
            HOST="127.0.0.1",
            WEBHOOK_SECRET_GENERIC="run-webhook-secret",
        )
        process = subprocess.Popen(
            [*FOLLOWUP, "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert wait_for_health(port) == {"status": "ok", "database": "ok", "mode": "socket"}
            sandbox.socket_mode.wait_connected(timeout=10)
            assert sandbox.calls_to("apps.connections.open")[0].token == sandbox.app_token

            driver = SlackDriver.over_socket(sandbox)
            assert driver.command("U0ADA", "help").status == 200
            deadline = time.monotonic() + 5
            while not sandbox.responses and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "/followup due" in sandbox.responses[-1].body["text"]

            assert request(f"http://127.0.0.1:{port}/slack/events", b"{}")[0] == 404
            case = json.dumps(
                {
                    "case_id": "RUN-1",
                    "subject": "Cannot export the quarterly report",
                    "closed_at": "2026-11-20T10:00:00+00:00",
                    "owner_email": "ada@example.com",
                }
            ).encode()
            headers = sign_generic("run-webhook-secret", case, int(time.time()))
            status, _ = request(f"http://127.0.0.1:{port}/webhooks/generic", case, headers)
            assert status == 202
        finally:
            stopping = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        stopped_in = time.monotonic() - stopping
        assert stopped_in < 5, f"exit took {stopped_in:.1f} s: the socket client held it up"
        assert "stopped" in output
        deadline = time.monotonic() + 5
        while sandbox.socket_mode.connection_count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sandbox.socket_mode.connection_count == 0
