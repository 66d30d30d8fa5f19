"""The demo's record of an uploaded chart: the PNG itself inside record.html (a data: URI),
with the message's caption (`initial_comment`), the file's title, and its alt text (`alt_txt`,
files.getUploadURLExternal on docs.slack.dev), as Slack shows a shared image."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient

from bot.demo.record import Record
from bot.digest.chart import ChartWeek, chart_png
from bot.sandbox import SlackSandbox

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_chart() -> bytes:
    week = ChartWeek(datetime(2026, 11, 16).date(), datetime(2026, 11, 22).date(), 2, 1, 3, 2, 1)
    png = chart_png([week], "Northwind Support")
    assert png is not None
    return png


def test_the_record_holds_the_uploaded_png_with_its_caption_title_and_alt_text(
    tmp_path: Path,
) -> None:
    png = a_chart()
    with SlackSandbox() as sandbox:
        sandbox.add_channel("C0TEAM", "support-team")
        client = WebClient(base_url=sandbox.api_url, token=sandbox.bot_token)
        client.files_upload_v2(
            channel="C0TEAM",
            file=png,
            filename="digest.png",
            title="Follow-ups per week to 16–22 Nov 2026",
            alt_txt="Chart of follow-ups due per week: 2 on time, 1 late, 3 missed & <held>",
            initial_comment="Northwind Support, the last five weeks: *on time*, late, missed",
        )
        record = Record({"C0TEAM": "support-team"}, sandbox)
        record.capture(sandbox, AT)
    page = record.write(tmp_path).read_text()
    transcript = (tmp_path / "transcript.txt").read_text()

    [source] = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert base64.b64decode(source) == png, "the page holds the very PNG that was uploaded"
    assert "Northwind Support, the last five weeks: <b>on time</b>, late, missed" in page
    assert "<figcaption>Follow-ups per week to 16–22 Nov 2026</figcaption>" in page
    assert (
        "alt='Chart of follow-ups due per week: 2 on time, 1 late, 3 missed &amp; &lt;held&gt;'"
        in page
    )
    assert "#support-team" in transcript
    assert "Northwind Support, the last five weeks" in transcript
    assert "[image: Follow-ups per week to 16–22 Nov 2026] Chart of follow-ups" in transcript
