"""The sandbox checks the bot token's scopes as Slack does (sources in bot/sandbox/scopes.py):
`X-OAuth-Scopes` on every answer, `missing_scope` naming what was `needed` and `provided`, and
`conversations.info` telling whether the bot is a member."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox


def header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def test_every_answer_carries_the_tokens_scopes(sandbox: SlackSandbox) -> None:
    sandbox.bot_scopes = {"chat:write", "users:read"}
    client = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    assert header(client.auth_test().headers, "X-OAuth-Scopes") == "chat:write,users:read"
    with pytest.raises(SlackApiError) as refused:
        client.users_lookupByEmail(email="ada@example.com")
    assert header(refused.value.response.headers, "X-OAuth-Scopes") == "chat:write,users:read"


def test_a_method_without_its_scope_is_missing_scope(sandbox: SlackSandbox) -> None:
    sandbox.add_user("U0ADA", email="ada@example.com")
    sandbox.bot_scopes = {"chat:write", "users:read"}
    client = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    with pytest.raises(SlackApiError) as refused:
        client.users_lookupByEmail(email="ada@example.com")
    assert refused.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read.email",
        "provided": "chat:write,users:read",
    }


def test_conversations_info_needs_the_scope_of_the_channels_type(sandbox: SlackSandbox) -> None:
    sandbox.add_channel("C0PUBLIC", "public")
    sandbox.add_channel("G0PRIVATE", "private", is_private=True)
    sandbox.bot_scopes = {"channels:read"}
    client = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    assert client.conversations_info(channel="C0PUBLIC")["channel"]["is_member"] is True
    with pytest.raises(SlackApiError) as refused:
        client.conversations_info(channel="G0PRIVATE")
    assert refused.value.response["needed"] == "groups:read"


def test_conversations_info_says_whether_the_bot_is_a_member(sandbox: SlackSandbox) -> None:
    sandbox.add_channel("C0OUT", "not-invited", bot_is_member=False)
    sandbox.add_channel("G0HIDDEN", "hidden", is_private=True, bot_is_member=False)
    client = WebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    assert client.conversations_info(channel="C0OUT")["channel"]["is_member"] is False
    for hidden in ("G0HIDDEN", "C0NOSUCH"):
        with pytest.raises(SlackApiError) as refused:
            client.conversations_info(channel=hidden)
        assert refused.value.response["error"] == "channel_not_found"
