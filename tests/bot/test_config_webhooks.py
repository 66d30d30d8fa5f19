"""Per-source webhook settings: HubSpot stages and v2, Freshdesk's header, shared tokens."""

from __future__ import annotations

import pytest

from bot.config import Settings, SettingsError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "s3cret-signing-value"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults_are_hubspots_default_pipeline_and_signatures_only() -> None:
    s = settings()
    assert s.hubspot_closed_stages == frozenset({"4"})
    assert s.hubspot_open_stages == frozenset({"1", "2", "3"})
    assert s.hubspot_accept_v2 is False
    assert s.freshdesk_token_header == "X-Followup-Token"
    assert dict(s.webhook_token_sources) == {}


def test_an_admin_sets_each_webhook_setting() -> None:
    s = settings(
        HUBSPOT_CLOSED_STAGES="4, 88123456",
        HUBSPOT_OPEN_STAGES="1,2,3,88123453",
        HUBSPOT_ACCEPT_V2="true",
        FRESHDESK_TOKEN_HEADER="X-Acme-Token",
        WEBHOOK_TOKEN_SOURCES="jira, chatwoot:query ,freshdesk:header",
    )
    assert s.hubspot_closed_stages == frozenset({"4", "88123456"})
    assert s.hubspot_open_stages == frozenset({"1", "2", "3", "88123453"})
    assert s.hubspot_accept_v2 is True
    assert s.freshdesk_token_header == "X-Acme-Token"
    assert dict(s.webhook_token_sources) == {
        "jira": "header",
        "chatwoot": "query",
        "freshdesk": "header",
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUBSPOT_CLOSED_STAGES": "4;5"}, "HUBSPOT_CLOSED_STAGES is malformed"),
        ({"HUBSPOT_OPEN_STAGES": "open stage"}, "HUBSPOT_OPEN_STAGES is malformed"),
        ({"HUBSPOT_ACCEPT_V2": "maybe"}, "HUBSPOT_ACCEPT_V2 is malformed"),
        ({"FRESHDESK_TOKEN_HEADER": "X Token:"}, "FRESHDESK_TOKEN_HEADER is malformed"),
        ({"WEBHOOK_TOKEN_SOURCES": "jira,nosuchdesk"}, "WEBHOOK_TOKEN_SOURCES is malformed"),
        ({"WEBHOOK_TOKEN_SOURCES": "jira:cookie"}, "WEBHOOK_TOKEN_SOURCES is malformed"),
        # Zendesk always signs: its adapter never reads a token, so every request would be 401.
        ({"WEBHOOK_TOKEN_SOURCES": "zendesk"}, "WEBHOOK_TOKEN_SOURCES is malformed"),
    ],
)
def test_a_malformed_webhook_setting_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(**env)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_secret_pasted_into_a_webhook_setting_is_masked() -> None:
    secret = "a-long-webhook-secret-value"
    with pytest.raises(SettingsError) as caught:
        settings(WEBHOOK_SECRET_JIRA=secret, FRESHDESK_TOKEN_HEADER=f"{secret}:")
    assert secret not in str(caught.value)
