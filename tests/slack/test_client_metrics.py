"""Every Web API attempt is counted once, by method and result: `ok` when Slack's answer says
`"ok": true`, `error` for `"ok": false`, an HTTP error or no answer, `ratelimited` for a 429
(whose `Retry-After` is observed too). Against the Slack sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.config import Settings
from bot.deps import make_web_client
from bot.sandbox import SlackSandbox


@pytest.fixture
def client(sandbox: SlackSandbox) -> Iterator[WebClient]:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": sandbox.api_url,
        }
    )
    yield make_web_client(settings)


def calls(result: str, method: str = "auth.test") -> float:
    value = metrics.REGISTRY.get_sample_value(
        "followup_slack_api_calls_total", {"method": method, "result": result}
    )
    return value or 0.0


def waits(suffix: str, method: str = "auth.test") -> float:
    name = f"followup_slack_retry_after_seconds_{suffix}"
    return metrics.REGISTRY.get_sample_value(name, {"method": method}) or 0.0


def counts() -> tuple[float, float, float]:
    return calls("ok"), calls("error"), calls("ratelimited")


def grew(before: tuple[float, float, float]) -> tuple[float, float, float]:
    ok, error, limited = counts()
    return ok - before[0], error - before[1], limited - before[2]


def test_an_answer_that_says_ok_is_counted_ok(client: WebClient) -> None:
    before = counts()
    client.auth_test()
    assert grew(before) == (1, 0, 0)


def test_an_ok_false_answer_is_an_error(client: WebClient, sandbox: SlackSandbox) -> None:
    sandbox.fail_next("auth.test", status=None, error="invalid_auth")
    before = counts()
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert grew(before) == (0, 1, 0)


def test_a_server_error_retried_counts_each_attempt(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    sandbox.fail_next("auth.test", status=503, error="service_unavailable")
    before = counts()
    client.auth_test()
    assert grew(before) == (1, 1, 0)


def test_a_429_is_counted_with_its_retry_after(client: WebClient, sandbox: SlackSandbox) -> None:
    sandbox.fail_next("auth.test", status=429, error="ratelimited", retry_after=1)
    before, waited, seconds = counts(), waits("count"), waits("sum")
    client.auth_test()
    assert grew(before) == (1, 0, 1)
    assert (waits("count") - waited, waits("sum") - seconds) == (1, 1.0)
