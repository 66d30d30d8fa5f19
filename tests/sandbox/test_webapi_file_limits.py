"""The sandbox refuses file uploads the way Slack does, so a chart upload that works here works
there. Sources: the Errors tables of docs.slack.dev/reference/methods/files.getUploadURLExternal
(`missing_argument` "when the `length` provided is 0", `alt_txt_too_large` "longer than the
limit of 1000 character") and files.completeUploadExternal (`channels_limit_exceeded`, "A
maximum of 100 channels"; `not_in_channel`; `channel_not_found`; "This method can only be
called once"; `thread_ts`: "make sure to provide only one channel")."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def refused(call: Any, **args: Any) -> str:
    with pytest.raises(SlackApiError) as failure:
        call(**args)
    return str(failure.value.response["error"])


def uploaded(client: WebClient, sandbox: SlackSandbox, **args: Any) -> str:
    """A file id whose bytes are uploaded and not yet completed."""
    reserved = client.files_getUploadURLExternal(filename="chart.png", length=len(PNG), **args)
    request = urllib.request.Request(str(reserved["upload_url"]), data=PNG, method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    return str(reserved["file_id"])


def test_an_empty_length_is_a_missing_argument(client: WebClient) -> None:
    assert (
        refused(client.files_getUploadURLExternal, filename="chart.png", length=0)
        == "missing_argument"
    )


def test_alt_text_over_1000_characters_is_refused(client: WebClient) -> None:
    call = client.files_getUploadURLExternal
    assert refused(call, filename="chart.png", length=8, alt_txt="x" * 1001) == "alt_txt_too_large"
    assert call(filename="chart.png", length=8, alt_txt="x" * 1000)["ok"] is True


def test_the_shared_file_carries_its_alt_text_title_and_caption(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    client.files_upload_v2(
        channel="C0TEAM",
        content=PNG,
        filename="chart.png",
        title="Follow-ups per week",
        alt_txt="Chart of follow-ups due per week",
        initial_comment="Support, the last five weeks",
    )
    [message] = sandbox.messages("C0TEAM")
    assert message["text"] == "Support, the last five weeks"
    assert message["files"][0]["alt_txt"] == "Chart of follow-ups due per week"
    assert message["files"][0]["title"] == "Follow-ups per week"


def test_a_file_is_completed_once(client: WebClient, sandbox: SlackSandbox) -> None:
    file_id = uploaded(client, sandbox)
    client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0TEAM")
    again = refused(
        client.files_completeUploadExternal, files=[{"id": file_id}], channel_id="C0TEAM"
    )
    assert again == "file_not_found"
    assert len(sandbox.messages("C0TEAM")) == 1


def test_sharing_where_the_bot_is_not_a_member_or_nowhere_known_is_refused(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    sandbox.add_channel("C0OUT", "not-invited", bot_is_member=False)
    file_id = uploaded(client, sandbox)
    complete = client.files_completeUploadExternal
    assert refused(complete, files=[{"id": file_id}], channel_id="C0OUT") == "not_in_channel"
    assert refused(complete, files=[{"id": file_id}], channel_id="C0NOPE") == "channel_not_found"
    assert sandbox.files[file_id]["completed"] is False, "a refused share shares nothing"


def test_over_100_channels_or_a_thread_in_two_channels_is_refused(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    sandbox.add_channel("C0OTHER", "other")
    file_id = uploaded(client, sandbox)
    complete = client.files_completeUploadExternal
    many = ["C0TEAM"] * 101
    assert refused(complete, files=[{"id": file_id}], channels=many) == "channels_limit_exceeded"
    assert (
        refused(
            complete, files=[{"id": file_id}], channels=["C0TEAM", "C0OTHER"], thread_ts="1.000"
        )
        == "invalid_arguments"
    )
