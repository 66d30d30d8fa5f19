"""The `followup` console script as an operator runs it: real processes, real signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import SlackDriver, SlackSandbox

pytestmark = pytest.mark.realclock  # starts processes that read the real clock

FOLLOWUP = [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOLLOWUP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL"))
    }
    env.update(extra)
    return env


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "dispatch", "db", "policy", "templates", "demo"):
        assert command in result.stdout


def test_db_upgrade_needs_no_slack_tokens(tmp_path: Path) -> None:
    result = run_cli(
        "db", "upgrade", env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/f.db"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.db").exists()


def test_a_missing_variable_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run_cli("run", env=clean_env(SLACK_SIGNING_SECRET="abc"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "followup: SLACK_BOT_TOKEN is missing: expected a token starting xoxb-"
    ]


def test_secrets_never_reach_the_output(tmp_path: Path) -> None:
    secret = "xoxp-this-is-a-user-token-not-a-bot-token"
    result = run_cli("run", env=clean_env(SLACK_BOT_TOKEN=secret), cwd=tmp_path)
    assert result.returncode == 2
    assert secret not in result.stderr + result.stdout


def test_run_serves_slack_and_health_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with SlackSandbox() as sandbox:
        sandbox.add_user("U0ADA", name="ada", email="ada@example.com")
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-sandbox",
            SLACK_SIGNING_SECRET="cli-test-secret",
            SLACK_API_URL=sandbox.api_url,
            DATABASE_URL=f"sqlite:///{tmp_path}/followup.db",
            PORT=str(port),
            HOST="127.0.0.1",
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
            health = _wait_for_health(port)
            assert health == {"status": "ok", "database": "ok", "mode": "http"}
            driver = SlackDriver(
                f"http://127.0.0.1:{port}/slack/events", "cli-test-secret", sandbox
            )
            assert driver.command("U0ADA", "help").status == 200
            deadline = time.monotonic() + 3
            while not sandbox.responses and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "/followup due" in sandbox.responses[-1].body["text"]
            assert sandbox.calls_to("auth.test"), "the token is checked at start-up"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
        assert process.returncode == 0, output
        assert "stopped" in output
        # Bolt warned "As you gave client as well, token will be unused." at every start.
        assert "will be unused" not in output and "WARNING" not in output, output


def _wait_for_health(port: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return dict(json.loads(r.read()))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_broken_template_override_stops_start_up_naming_file_and_line(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides" / "drafts" / "email"
    overrides.mkdir(parents=True)
    (overrides / "check_in.j2").write_text("Hi {{ customer_name }},\n\nAbout {{ subjcet }}.\n")
    with SlackSandbox() as sandbox:
        result = run_cli(
            "run",
            cwd=tmp_path,
            env=clean_env(
                SLACK_BOT_TOKEN="xoxb-sandbox",
                SLACK_SIGNING_SECRET="s",
                PORT="0",
                SLACK_API_URL=sandbox.api_url,
                DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
                FOLLOWUP_TEMPLATES=str(tmp_path / "overrides"),
            ),
        )
    assert result.returncode == 2
    assert "drafts/email/check_in.j2 line 3: 'subjcet' is undefined" in result.stderr


def test_a_refused_token_or_an_unreachable_slack_is_one_clear_line(tmp_path: Path) -> None:
    with SlackSandbox(bot_token="xoxb-the-real-one") as sandbox:
        refused = run_cli(
            "run",
            cwd=tmp_path,
            env=clean_env(
                SLACK_BOT_TOKEN="xoxb-a-wrong-one",
                SLACK_SIGNING_SECRET="s",
                PORT="0",
                SLACK_API_URL=sandbox.api_url,
                DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
            ),
        )
    assert refused.returncode == 2
    assert "followup: Slack refused SLACK_BOT_TOKEN (invalid_auth)" in refused.stderr
    assert "xoxb-a-wrong-one" not in refused.stderr
    unreachable = run_cli(
        "run",
        cwd=tmp_path,
        env=clean_env(
            SLACK_BOT_TOKEN="xoxb-x",
            SLACK_SIGNING_SECRET="s",
            PORT="0",
            SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
            DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
        ),
    )
    assert unreachable.returncode == 75  # EX_TEMPFAIL: a service manager tries again
    assert "followup: cannot reach Slack's Web API at http://127.0.0.1:" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://followup:hunter2-db-secret@127.0.0.1:{port}/followup"
    for args in (("db", "upgrade"), ("teams", "list")):
        result = run_cli(*args, env=clean_env(DATABASE_URL=url), cwd=tmp_path)
        assert result.returncode == 75, result.stderr  # EX_TEMPFAIL: it may come up
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("followup: the database (DATABASE_URL) cannot be used: ")
        assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_a_port_in_use_or_a_bad_host_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with SlackSandbox(bot_token="xoxb-sandbox") as sandbox, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        base = {
            "SLACK_BOT_TOKEN": "xoxb-sandbox",
            "SLACK_SIGNING_SECRET": "cli-test-secret",
            "SLACK_API_URL": sandbox.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/f.db",
        }
        in_use = run_cli(
            "run",
            cwd=tmp_path,
            env=clean_env(**base, HOST="127.0.0.1", PORT=str(port)),
        )
        bad_host = run_cli("run", cwd=tmp_path, env=clean_env(**base, HOST="not..a..host"))
    assert in_use.returncode == 75  # the old process may still be letting go of it
    assert f"port {port} on 127.0.0.1 is already in use" in in_use.stderr
    assert bad_host.returncode == 2
    assert "cannot listen on not..a..host:3000" in bad_host.stderr
    for result in (in_use, bad_host):
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x08" + bytes(range(256)), "the file is not CSV text"),
        (b"case_id,subject\x00\n1,a\n", "its first line holds NUL bytes"),
        (b'case_id,"subject\n', "line 1: not readable as CSV (unexpected end of data)"),
    ],
)
def test_importing_a_file_that_is_no_csv_is_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(content)
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/f.db")
    result = run_cli("import", str(path), "--quiet", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
