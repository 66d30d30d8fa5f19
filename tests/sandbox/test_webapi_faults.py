"""Auth errors, unknown methods, rate limits, injected faults, response URLs, throughput."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.sandbox import SlackSandbox


def error_of(client: WebClient, method: str, **params: object) -> tuple[int, dict]:
    with pytest.raises(SlackApiError) as failure:
        client.api_call(method, params=params)
    return failure.value.response.status_code, dict(failure.value.response.data)


def test_tokens_are_checked_like_slack(sandbox: SlackSandbox) -> None:
    anonymous = WebClient(base_url=sandbox.api_url)
    assert error_of(anonymous, "auth.test") == (200, {"ok": False, "error": "not_authed"})
    wrong = WebClient(base_url=sandbox.api_url, token="xoxb-wrong")
    assert error_of(wrong, "auth.test")[1]["error"] == "invalid_auth"
    app = WebClient(base_url=sandbox.api_url, token=sandbox.app_token)
    assert error_of(app, "chat.postMessage", channel="C0TEAM", text="x")[1]["error"] == (
        "not_allowed_token_type"
    )
    bot = WebClient(base_url=sandbox.api_url, token=sandbox.bot_token)
    assert error_of(bot, "apps.connections.open")[1]["error"] == "not_allowed_token_type"


def test_apps_connections_open_needs_the_app_token(sandbox: SlackSandbox) -> None:
    app = WebClient(base_url=sandbox.api_url, token=sandbox.app_token)
    url = app.apps_connections_open(app_token=sandbox.app_token)["url"]
    assert url.startswith(sandbox.base_url.replace("http://", "ws://") + "/link/?ticket=")


def test_unknown_method_is_a_404(client: WebClient) -> None:
    status, body = error_of(client, "chat.postMessageX")
    assert status == 404
    assert body == {"ok": False, "error": "unknown_method", "req_method": "chat.postMessageX"}


def test_rate_limit_answers_429_with_retry_after(client: WebClient, sandbox: SlackSandbox) -> None:
    sandbox.rate_limit("chat.postMessage", per_second=1, burst=2)
    client.chat_postMessage(channel="C0TEAM", text="1")
    client.chat_postMessage(channel="C0TEAM", text="2")
    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C0TEAM", text="3")
    assert failure.value.response.status_code == 429
    assert failure.value.response.headers["Retry-After"] == "1"
    assert failure.value.response["error"] == "ratelimited"
    assert client.users_info(user="U0AGENT1")["ok"]  # other methods are not limited
    sandbox.clear_rate_limits()
    assert client.chat_postMessage(channel="C0TEAM", text="4")["ok"]


def test_retry_handler_honours_retry_after(sandbox: SlackSandbox) -> None:
    client = WebClient(
        base_url=sandbox.api_url,
        token=sandbox.bot_token,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )
    sandbox.rate_limit("chat.postMessage", per_second=2)
    client.chat_postMessage(channel="C0TEAM", text="first")
    started = time.monotonic()
    assert client.chat_postMessage(channel="C0TEAM", text="second")["ok"]
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was waited out
    statuses = [call.status for call in sandbox.calls_to("chat.postMessage")]
    assert statuses == [200, 429, 200]
    assert [m["text"] for m in sandbox.messages("C0TEAM")] == ["first", "second"]


def test_fail_next_with_http_status_then_recovers(client: WebClient, sandbox: SlackSandbox) -> None:
    sandbox.fail_next("chat.postMessage", times=2, status=503, error="service_unavailable")
    for _ in range(2):
        with pytest.raises(SlackApiError) as failure:
            client.chat_postMessage(channel="C0TEAM", text="x")
        assert failure.value.response.status_code == 503
        assert failure.value.response["error"] == "service_unavailable"
    assert client.chat_postMessage(channel="C0TEAM", text="x")["ok"]
    assert len(sandbox.messages("C0TEAM")) == 1


def test_fail_next_with_a_slack_error_and_a_slow_success(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    sandbox.fail_next("users.info", status=None, error="fatal_error")
    with pytest.raises(SlackApiError) as failure:
        client.users_info(user="U0AGENT1")
    assert failure.value.response.status_code == 200
    assert failure.value.response["error"] == "fatal_error"
    sandbox.fail_next("users.info", error=None, delay=0.3)
    started = time.monotonic()
    assert client.users_info(user="U0AGENT1")["ok"]
    assert time.monotonic() - started >= 0.3


def test_calls_are_recorded_in_order_and_resettable(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    client.auth_test()
    client.chat_postMessage(channel="C0TEAM", text="x", blocks=[{"type": "divider"}])
    calls = sandbox.calls
    assert [call.method for call in calls] == ["auth.test", "chat.postMessage"]
    assert calls[1].args["blocks"] == [{"type": "divider"}]
    assert calls[1].response["ok"] is True
    assert calls[0].time <= calls[1].time
    sandbox.reset_calls()
    assert sandbox.calls == []


def post_json(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return response.status


def test_response_url_records_and_applies_replies(client: WebClient, sandbox: SlackSandbox) -> None:
    url = sandbox.new_response_url("U0AGENT1", "C0TEAM")
    assert post_json(url, {"text": "Only you can see this"}) == 200
    assert post_json(url, {"text": "Everyone sees this", "response_type": "in_channel"}) == 200
    [first, second] = sandbox.responses
    assert (first.user_id, first.channel_id) == ("U0AGENT1", "C0TEAM")
    assert second.body["response_type"] == "in_channel"
    assert [e["text"] for e in sandbox.ephemeral("U0AGENT1")] == ["Only you can see this"]
    assert [m["text"] for m in sandbox.messages("C0TEAM")] == ["Everyone sees this"]

    posted = client.chat_postMessage(channel="U0AGENT1", text="Did it hold?")
    on_message = sandbox.new_response_url("U0AGENT1", posted["channel"], posted["ts"])
    post_json(on_message, {"text": "Thanks, recorded", "replace_original": True})
    assert [m["text"] for m in sandbox.dm_messages("U0AGENT1")] == ["Thanks, recorded"]
    post_json(on_message, {"delete_original": True})
    assert sandbox.dm_messages("U0AGENT1") == []


def test_serves_hundreds_of_requests_per_second(sandbox: SlackSandbox) -> None:
    clients = [WebClient(base_url=sandbox.api_url, token=sandbox.bot_token) for _ in range(4)]
    started = time.monotonic()

    def hammer(client: WebClient) -> None:
        for _ in range(100):
            client.chat_postMessage(channel="C0TEAM", text="load")

    threads = [threading.Thread(target=hammer, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(sandbox.messages("C0TEAM")) == 400
    assert len({m["ts"] for m in sandbox.messages("C0TEAM")}) == 400
    assert 400 / elapsed > 200, f"only {400 / elapsed:.0f} requests/s"
