"""Secrets never show: not in logs, not in HTTP replies, not in anything posted to Slack, not
in what the CLI prints, whatever goes wrong.

The bot runs with distinctive secrets (signing secret, bot token, every webhook secret, the
database password in DATABASE_URL) through start-up, good and badly signed webhooks, Slack
requests with bad signatures, failing Slack calls, an exception in a listener, a database
outage, and the CLI (good commands, bad settings next to the secrets, a database it cannot
reach). Everything it says is captured: log records at DEBUG (caplog), every HTTP reply body
and header, every Web API call and response-URL post the Slack sandbox received, and the
stdout and stderr of each CLI process. None may contain any secret.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot import ids
from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import SlackDriver, SlackSandbox
from handlers.webhooks import sign_generic
from tests.idle import wait_idle

pytestmark = pytest.mark.realclock  # starts processes that read the real clock

SIGNING_SECRET = "sgn-SECRET-7f3a9c1e5b2d"
BOT_TOKEN = "xoxb-SECRET-bot-4d2e8a6c"
APP_TOKEN = "xapp-SECRET-app-5e6f7a8b"
DB_PASSWORD = "pgpw-SECRET-c0ffee42"
SOURCES = (
    "generic",
    "zendesk",
    "intercom",
    "freshdesk",
    "hubspot",
    "jira",
    "helpscout",
    "front",
    "chatwoot",
    "zammad",
)
WEBHOOK_SECRETS = {source: f"whk-SECRET-{source}-91b7e3" for source in SOURCES}
SECRETS = [SIGNING_SECRET, BOT_TOKEN, APP_TOKEN, DB_PASSWORD, *WEBHOOK_SECRETS.values()]
FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def leaks(*texts: str) -> list[str]:
    """Each secret found in `texts`, with a little context."""
    found = []
    for blob in texts:
        for secret in SECRETS:
            at = blob.find(secret)
            if at >= 0:
                found.append(f"{secret}: ...{blob[max(at - 80, 0) : at + len(secret) + 20]}")
    return found


def with_password(url: str) -> str:
    """The PostgreSQL URL with DB_PASSWORD in it (the test server trusts local connections)."""
    scheme, rest = url.split("://", 1)
    user_host = rest.split("@", 1)
    host = user_host[-1]
    return f"{scheme}://postgres:{DB_PASSWORD}@{host}"


def env_for(database_url: str, sandbox: SlackSandbox | None, **extra: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url if sandbox else "http://127.0.0.1:9/api/",
        "DATABASE_URL": database_url,
        "PORT": "0",
        "HOST": "127.0.0.1",
        "PUBLIC_URL": "https://followup.example.com",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "ESCALATION_CHANNEL": "C0ESCALATE",
        "LOG_LEVEL": "DEBUG",
        **{f"WEBHOOK_SECRET_{s.upper()}": secret for s, secret in WEBHOOK_SECRETS.items()},
    }
    env.update(extra)
    return env


@dataclass
class Seen:
    """Everything the outside world got back from the bot."""

    replies: list[str] = field(default_factory=list)

    def http(self, method: str, url: str, body: bytes = b"", headers: Any = None) -> int:
        request = urllib.request.Request(url, data=body or None, headers=headers or {})
        request.method = method
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, payload, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, got = error.code, error.read(), error.headers
        self.replies.append(f"{status} {dict(got)} {payload.decode('utf-8', 'replace')}")
        return status


@pytest.fixture
def secret_sandbox() -> Iterator[SlackSandbox]:
    with SlackSandbox(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as box:
        box.add_user("U0AGENT", name="ada", real_name="Ada Lovelace", email="ada@example.com")
        box.add_user("U0LEAD", name="grace", real_name="Grace Hopper", email="grace@example.com")
        for channel in ("C0TRIAGE", "C0ESCALATE"):
            box.add_channel(channel, channel.lower().removeprefix("c0"))
        yield box


def sandbox_record(sandbox: SlackSandbox) -> str:
    """Every Web API call's arguments and answer, every response-URL post, every view."""
    calls = [{"method": c.method, "args": c.args, "response": c.response} for c in sandbox.calls]
    return json.dumps(
        {
            "calls": calls,
            "responses": [r.body for r in sandbox.responses],
            "views": sandbox.views(),
        },
        default=str,
    )


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler would write it, with its traceback."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.mark.postgres
def test_no_secret_in_logs_replies_or_slack_while_the_bot_runs_and_things_go_wrong(
    postgres_url: str,
    pg_admin: str,
    secret_sandbox: SlackSandbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.dispatch.dispatcher import dispatch_pass
    from bot.runtime.start import build_deps, ensure_schema, start
    from db import migrate

    sandbox = secret_sandbox
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(FRIDAY_10_UTC)
    settings = Settings.from_env(env_for(with_password(postgres_url), sandbox))
    assert set(settings.secrets()) == {s for s in SECRETS if s != APP_TOKEN}
    logging.getLogger("startup").info("settings: %s", settings)
    migrate.upgrade(settings.database_url)
    deps = build_deps(settings, clock)
    logging.getLogger("startup").info("engine: %r", deps.engine)
    ensure_schema(deps)
    running = start(deps, with_scheduler=False)
    seen = Seen()
    base = f"http://127.0.0.1:{running.http.port}"
    driver = SlackDriver(f"{base}/slack/events", SIGNING_SECRET, sandbox)
    try:
        seen.http("GET", f"{base}/healthz")
        seen.http("GET", f"{base}/no/such/route")
        seen.http("POST", f"{base}/webhooks/nosuchvendor", b"{}")
        # Every vendor: unsigned, signed with the wrong secret, and a body that is not JSON.
        for source in SOURCES:
            url = f"{base}/webhooks/{source}"
            json_headers = {"Content-Type": "application/json"}
            assert seen.http("POST", url, b'{"id": 1}', json_headers) in (400, 401, 403)
            wrong = sign_generic("not-the-secret", b"{}", clock.now())
            seen.http("POST", url, b"{}", {**json_headers, **wrong})
            seen.http("POST", url, b"{not json", json_headers)
            seen.http("POST", f"{url}?token=guess", b"{}", {"X-Followup-Token": "guess"})
        # A good delivery, which plans a follow-up for Ada.
        case = {
            "case_id": "SEC-1",
            "subject": "Refund missing on the March invoice",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
        }
        body = json.dumps(case).encode()
        headers = {
            "Content-Type": "application/json",
            **sign_generic(WEBHOOK_SECRETS["generic"], body, clock.now()),
        }
        assert seen.http("POST", f"{base}/webhooks/generic", body, headers) == 202
        # Slack requests: badly signed, stale, unsigned; then good ones.
        for options in ({"signature": "v0=" + "0" * 64}, {"timestamp": 1}, {"unsigned": True}):
            response = driver.command("U0AGENT", "due", **options)
            seen.replies.append(f"{response.status} {response.headers} {response.body}")
        for command in ("due", "help", "stats", "no-such-subcommand", "log"):
            response = driver.command("U0AGENT", command)
            seen.replies.append(f"{response.status} {response.headers} {response.body}")
        clock.set(MONDAY_10_UTC)
        assert dispatch_pass(deps).delivered == 1
        [dm] = sandbox.dm_messages("U0AGENT")
        followup_id = str(dm["metadata"]["event_payload"]["followup_ids"][0])
        channel = sandbox.im_channel("U0AGENT")

        def click(user: str = "U0AGENT") -> None:
            response = driver.block_action_from_message(
                user, channel, dm["ts"], ids.ACTION_FOLLOWED_UP, followup_id
            )
            seen.replies.append(f"{response.status} {response.headers} {response.body}")

        # Slack failing under a listener: views.open answers 500, then invalid_auth.
        sandbox.fail_next("views.open", times=3, status=500, error="internal_error")
        click()
        sandbox.fail_next("views.open", status=None, error="invalid_auth")
        click()
        click("U0LEAD")  # not the assignee: refused
        # A bug in a listener: an exception carrying whatever a careless message would show.
        from bot.loop import access

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"prepare_modal broke with {settings!r}")

        monkeypatch.setattr(access, "prepare_modal", broken)
        monkeypatch.setattr("handlers.actions.followup_buttons.prepare_modal", broken)
        click()
        # The database goes away: webhooks answer 503, Slack users get a friendly word.
        name = postgres_url.rsplit("/", 1)[1]
        admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            )
        try:
            case["case_id"] = "SEC-2"
            body = json.dumps(case).encode()
            headers = {
                "Content-Type": "application/json",
                **sign_generic(WEBHOOK_SECRETS["generic"], body, clock.now()),
            }
            assert seen.http("POST", f"{base}/webhooks/generic", body, headers) == 503
            for command in ("due", "stats"):
                response = driver.command("U0AGENT", command)
                seen.replies.append(f"{response.status} {response.headers} {response.body}")
            with pytest.raises(Exception) as failure:
                dispatch_pass(deps)
            seen.replies.append(f"{failure.value!s} {failure.value!r}")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
        wait_idle(running)  # listeners finish their replies after the ack
    finally:
        running.stop()
    assert any(r.levelno >= logging.ERROR for r in caplog.records), "nothing went wrong?"
    assert len(sandbox.responses) >= 5, "the users were answered"
    assert leaks(log_text(caplog), *seen.replies, sandbox_record(sandbox)) == []


# -- the CLI ---------------------------------------------------------------------------------


BAD_SETTINGS = {
    "PORT": "not-a-port",
    "DATABASE_URL": f"mysql://postgres:{DB_PASSWORD}@127.0.0.1:5432/followup",
    "FOLLOWUP_TIMEZONE": SIGNING_SECRET,  # a secret pasted into the wrong variable
    "LOG_LEVEL": BOT_TOKEN,
    "SLACK_APP_TOKEN": "xoxb" + APP_TOKEN[4:],
    "WEBHOOK_SECRET_NOPE": WEBHOOK_SECRETS["zendesk"],
    "DIGEST_CHANNEL": WEBHOOK_SECRETS["jira"],
    "PUBLIC_URL": WEBHOOK_SECRETS["front"],
}


@pytest.mark.parametrize("name", sorted(BAD_SETTINGS))
def test_a_bad_setting_next_to_the_secrets_is_named_without_them(name: str) -> None:
    from bot.config import SettingsError

    env = env_for(f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:5432/f", None)
    env[name] = BAD_SETTINGS[name]
    with pytest.raises(SettingsError) as failure:
        Settings.from_env(env)
    assert name in str(failure.value)
    assert leaks(str(failure.value), repr(failure.value)) == []


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:port/followup",
        f"postgresql+psycopg://postgres:{DB_PASSWORD}@[::1/followup",
        f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432:5433/followup",
    ],
)
def test_a_database_url_sqlalchemy_cannot_read_is_refused_without_its_password(url: str) -> None:
    from bot.config import SettingsError

    with pytest.raises(SettingsError) as failure:
        Settings.from_env({"DATABASE_URL": url}, require_slack=False)
    assert "DATABASE_URL is malformed" in str(failure.value)
    assert leaks(str(failure.value)) == []


def cli_env(**settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL", "LOG_LEVEL"))
    }
    env.update(settings)
    return env


def run_all(runs: dict[str, tuple[list[str], dict[str, str]]], cwd: Path) -> dict[str, str]:
    """Run the CLI invocations side by side; each one's exit status, stdout and stderr."""
    (cwd / "none.env").touch()  # an empty env file: nothing from a .env in the folder
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--env-file", str(cwd / "none.env"), *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (args, env) in runs.items()
    }
    outputs = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=60)
        outputs[name] = f"exit {process.returncode}\n{out}\n{err}"
    return outputs


@pytest.mark.postgres
def test_no_secret_in_what_the_cli_prints(
    tmp_path: Path, secret_sandbox: SlackSandbox, postgres_url: str
) -> None:
    from db import migrate

    sandbox = secret_sandbox
    good = env_for(f"sqlite:///{tmp_path / 'cli.db'}", sandbox)
    pg = with_password(postgres_url)
    unreachable = pg.replace(":5432/", ":1/")
    csv = tmp_path / "cases.csv"
    csv.write_text(
        "case_id,subject,closed_at,owner_email\n"
        "1,Printer jams,2026-11-19T10:00:00Z,ada@example.com\n"
        f"2,,not a date,{SIGNING_SECRET}\n"
    )
    runs = {
        "policy check": (["policy", "check"], good),
        "import": (["import", str(csv), "--quiet"], good),
        "dispatch": (["dispatch", "--now", "2026-11-23T10:00:00+00:00"], good),
        "bad time zone": (["run"], {**good, "FOLLOWUP_TIMEZONE": SIGNING_SECRET}),
        "database unreachable": (["dispatch"], {**good, "DATABASE_URL": unreachable}),
        "token Slack refuses": (["run"], {**good, "SLACK_BOT_TOKEN": BOT_TOKEN + "x"}),
    }
    migrate.upgrade(good["DATABASE_URL"])  # the schema first: then the runs side by side
    outputs = run_all({name: (a, cli_env(**env)) for name, (a, env) in runs.items()}, tmp_path)
    assert outputs["dispatch"].startswith("exit 0"), outputs["dispatch"]
    for name in ("bad time zone", "database unreachable", "token Slack refuses"):
        assert not outputs[name].startswith("exit 0"), (name, outputs[name])
    assert leaks(*(f"{name}: {output}" for name, output in outputs.items())) == []


def test_no_secret_in_what_followup_run_logs_at_debug(
    tmp_path: Path, secret_sandbox: SlackSandbox
) -> None:
    """The real process, with its real logging set-up at DEBUG (third-party loggers too)."""
    import signal
    import socket
    import time

    sandbox = secret_sandbox
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = cli_env(**env_for(f"sqlite:///{tmp_path / 'run.db'}", sandbox, PORT=str(port)))
    (tmp_path / "none.env").touch()  # an empty env file: nothing from a .env in the folder
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", str(tmp_path / "none.env"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = Seen()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if seen.http("GET", f"{base}/healthz") == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        for source in SOURCES:
            seen.http("POST", f"{base}/webhooks/{source}", b"{}", {"X-Hub-Signature": "sha1=0"})
        driver = SlackDriver(f"{base}/slack/events", SIGNING_SECRET, sandbox)
        responses = [
            driver.command("U0AGENT", "due", signature="v0=" + "0" * 64),
            driver.command("U0AGENT", "due"),
            driver.command("U0AGENT", "stats"),
        ]
        # Listeners whose Slack calls fail: one answers the user itself, the other's error is
        # logged with its traceback by the app's error handler.
        sandbox.fail_next("views.open", status=None, error="internal_error")
        responses.append(driver.command("U0AGENT", "log"))
        sandbox.fail_next("views.publish", status=None, error="internal_error")
        responses.append(driver.app_home_opened("U0AGENT"))
        seen.replies += [f"{r.status} {r.headers} {r.body}" for r in responses]
    finally:
        # `followup run` stops on SIGTERM only once every listener it took has run (and
        # logged its failure): its output is then complete, with no sleep to guess how long.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "DEBUG" in output and "ERROR followup.app: listener failed" in output, output[-3000:]
    assert "Traceback" in output
    assert leaks(output, *seen.replies, sandbox_record(sandbox)) == []
