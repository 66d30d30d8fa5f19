"""Slack's published rate limit tiers in the sandbox, and users.list with its cursor pages."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.sandbox import SlackSandbox
from bot.sandbox.tiers import (
    HUNDREDS,
    METHOD_TIERS,
    ONE_PER_SECOND_PER_CHANNEL,
    TIER_1,
    TIER_2,
    TIER_3,
    TIER_4,
)
from bot.sandbox.user_methods import USERS_LIST_MAX_LIMIT
from bot.sandbox.webapi import APP_TOKEN_METHODS, METHODS


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def populate(sandbox: SlackSandbox) -> SlackSandbox:
    sandbox.add_user("U0AGENT1", name="ann", real_name="Ann Agent", email="ann@example.com")
    sandbox.add_user("U0AGENT2", name="bob", real_name="Bob Agent", email="bob@example.com")
    sandbox.add_channel("C0TEAM", "support-team", members=["U0AGENT1", "U0AGENT2"])
    sandbox.add_channel("C0OTHER", "other-team")
    sandbox.add_channel("C0THIRD", "third-team")
    sandbox.add_channel("C0FOURTH", "fourth-team")
    return sandbox


@pytest.fixture
def tiered(clock: ManualClock) -> SlackSandbox:
    """A sandbox enforcing tiers on a driven clock, called without HTTP."""
    return populate(SlackSandbox(monotonic=clock, tiers=True))


def call(sandbox: SlackSandbox, method: str, **args: Any) -> tuple[int, dict[str, Any], dict]:
    token = sandbox.app_token if method in APP_TOKEN_METHODS else sandbox.bot_token
    answer = sandbox.call(method, args, token)
    assert isinstance(answer.body, dict)
    return answer.status, answer.body, answer.headers


def post(sandbox: SlackSandbox, channel: str) -> tuple[int, dict[str, Any], dict]:
    return call(sandbox, "chat.postMessage", channel=channel, text="hi")


def assert_ratelimited(answer: tuple[int, dict[str, Any], dict], retry_after: int) -> None:
    status, body, headers = answer
    assert (status, body) == (429, {"ok": False, "error": "ratelimited"})
    assert headers == {"Retry-After": str(retry_after)}


# -- the table ---------------------------------------------------------------------------


def test_every_served_method_has_a_published_tier() -> None:
    assert set(METHOD_TIERS) == set(METHODS) | APP_TOKEN_METHODS


@pytest.mark.parametrize(
    ("method", "tier"),
    [
        ("users.list", TIER_2),
        ("users.lookupByEmail", TIER_3),
        ("conversations.open", TIER_3),
        ("conversations.history", TIER_3),
        ("conversations.info", TIER_3),
        ("chat.update", TIER_3),
        ("chat.delete", TIER_3),
        ("users.info", TIER_4),
        ("chat.postEphemeral", TIER_4),
        ("views.open", TIER_4),
        ("views.update", TIER_4),
        ("views.push", TIER_4),
        ("views.publish", TIER_4),
        ("files.getUploadURLExternal", TIER_4),
        ("files.completeUploadExternal", TIER_4),
        ("apps.connections.open", TIER_1),
        ("auth.test", HUNDREDS),
        ("chat.getPermalink", HUNDREDS),
        ("chat.postMessage", ONE_PER_SECOND_PER_CHANNEL),
    ],
)
def test_methods_carry_the_tier_slack_documents(method: str, tier: object) -> None:
    assert METHOD_TIERS[method] == tier


# -- per-method tiers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "per_minute"),
    [
        ("apps.connections.open", {}, 1),
        ("users.list", {"limit": 100}, 20),
        ("users.lookupByEmail", {"email": "ann@example.com"}, 50),
        ("users.info", {"user": "U0AGENT1"}, 100),
        ("auth.test", {}, 200),
    ],
)
def test_a_tier_takes_a_minutes_calls_then_refuses_until_the_wait_is_over(
    tiered: SlackSandbox, clock: ManualClock, method: str, args: dict, per_minute: int
) -> None:
    for _ in range(per_minute):
        status, body, _ = call(tiered, method, **args)
        assert (status, body["ok"]) == (200, True)
    wait = math.ceil(60 / per_minute)
    assert_ratelimited(call(tiered, method, **args), retry_after=wait)
    clock.advance(0.9 * 60 / per_minute)
    assert call(tiered, method, **args)[0] == 429  # a call comes back every 60/per_minute s
    clock.advance(wait - 0.9 * 60 / per_minute)
    # After Retry-After, the calls that have come back since (at least one), then a refusal.
    back = int(wait * per_minute / 60 + 1e-9)
    statuses = [call(tiered, method, **args)[0] for _ in range(back + 1)]
    assert statuses == [200] * back + [429]


def test_each_method_has_its_own_bucket(tiered: SlackSandbox) -> None:
    for _ in range(20):
        call(tiered, "users.list")
    assert call(tiered, "users.list")[0] == 429
    assert call(tiered, "users.info", user="U0AGENT1")[0] == 200
    assert call(tiered, "auth.test")[0] == 200


def test_a_refused_call_is_recorded_and_does_nothing(tiered: SlackSandbox) -> None:
    for _ in range(50):
        call(tiered, "conversations.open", users="U0AGENT1")
    assert call(tiered, "conversations.open", users="U0AGENT2")[0] == 429
    with pytest.raises(KeyError):
        tiered.channel("DU0AGENT2")  # the refused call opened no IM
    assert tiered.calls_to("conversations.open")[-1].status == 429


# -- chat.postMessage --------------------------------------------------------------------


def test_post_message_is_one_a_second_per_channel(tiered: SlackSandbox, clock: ManualClock) -> None:
    assert post(tiered, "C0TEAM")[0] == 200
    assert_ratelimited(post(tiered, "C0TEAM"), retry_after=1)
    assert post(tiered, "C0OTHER")[0] == 200  # another channel, another bucket
    assert post(tiered, "#third-team")[0] == 200
    assert post(tiered, "C0THIRD")[0] == 429  # the same channel, by name and by id
    clock.advance(1)
    assert post(tiered, "C0TEAM")[0] == 200
    assert [m["text"] for m in tiered.messages("C0TEAM")] == ["hi", "hi"]


def test_posting_to_a_user_id_counts_against_their_im(
    tiered: SlackSandbox, clock: ManualClock
) -> None:
    assert post(tiered, "U0AGENT1")[0] == 200
    im = tiered.im_channel("U0AGENT1")
    assert post(tiered, im)[0] == 429
    clock.advance(1)
    assert post(tiered, im)[0] == 200
    assert post(tiered, "U0AGENT1")[0] == 429
    assert post(tiered, "U0AGENT2")[0] == 200  # someone else's IM is its own channel


def test_a_channel_burst_can_be_allowed(tiered: SlackSandbox, clock: ManualClock) -> None:
    tiered.enforce_tiers(channel_post_burst=3)
    assert [post(tiered, "C0TEAM")[0] for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(1)
    assert post(tiered, "C0TEAM")[0] == 200


def test_the_workspace_limit_caps_posts_across_channels(clock: ManualClock) -> None:
    sandbox = populate(SlackSandbox(monotonic=clock, tiers=True, workspace_posts_per_minute=3))
    assert [post(sandbox, c)[0] for c in ("C0TEAM", "C0OTHER", "C0THIRD")] == [200, 200, 200]
    assert_ratelimited(post(sandbox, "C0FOURTH"), retry_after=20)
    clock.advance(20)
    # The refused post did not use up C0FOURTH's own turn.
    assert post(sandbox, "C0FOURTH")[0] == 200
    assert post(sandbox, "U0AGENT1")[0] == 429


def test_the_workspace_limit_is_off_unless_asked_for(tiered: SlackSandbox) -> None:
    channels = [f"C0MANY{i}" for i in range(120)]
    for channel in channels:
        tiered.add_channel(channel, channel.lower())
    assert {post(tiered, channel)[0] for channel in channels} == {200}


# -- switching -----------------------------------------------------------------------------


def test_tiers_are_off_by_default(clock: ManualClock) -> None:
    sandbox = populate(SlackSandbox(monotonic=clock))
    statuses = {call(sandbox, "users.info", user="U0AGENT1")[0] for _ in range(150)}
    statuses |= {post(sandbox, "C0TEAM")[0] for _ in range(5)}
    statuses |= {call(sandbox, "apps.connections.open")[0] for _ in range(3)}
    assert statuses == {200}


def test_a_workspace_limit_without_tiers_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="tiers=True"):
        SlackSandbox(workspace_posts_per_minute=100)


def test_enforce_tiers_on_a_running_sandbox_and_clear_them(clock: ManualClock) -> None:
    sandbox = populate(SlackSandbox(monotonic=clock))
    sandbox.enforce_tiers()
    post(sandbox, "C0TEAM")
    assert post(sandbox, "C0TEAM")[0] == 429
    sandbox.clear_rate_limits()
    assert post(sandbox, "C0TEAM")[0] == 200


def test_a_custom_rate_limit_still_applies_alongside_tiers(tiered: SlackSandbox) -> None:
    tiered.rate_limit("users.info", per_second=1, burst=2)
    assert [call(tiered, "users.info", user="U0AGENT1")[0] for _ in range(3)] == [200, 200, 429]


# -- over HTTP, through slack_sdk --------------------------------------------------------


@pytest.fixture
def tiered_http(clock: ManualClock) -> Iterator[SlackSandbox]:
    with SlackSandbox(monotonic=clock, tiers=True) as started:
        yield populate(started)


def test_slack_sdk_sees_the_429_as_slack_sends_it(tiered_http: SlackSandbox) -> None:
    client = WebClient(base_url=tiered_http.api_url, token=tiered_http.bot_token)
    client.chat_postMessage(channel="C0TEAM", text="first")
    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C0TEAM", text="second")
    response = failure.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert client.chat_postMessage(channel="C0OTHER", text="elsewhere")["ok"]


def test_slack_sdks_retry_handler_waits_out_a_tier() -> None:
    with SlackSandbox(tiers=True) as sandbox:
        populate(sandbox)
        client = WebClient(
            base_url=sandbox.api_url,
            token=sandbox.bot_token,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        client.chat_postMessage(channel="C0TEAM", text="first")
        started = time.monotonic()
        assert client.chat_postMessage(channel="C0TEAM", text="second")["ok"]
        assert time.monotonic() - started >= 0.9
        assert [c.status for c in sandbox.calls_to("chat.postMessage")] == [200, 429, 200]


# -- users.list ----------------------------------------------------------------------------


def test_users_list_pages_with_a_cursor_and_ends_with_an_empty_one(
    sandbox: SlackSandbox, client: WebClient
) -> None:
    sandbox.deactivate_user("U0AGENT2")
    first = client.users_list(limit=2)
    assert [m["id"] for m in first["members"]] == ["U0AGENT1", "U0AGENT2"]
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    last = client.users_list(limit=2, cursor=cursor)
    assert [m["id"] for m in last["members"]] == ["U0LEAD"]
    assert last["response_metadata"]["next_cursor"] == ""
    deleted = {m["id"]: m["deleted"] for m in first["members"] + last["members"]}
    assert deleted == {"U0AGENT1": False, "U0AGENT2": True, "U0LEAD": False}


def test_slack_sdk_iterates_users_list_pages(client: WebClient) -> None:
    # Iterating a SlackResponse follows next_cursor, re-using the one response object.
    pages = [[m["id"] for m in page["members"]] for page in client.users_list(limit=1)]
    assert pages == [
        ["U0AGENT1"],
        ["U0AGENT2"],
        ["U0LEAD"],
    ]


def test_users_list_members_look_like_users_info(client: WebClient) -> None:
    members = client.users_list()["members"]
    assert len(members) == 3
    for member in members:
        assert member == client.users_info(user=member["id"])["user"]
    ann = members[0]
    assert {k: ann[k] for k in ("id", "name", "real_name", "deleted", "is_bot", "tz")} == {
        "id": "U0AGENT1",
        "name": "ann",
        "real_name": "Ann Agent",
        "deleted": False,
        "is_bot": False,
        "tz": "Europe/London",
    }
    assert isinstance(ann["tz_offset"], int)
    profile = ann["profile"]
    assert (profile["email"], profile["real_name"], profile["display_name"]) == (
        "ann@example.com",
        "Ann Agent",
        "ann",
    )


def test_users_list_without_a_limit_is_the_whole_set(client: WebClient) -> None:
    response = client.users_list()
    assert len(response["members"]) == 3
    assert response["response_metadata"]["next_cursor"] == ""


def test_users_list_limit_is_capped_at_a_thousand(sandbox: SlackSandbox, client: WebClient) -> None:
    for i in range(USERS_LIST_MAX_LIMIT):
        sandbox.add_user(f"U1{i:05d}", tz="UTC")
    first = client.users_list(limit=5000)
    assert len(first["members"]) == USERS_LIST_MAX_LIMIT
    rest = client.users_list(limit=5000, cursor=first["response_metadata"]["next_cursor"])
    assert len(rest["members"]) == 3
    assert rest["response_metadata"]["next_cursor"] == ""


def test_users_list_rejects_a_cursor_it_did_not_issue(client: WebClient) -> None:
    for cursor in ("not-base64!", "bmV4dF90czox", "dXNlcjpVMDYxTkZUVDI="):
        with pytest.raises(SlackApiError) as failure:
            client.users_list(limit=2, cursor=cursor)
        assert failure.value.response["error"] == "invalid_cursor"


def test_a_deactivated_user_is_listed_but_not_found_by_email(
    sandbox: SlackSandbox, client: WebClient
) -> None:
    sandbox.im_channel("U0AGENT1")
    user = sandbox.deactivate_user("U0AGENT1")
    assert user["deleted"] is True
    assert client.users_info(user="U0AGENT1")["user"]["deleted"] is True
    assert sandbox.channel("DU0AGENT1")["is_user_deleted"] is True
    with pytest.raises(SlackApiError) as failure:
        client.users_lookupByEmail(email="ann@example.com")
    assert failure.value.response["error"] == "users_not_found"
    listed = {m["id"]: m["deleted"] for m in client.users_list()["members"]}
    assert listed["U0AGENT1"] is True
