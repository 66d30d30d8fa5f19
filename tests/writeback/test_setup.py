"""Write-back's settings: validated at start-up (a clear error naming the variable) and checked
against the helpdesk by `followup doctor`; secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import WRITEBACK_FIELDS, Settings, SettingsError
from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.helpdesks.zendesk import TOKEN
from tests.runtime.test_doctor import database, doctor, fails, setup, workspace  # noqa: F401

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def parse(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_no_variables_no_write_back_and_every_helpdesk_has_its_fields() -> None:
    assert parse().writeback == {}
    assert set(WRITEBACK_FIELDS) == {
        "generic", "zendesk", "freshdesk", "jira", "hubspot",
        "helpscout", "front", "chatwoot", "zammad", "intercom",
    }  # fmt: skip


def test_one_variable_turns_a_source_on_and_the_missing_ones_are_named() -> None:
    with pytest.raises(SettingsError, match="WRITEBACK_ZENDESK_EMAIL is missing: expected the"):
        parse(WRITEBACK_ZENDESK_URL="https://acme.zendesk.com", WRITEBACK_ZENDESK_TOKEN="t0k")
    settings = parse(
        WRITEBACK_ZENDESK_URL="https://acme.zendesk.com/",
        WRITEBACK_ZENDESK_EMAIL="ops@acme.com",
        WRITEBACK_ZENDESK_TOKEN="zd-secret-token-value",
    )
    assert settings.writeback["zendesk"]["URL"] == "https://acme.zendesk.com"
    assert "zd-secret-token-value" in settings.secrets(), "the log filter hides it"
    assert "zd-secret-token-value" not in repr(settings)


def test_defaults_fill_the_optional_fields() -> None:
    settings = parse(WRITEBACK_HUBSPOT_TOKEN="pat-na1-secret")
    assert settings.writeback["hubspot"]["URL"] == "https://api.hubapi.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WRITEBACK_ZENDESK_URL": "acme.zendesk.com"}, "WRITEBACK_ZENDESK_URL is malformed"),
        ({"WRITEBACK_ZENDESK_EMAIL": "not-an-email"}, "WRITEBACK_ZENDESK_EMAIL is malformed"),
        ({"WRITEBACK_INTERCOM_ADMIN_ID": "12 34"}, "WRITEBACK_INTERCOM_ADMIN_ID is malformed"),
        ({"WRITEBACK_GENERIC_SECRET": "tiny-secret"}, "WRITEBACK_GENERIC_SECRET is too short"),
        ({"WRITEBACK_ZENDSK_TOKEN": "x"}, "WRITEBACK_ZENDSK_TOKEN is not a write-back variable"),
        (
            {"WRITEBACK_ZENDESK_URL": "http://acme.zendesk.com"},
            "WRITEBACK_ZENDESK_URL must be https",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    complete = {
        "WRITEBACK_ZENDESK_URL": "https://acme.zendesk.com",
        "WRITEBACK_ZENDESK_EMAIL": "ops@acme.com",
        "WRITEBACK_ZENDESK_TOKEN": "zd-secret-token-value",
        "WRITEBACK_INTERCOM_TOKEN": "dG9rOmFiYw==",
        "WRITEBACK_INTERCOM_ADMIN_ID": "991267",
        "WRITEBACK_GENERIC_URL": "https://hooks.acme.com/followup",
        "WRITEBACK_GENERIC_SECRET": "generic-secret-0123456789",
    }
    with pytest.raises(SettingsError, match=message) as refused:
        parse(**{**complete, **env})
    assert "zd-secret-token-value" not in str(refused.value)


def test_doctor_proves_the_credentials_and_names_a_refused_token(
    setup: pytest.MonkeyPatch,  # noqa: F811
    helpdesk: HelpdeskSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in helpdesk.env("zendesk", "generic").items():
        setup.setenv(name, value)
    status, lines = doctor(tmp_path, capsys)
    assert status == 0, fails(lines)
    assert "PASS  zendesk write-back: credentials work (agent writeback@example.com)." in lines
    assert any(line.startswith("WARN  generic write-back: events go to") for line in lines)

    setup.setenv("WRITEBACK_ZENDESK_TOKEN", "a-revoked-token-0123")
    status, lines = doctor(tmp_path, capsys)
    assert status == 1
    [line] = fails(lines)
    assert line.startswith("FAIL  zendesk write-back: users/me: HTTP 401 Couldn't authenticate")
    assert "check WRITEBACK_ZENDESK_* against docs/writeback.md" in line
    assert "a-revoked-token-0123" not in "\n".join(lines) and TOKEN not in "\n".join(lines)
