"""Settings: the only reader of the environment; fails fast and names what is wrong."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_DATABASE_URL, Settings, SettingsError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "s3cret-signing-value"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults_are_the_embedded_setup() -> None:
    s = settings()
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.port == 3000
    assert not s.socket_mode


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is missing"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is malformed"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is missing"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN is malformed"),
        ({"PORT": "eighty"}, "PORT is malformed"),
        ({"PORT": "70000"}, "PORT is out of range"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL is malformed"),
        ({"SLACK_API_URL": "localhost:9999"}, "SLACK_API_URL is malformed"),
        ({"ESCALATION_CHANNEL": "escalations!"}, "ESCALATION_CHANNEL is malformed"),
        ({"FOLLOWUP_POLICY": "/no/such/policy.toml"}, "FOLLOWUP_POLICY is malformed"),
        ({"FOLLOWUP_TEMPLATES": "/no/such/folder"}, "FOLLOWUP_TEMPLATES is malformed"),
        ({"FOLLOWUP_TIMEZONE": "Mars/Olympus"}, "FOLLOWUP_TIMEZONE is malformed"),
        ({"WEBHOOK_SECRET_ZENDESKK": "x"}, "WEBHOOK_SECRET_ZENDESKK names an unknown"),
        ({"WEBHOOK_INSECURE_SOURCES": "generic,nope"}, "WEBHOOK_INSECURE_SOURCES is malformed"),
    ],
)
def test_a_bad_variable_is_named_in_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings(**env)
    message = str(error.value)
    assert message.startswith(names)
    assert "\n" not in message


def test_socket_mode_needs_no_signing_secret() -> None:
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A-1-z"})
    assert s.socket_mode


def test_secrets_never_appear_in_errors_or_repr() -> None:
    with pytest.raises(SettingsError) as error:
        settings(SLACK_BOT_TOKEN="xoxp-very-secret-user-token")
    assert "very-secret" not in str(error.value)
    s = settings(
        DATABASE_URL="postgresql://app:hunter2pw@db/followup",
        WEBHOOK_SECRET_ZENDESK="zendesk-shh-0123456789",
    )
    shown = repr(s) + str(s)
    for secret in ("xoxb-1-abc", "s3cret-signing-value", "hunter2pw", "zendesk-shh-0123456789"):
        assert secret not in shown
    assert set(s.secrets()) >= {
        "xoxb-1-abc",
        "s3cret-signing-value",
        "hunter2pw",
        "zendesk-shh-0123456789",
    }


def test_plain_postgres_urls_use_psycopg_3() -> None:
    assert settings(DATABASE_URL="postgres://u@h/d").database_url == "postgresql+psycopg://u@h/d"


def test_webhook_secrets_per_source() -> None:
    s = settings(
        WEBHOOK_SECRET_ZENDESK="a" * 16,
        WEBHOOK_SECRET_GENERIC="b" * 16,
        WEBHOOK_INSECURE_SOURCES="freshdesk",
    )
    assert s.webhook_secrets == {"zendesk": "a" * 16, "generic": "b" * 16}
    assert s.webhook_insecure == frozenset({"freshdesk"})


def test_offline_commands_need_no_slack_tokens() -> None:
    s = Settings.from_env({"DATABASE_URL": "sqlite:///x.db"}, require_slack=False)
    assert s.database_url == "sqlite:///x.db"
