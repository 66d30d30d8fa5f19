"""`followup doctor` against the Slack sandbox and a real SQLite file: one setup that passes,
then each misconfiguration made on purpose, each named by a FAIL line and a non-zero exit.

The sandbox answers as Slack does where doctor relies on it (bot/sandbox/scopes.py cites the
sources): `X-OAuth-Scopes` on every response, `missing_scope` with `needed`/`provided`,
`conversations.info` with `is_member`, `channel_not_found` for an unknown or hidden channel.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.runtime.doctor_slack import MANIFEST_BOT_SCOPES
from bot.sandbox import SlackSandbox
from db import migrate
from db.engine import make_engine, make_session_factory
from db.models import Team
from tests.conftest import BOT_TOKEN
from tests.posting import GENERIC_SECRET

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = {
    "C0DIGEST": "support-digest",
    "C0ESCALATE": "support-escalations",
    "C0TRIAGE": "support-triage",
    "C0HELPDESK": "helpdesk-feed",
    "C0TEAMDIGEST": "billing-digest",
}
SETUP_PREFIXES = ("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL", "PUBLIC_URL", "LOG_")
SETUP_NAMES = ("DIGEST_CHANNEL", "ESCALATION_CHANNEL", "TRIAGE_CHANNEL", "WATCHED_CHANNELS")


@pytest.fixture
def workspace(sandbox: SlackSandbox) -> SlackSandbox:
    for channel_id, name in CHANNELS.items():
        sandbox.add_channel(channel_id, name, is_private=channel_id == "C0TRIAGE")
    sandbox.add_user("U0ADA", name="ada", email="ada@example.com")
    return sandbox


@pytest.fixture
def database(sqlite_url: str) -> str:
    migrate.upgrade(sqlite_url)
    add_team(sqlite_url, "billing", "Europe/Berlin")
    return sqlite_url


def add_team(url: str, slug: str, zone: str) -> None:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        session.add(
            Team(
                slug=slug,
                name=slug.title(),
                timezone=zone,
                digest_channel="C0TEAMDIGEST",
                created_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
    engine.dispose()


@pytest.fixture
def setup(
    workspace: SlackSandbox, database: str, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """A complete Socket Mode setup in the process environment; tests then break one thing."""
    for name in list(os.environ):
        if name.startswith(SETUP_PREFIXES) or name in SETUP_NAMES:
            monkeypatch.delenv(name)
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": workspace.app_token,
        "SLACK_API_URL": workspace.api_url,
        "DATABASE_URL": database,
        "WEBHOOK_SECRET_GENERIC": GENERIC_SECRET,
        "DIGEST_CHANNEL": "C0DIGEST",
        "ESCALATION_CHANNEL": "C0ESCALATE",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "WATCHED_CHANNELS": "C0HELPDESK:B0HELPDESK",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    empty = tmp_path / "empty.env"  # the setup is in the process environment
    empty.touch()
    status = main(["--env-file", str(empty), "doctor"])
    return status, capsys.readouterr().out.splitlines()


def fails(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_the_manifest_scopes_doctor_knows_are_app_yamls() -> None:
    manifest = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == MANIFEST_BOT_SCOPES


def test_a_complete_setup_passes_every_check(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = doctor(tmp_path, capsys)
    assert fails(lines) == []
    assert status == 0, lines
    text = "\n".join(lines)
    for found in (
        "PASS  Slack token: works in workspace Sandbox (T0SANDBOX) as U0BOT",
        "PASS  Slack scopes: the token has all 11 in app.yaml",
        "PASS  Socket Mode:",
        "PASS  ESCALATION_CHANNEL: #support-escalations (C0ESCALATE) exists and the bot is a",
        "PASS  TRIAGE_CHANNEL: #support-triage (C0TRIAGE)",
        "PASS  team billing digest channel: #billing-digest (C0TEAMDIGEST)",
        "PASS  WATCHED_CHANNELS: #helpdesk-feed (C0HELPDESK)",
        "PASS  database: reachable, schema at",
        "PASS  Slack roster: users.list readable",
        "PASS  agents:",
        "PASS  team billing: time zone Europe/Berlin",
        "PASS  policy:",
        "PASS  templates:",
        "PASS  webhook secrets: for known sources only (generic)",
    ):
        assert found in text
    assert lines[-1].startswith("all ") and lines[-1].endswith(" passed")
    assert "`" not in text and "<@" not in text  # plain text, no Slack markup


def test_a_missing_scope_is_named(
    setup: pytest.MonkeyPatch,
    workspace: SlackSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.bot_scopes = MANIFEST_BOT_SCOPES - {"groups:read"}
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert "FAIL  Slack scopes: the token lacks groups:read." in "\n".join(lines)
    # The private triage channel cannot even be looked up without it.
    assert any(
        line.startswith("FAIL  TRIAGE_CHANNEL: cannot look up C0TRIAGE: missing groups:read")
        for line in lines
    )


def test_the_bot_not_in_the_escalation_channel_says_whom_to_invite_where(
    setup: pytest.MonkeyPatch,
    workspace: SlackSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.add_channel("C0ESCALATE", "support-escalations", bot_is_member=False)
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert fails(lines) == [
        "FAIL  ESCALATION_CHANNEL: the bot is not a member of #support-escalations (C0ESCALATE)."
        " Fix: invite @Followup to #support-escalations (type /invite @Followup in the channel)."
    ]


def test_a_private_triage_channel_the_bot_is_not_in_is_not_found(
    setup: pytest.MonkeyPatch,
    workspace: SlackSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.add_channel("C0TRIAGE", "support-triage", is_private=True, bot_is_member=False)
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  TRIAGE_CHANNEL: C0TRIAGE not found")
    assert "invite @Followup" in line


def test_an_unknown_channel_is_named(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.setenv("DIGEST_CHANNEL", "C0NOSUCH")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  DIGEST_CHANNEL: C0NOSUCH not found")


def test_a_misspelt_webhook_source_is_a_line_with_the_right_name(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`followup run` refuses it at start-up; doctor reports it and checks everything else."""
    setup.setenv("WEBHOOK_SECRET_ZENDEKS", "x" * 32)
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  WEBHOOK_SECRET_ZENDEKS: names no known webhook source")
    assert "rename it WEBHOOK_SECRET_ZENDESK" in line
    assert any(line.startswith("PASS  database") for line in lines)


def test_a_hubspot_secret_without_public_url_fails(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.setenv("WEBHOOK_SECRET_HUBSPOT", "h" * 32)
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  PUBLIC_URL: not set, but WEBHOOK_SECRET_HUBSPOT is")
    assert "Fix: set PUBLIC_URL" in line


def test_a_database_not_migrated_says_to_upgrade(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    setup.setenv("DATABASE_URL", f"sqlite:///{empty}")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  database: the schema is at nothing, the code needs ")
    assert line.endswith("Fix: run followup db upgrade.")


def test_an_unreachable_database_is_one_line(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder: SQLite cannot open it
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  database: cannot be reached (unable to open database file)")


def test_a_missing_sqlite_file_is_reported_not_created(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    setup.setenv("DATABASE_URL", f"sqlite:///{missing}")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  database: the SQLite file of DATABASE_URL")
    assert "Fix: run followup db upgrade" in line
    assert not missing.exists()


def test_a_bad_policy_file_is_named(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[defaults]\nbatch_cap = "many"\n')
    setup.setenv("FOLLOWUP_POLICY", str(policy))
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith(f"FAIL  policy: {policy}")


def test_a_misspelt_template_override_names_the_nearest_shipped_one(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "drafts" / "chat").mkdir(parents=True)
    (overrides / "drafts" / "chat" / "chek_in.j2").write_text("Hi {{ first_name }}\n")
    setup.setenv("FOLLOWUP_TEMPLATES", str(overrides))
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert "drafts/chat/chek_in.j2: replaces no shipped template" in line
    assert "did you mean drafts/chat/check_in.j2?" in line


def test_templates_check_reports_a_misspelt_override_too(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, `followup templates check` said "templates OK" and the file was never used."""
    overrides = tmp_path / "overrides"
    (overrides / "drafts" / "email").mkdir(parents=True)
    (overrides / "drafts" / "email" / "fix_hld.j2").write_text("Subject: {{ subject }}\n")
    setup.setenv("FOLLOWUP_TEMPLATES", str(overrides))
    (tmp_path / "empty.env").touch()
    assert main(["--env-file", str(tmp_path / "empty.env"), "templates", "check"]) == 1
    out = capsys.readouterr()
    assert "templates OK" not in out.out
    assert "did you mean drafts/email/fix_held.j2?" in out.err


def test_a_team_with_a_bad_time_zone_is_named(
    setup: pytest.MonkeyPatch, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_team(database, "mars", "Mars/Olympus_Mons")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert (
        "FAIL  team mars: time zone 'Mars/Olympus_Mons' is not an IANA time zone."
        in fails(lines)[0]
    )


def test_users_list_failing_fails_the_roster_check(
    setup: pytest.MonkeyPatch,
    workspace: SlackSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.fail_next("users.list", status=None, error="fatal_error")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  Slack roster: users.list failed (fatal_error)")


def test_a_refused_token_stops_the_slack_checks(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert fails(lines)[0].startswith("FAIL  Slack token: Slack refused SLACK_BOT_TOKEN")
    assert not any("CHANNEL" in line for line in lines)


def test_http_mode_without_public_url_fails_the_request_url_check(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.delenv("SLACK_APP_TOKEN")
    setup.setenv("SLACK_SIGNING_SECRET", "s" * 32)
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    (line,) = fails(lines)
    assert line.startswith("FAIL  request URL: HTTP mode (no SLACK_APP_TOKEN) but PUBLIC_URL")


def test_a_configuration_error_is_a_line_not_a_traceback(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.delenv("SLACK_BOT_TOKEN")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert fails(lines) == [
        "FAIL  configuration: SLACK_BOT_TOKEN is missing: expected a token starting xoxb-. "
        "Fix: correct it in the environment or .env."
    ]


def test_a_rate_limited_slack_is_a_warning_at_once_not_an_hour_of_silence(
    setup: pytest.MonkeyPatch,
    workspace: SlackSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.fail_next("auth.test", status=429, error="ratelimited", retry_after=3600)
    started = time.monotonic()
    status, lines = doctor(tmp_path, capsys)
    assert time.monotonic() - started < 30
    assert any(line.startswith("WARN  Slack token: Slack answered 429") for line in lines)
    assert status == 0 or fails(lines)  # a WARN alone does not fail the run


def test_an_address_that_is_not_slack_is_blamed_not_the_token(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A proxy's HTML page or a wrong SLACK_API_URL used to read "Slack refused
    SLACK_BOT_TOKEN", sending the operator to copy a token that was fine."""
    with _http_server(404, b"<html>Not Found</html>", "text/html") as url:
        setup.setenv("SLACK_API_URL", url + "/api/")
        status, lines = doctor(tmp_path, capsys)
    assert status == 1
    line = fails(lines)[0]
    assert line.startswith("FAIL  Slack token: ") and "HTTP 404" in line
    assert "SLACK_API_URL" in line and "copy it again" not in line


def test_a_malformed_address_is_a_line_not_a_traceback(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.setenv("SLACK_API_URL", "http://exa mple.com/api/")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    assert fails(lines)[0].startswith("FAIL  Slack token: cannot reach Slack's Web API")


def test_in_http_mode_a_bot_not_yet_running_is_a_warning_so_a_deploy_can_start_it(
    setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.delenv("SLACK_APP_TOKEN")
    setup.setenv("SLACK_SIGNING_SECRET", "s" * 32)
    setup.setenv("PUBLIC_URL", "http://127.0.0.1:9")
    status, lines = doctor(tmp_path, capsys)
    assert status == 0, lines
    assert any(line.startswith("WARN  request URL: http://127.0.0.1:9/healthz") for line in lines)


@contextlib.contextmanager
def _http_server(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A server that answers every request with `status` and `body` (a proxy's error page)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
