"""Messages, conversations and users through a real slack_sdk WebClient."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox


def slack_error(call: object) -> dict:
    """Run a WebClient call expected to fail; return Slack's answer."""
    assert callable(call)
    with pytest.raises(SlackApiError) as failure:
        call()
    return dict(failure.value.response.data)


def test_auth_test_names_the_bot(client: WebClient, sandbox: SlackSandbox) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == sandbox.bot_user_id
    assert answer["team_id"] == sandbox.team_id
    assert answer["bot_id"].startswith("B")


def test_post_message_to_a_user_lands_in_their_im(client: WebClient, sandbox: SlackSandbox) -> None:
    answer = client.chat_postMessage(channel="U0AGENT1", text="Case 42 closed")
    assert answer["channel"] == sandbox.im_channel("U0AGENT1")
    [message] = sandbox.dm_messages("U0AGENT1")
    assert message["ts"] == answer["ts"]
    assert message["user"] == sandbox.bot_user_id
    assert message["text"] == "Case 42 closed"


def test_message_ts_are_unique_and_increasing(client: WebClient, sandbox: SlackSandbox) -> None:
    stamps = [client.chat_postMessage(channel="C0TEAM", text=str(i))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=lambda ts: tuple(int(p) for p in ts.split(".")))
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_post_message_by_channel_name(client: WebClient, sandbox: SlackSandbox) -> None:
    answer = client.chat_postMessage(channel="#support-team", text="weekly digest")
    assert answer["channel"] == "C0TEAM"
    assert sandbox.messages("C0TEAM")[0]["text"] == "weekly digest"


def test_form_encoded_post_with_token_field(sandbox: SlackSandbox) -> None:
    anonymous = WebClient(base_url=sandbox.api_url)
    answer = anonymous.api_call(
        "chat.postMessage",
        params={"token": sandbox.bot_token, "channel": "C0TEAM", "text": "form"},
    )
    assert answer["ok"]
    [call] = sandbox.calls_to("chat.postMessage")
    assert call.args == {"channel": "C0TEAM", "text": "form"}
    assert call.token == sandbox.bot_token


def test_blocks_sent_as_form_json_are_decoded_in_the_record(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client.api_call(
        "chat.postMessage",
        params={
            "channel": "C0TEAM",
            "text": "hi",
            "blocks": '[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]',
        },
    )
    [call] = sandbox.calls_to("chat.postMessage")
    assert call.args["blocks"] == blocks
    assert sandbox.messages("C0TEAM")[0]["blocks"] == blocks


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client: WebClient, sandbox: SlackSandbox) -> None:
    assert slack_error(lambda: client.chat_postMessage(channel="C0NOPE", text="x"))["error"] == (
        "channel_not_found"
    )
    assert slack_error(lambda: client.chat_postMessage(channel="C0TEAM"))["error"] == "no_text"
    bad_metadata = {"event_type": "followup_sent"}
    assert (
        slack_error(
            lambda: client.chat_postMessage(channel="C0TEAM", text="x", metadata=bad_metadata)
        )["error"]
        == "invalid_metadata_schema"
    )


def test_messages_tab_disabled_blocks_dms_only(client: WebClient, sandbox: SlackSandbox) -> None:
    sandbox.messages_tab_enabled = False
    answer = slack_error(lambda: client.chat_postMessage(channel="U0AGENT1", text="x"))
    assert answer["error"] == "messages_tab_disabled"
    assert client.chat_postMessage(channel="C0TEAM", text="x")["ok"]


def test_too_many_blocks_are_invalid_blocks_with_slack_messages(client: WebClient) -> None:
    blocks = [{"type": "divider"}] * 51
    answer = slack_error(lambda: client.chat_postMessage(channel="C0TEAM", text="x", blocks=blocks))
    assert answer["error"] == "invalid_blocks"
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]


def test_long_text_is_truncated_at_forty_thousand(client: WebClient, sandbox: SlackSandbox) -> None:
    client.chat_postMessage(channel="C0TEAM", text="y" * 40_050)
    assert len(sandbox.messages("C0TEAM")[0]["text"]) == 40_000


def test_update_replaces_content_in_place(client: WebClient, sandbox: SlackSandbox) -> None:
    posted = client.chat_postMessage(channel="U0AGENT1", text="Did it hold?")
    channel = posted["channel"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Resolved"}}]
    answer = client.chat_update(channel=channel, ts=posted["ts"], text="Resolved", blocks=blocks)
    assert answer["ts"] == posted["ts"]
    [message] = sandbox.dm_messages("U0AGENT1")
    assert message["text"] == "Resolved"
    assert message["blocks"] == blocks
    assert "edited" in message
    missing = slack_error(lambda: client.chat_update(channel=channel, ts="1.000001", text="x"))
    assert missing["error"] == "message_not_found"


def test_delete_and_permalink(client: WebClient, sandbox: SlackSandbox) -> None:
    posted = client.chat_postMessage(channel="C0TEAM", text="x")
    link = client.chat_getPermalink(channel="C0TEAM", message_ts=posted["ts"])["permalink"]
    assert link == (f"https://sandbox.slack.com/archives/C0TEAM/p{posted['ts'].replace('.', '')}")
    client.chat_delete(channel="C0TEAM", ts=posted["ts"])
    assert sandbox.messages("C0TEAM") == []
    gone = slack_error(lambda: client.chat_getPermalink(channel="C0TEAM", message_ts=posted["ts"]))
    assert gone["error"] == "message_not_found"


def test_ephemeral_messages_are_per_user(client: WebClient, sandbox: SlackSandbox) -> None:
    answer = client.chat_postEphemeral(channel="C0TEAM", user="U0AGENT2", text="Not yours")
    assert answer["message_ts"]
    [shown] = sandbox.ephemeral("U0AGENT2")
    assert shown["text"] == "Not yours"
    assert shown["channel"] == "C0TEAM"
    assert sandbox.ephemeral("U0AGENT1") == []
    sandbox.add_user("U0OUTSIDER")
    outsider = slack_error(
        lambda: client.chat_postEphemeral(channel="C0TEAM", user="U0OUTSIDER", text="x")
    )
    assert outsider["error"] == "user_not_in_channel"


def test_conversations_open_is_stable(client: WebClient, sandbox: SlackSandbox) -> None:
    first = client.conversations_open(users="U0AGENT1")["channel"]["id"]
    again = client.conversations_open(users="U0AGENT1")
    assert again["channel"]["id"] == first
    assert again["already_open"] is True
    assert first.startswith("D")
    info = client.conversations_info(channel=first)["channel"]
    assert info["is_im"] is True and info["user"] == "U0AGENT1"
    assert slack_error(lambda: client.conversations_open(users="U0NOBODY"))["error"] == (
        "user_not_found"
    )


def test_conversations_info_of_a_channel(client: WebClient) -> None:
    channel = client.conversations_info(channel="C0TEAM")["channel"]
    assert channel["name"] == "support-team"
    assert channel["is_channel"] is True
    assert slack_error(lambda: client.conversations_info(channel="C0NOPE"))["error"] == (
        "channel_not_found"
    )


def test_history_returns_metadata_only_when_asked(client: WebClient) -> None:
    metadata = {"event_type": "followup_sent", "event_payload": {"followup_id": 7}}
    client.chat_postMessage(channel="U0AGENT1", text="Case 7", metadata=metadata)
    channel = client.conversations_open(users="U0AGENT1")["channel"]["id"]
    plain = client.conversations_history(channel=channel)["messages"]
    assert "metadata" not in plain[0]
    full = client.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    assert full[0]["metadata"] == metadata


def test_history_is_newest_first_and_paginates_by_cursor(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0TEAM", text=str(i))["ts"] for i in range(7)]
    first = client.conversations_history(channel="C0TEAM", limit=3)
    assert [m["text"] for m in first["messages"]] == ["6", "5", "4"]
    assert first["has_more"] is True
    seen = [
        m["text"]
        for page in client.conversations_history(channel="C0TEAM", limit=3)
        for m in page["messages"]
    ]
    assert seen == ["6", "5", "4", "3", "2", "1", "0"]
    bounded = client.conversations_history(
        channel="C0TEAM", oldest=stamps[2], latest=stamps[4], inclusive=True
    )
    assert [m["text"] for m in bounded["messages"]] == ["4", "3", "2"]
    exclusive = client.conversations_history(channel="C0TEAM", oldest=stamps[2], latest=stamps[4])
    assert [m["text"] for m in exclusive["messages"]] == ["3"]
    assert (
        slack_error(lambda: client.conversations_history(channel="C0TEAM", cursor="bad!"))["error"]
        == "invalid_cursor"
    )


def test_users_info_has_time_zone_fields(client: WebClient) -> None:
    user = client.users_info(user="U0AGENT2")["user"]
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert user["tz_label"] in ("Eastern Standard Time", "Eastern Daylight Time")
    assert user["profile"]["email"] == "bob@example.com"
    assert user["profile"]["display_name"] == "bob"
    assert user["profile"]["real_name"] == "Bob Agent"
    assert slack_error(lambda: client.users_info(user="U0NOBODY"))["error"] == "user_not_found"


def test_time_zone_follows_the_sandbox_clock() -> None:
    summer, winter = 1_720_000_000.0, 1_705_000_000.0  # July and January 2024
    for now, offset, label in (
        (summer, 3600, "British Summer Time"),
        (winter, 0, "Greenwich Mean Time"),
    ):
        with SlackSandbox(clock=lambda now=now: now) as sandbox:
            sandbox.add_user("U1", tz="Europe/London")
            user = WebClient(base_url=sandbox.api_url, token=sandbox.bot_token).users_info(
                user="U1"
            )
            assert (user["user"]["tz_offset"], user["user"]["tz_label"]) == (offset, label)


def test_lookup_by_email(client: WebClient, sandbox: SlackSandbox) -> None:
    assert client.users_lookupByEmail(email="ANN@example.com")["user"]["id"] == "U0AGENT1"
    assert slack_error(lambda: client.users_lookupByEmail(email="who@example.com"))["error"] == (
        "users_not_found"
    )
    sandbox.add_user("U0GONE", email="gone@example.com", deleted=True)
    assert slack_error(lambda: client.users_lookupByEmail(email="gone@example.com"))["error"] == (
        "users_not_found"
    )
