"""The files_upload_v2 flow end to end, and the upload URL's body formats."""

from __future__ import annotations

import urllib.request
import uuid

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox


def test_files_upload_v2_shares_the_file_in_the_channel(
    client: WebClient, sandbox: SlackSandbox
) -> None:
    chart = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    answer = client.files_upload_v2(
        channel="C0TEAM",
        content=chart,
        filename="digest.png",
        title="Weekly digest",
        initial_comment="This week's follow-ups",
    )
    file_id = answer["file"]["id"]
    assert answer["file"]["title"] == "Weekly digest"
    stored = sandbox.files[file_id]
    assert stored["content"] == chart
    assert stored["channels"] == ["C0TEAM"]
    [message] = sandbox.messages("C0TEAM")
    assert message["text"] == "This week's follow-ups"
    assert message["files"][0]["id"] == file_id
    assert message["files"][0]["mimetype"] == "image/png"
    assert [call.method for call in sandbox.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_multipart_upload_is_accepted(client: WebClient, sandbox: SlackSandbox) -> None:
    reserved = client.files_getUploadURLExternal(filename="notes.txt", length=5)
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        reserved["upload_url"],
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    assert sandbox.files[reserved["file_id"]]["content"] == b"hello"


def test_completing_an_unuploaded_file_fails(client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as failure:
        client.files_completeUploadExternal(
            files=[{"id": reserved["file_id"]}], channel_id="C0TEAM"
        )
    assert failure.value.response["error"] == "file_not_found"
