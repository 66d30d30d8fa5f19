"""Secrets at start-up: a webhook secret too short to resist guessing is refused in one line,
and every configured secret is masked in output and logs, however short it is."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot import cli
from bot.config import MIN_WEBHOOK_SECRET, Settings, SettingsError
from bot.logs import SecretFilter

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "s3cret-signing-value"}
SHORT = "k9Zq2"  # five characters: below the old filter's six-character floor


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


@pytest.mark.parametrize("length", [1, 8, MIN_WEBHOOK_SECRET - 1])
def test_a_short_webhook_secret_is_refused_in_one_line_that_says_how_to_make_one(
    length: int,
) -> None:
    secret = "q7" * 8  # no "q" in the message itself
    with pytest.raises(SettingsError) as error:
        settings(WEBHOOK_SECRET_ZENDESK=secret[:length])
    message = str(error.value)
    assert message.startswith("WEBHOOK_SECRET_ZENDESK is too short")
    assert "secrets.token_urlsafe(24)" in message and "\n" not in message
    assert secret[:length] not in message  # the value itself is never echoed


def test_a_webhook_secret_of_sixteen_characters_is_accepted() -> None:
    secret = "p" * MIN_WEBHOOK_SECRET
    assert settings(WEBHOOK_SECRET_GENERIC=secret).webhook_secrets == {"generic": secret}


def test_a_short_secret_pasted_into_another_variable_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as error:
        settings(SLACK_SIGNING_SECRET=SHORT, PORT=SHORT)
    message = str(error.value)
    assert message.startswith("PORT is malformed")
    assert SHORT not in message and "<5 characters, hidden>" in message


def test_the_cli_does_not_print_a_short_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL", "PORT")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-abc")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SHORT)
    monkeypatch.setenv("PORT", SHORT)
    assert cli.main(["dispatch"]) == 2
    shown = capsys.readouterr()
    assert "PORT is malformed" in shown.err
    assert SHORT not in shown.out + shown.err


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("followup.test", logging.WARNING, __file__, 1, message, args, None)


def test_the_log_filter_masks_every_configured_secret_however_short() -> None:
    secrets = settings(
        SLACK_SIGNING_SECRET=SHORT, DATABASE_URL="postgresql://app:pw@db/followup"
    ).secrets()
    assert SHORT in secrets and "pw" in secrets
    log_filter = SecretFilter(secrets)
    line = record("bad signature %s; connect as app:%s@db", SHORT, "pw")
    log_filter.filter(line)
    shown = line.getMessage()
    assert SHORT not in shown and ":pw@" not in shown
    assert shown == "bad signature ***; connect as app:***@db"


def test_a_short_secret_is_masked_in_tracebacks_too() -> None:
    log_filter = SecretFilter([SHORT])
    try:
        raise ValueError(f"token {SHORT} refused")
    except ValueError:
        import sys

        line = logging.LogRecord(
            "followup.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    log_filter.filter(line)
    assert line.exc_text is not None
    assert SHORT not in line.exc_text and "token *** refused" in line.exc_text


def test_a_short_secret_inside_a_longer_word_leaves_that_word_alone() -> None:
    """Masking a two-letter secret everywhere would make every log line unreadable; it is
    masked wherever it stands as a value of its own."""
    log_filter = SecretFilter(["pw"])
    line = record("pwned? no: password pw, stored as 'pw'")
    log_filter.filter(line)
    assert line.getMessage() == "pwned? no: password ***, stored as '***'"
