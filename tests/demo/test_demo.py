"""`followup demo --fast`: the whole loop on a fresh machine, and a record holding each moment."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

MOMENTS = [
    "loop confirmed with an insight",
    "still not right, escalated",
    "follow-up snoozed",
    "no reply, one gentle touch planned",
    "30-day touch of the B2B case",
    "weekly digest posted",
]


def test_the_fast_demo_runs_the_loop_and_writes_a_readable_record(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--fast", "--out", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    transcript = (tmp_path / "transcript.txt").read_text()
    page = (tmp_path / "record.html").read_text()
    assert f"{tmp_path / 'record.html'}" in result.stdout
    for moment in MOMENTS:
        assert f"✔ {moment}" in transcript
        assert moment in page
    # What each person and channel saw, in their words, escaped where it came from outside.
    assert "DM to Ada Lovelace" in transcript and "Draft email" in transcript
    assert "Call script" in transcript, "the phone complaint's draft is a call script"
    assert "#support-escalations" in transcript and "invoice still shows both charges" in page
    assert "Modal for Ben Okafor" in transcript and "Snooze" in transcript
    assert "App Home of Grace Hopper" in transcript
    assert "Only visible to Ada Lovelace" in transcript
    assert (
        transcript.index("Wed 07 Oct")
        < transcript.index("Mon 02 Nov")
        < transcript.index("Mon 16 Nov")
    ), "time order"
    assert "Weekly follow-up digest: Northwind Support" in transcript
    # #22: the digest's figures carry their denominators; root causes are followed over weeks.
    assert "due closed on time (" in transcript and "answered (" in transcript
    assert "What keeps breaking" in transcript and "this week · new" in transcript
    assert "loops closed" not in transcript and "(recurring)" not in transcript
    # #24: the outcome lands in Zendesk as an internal note, "still not right" reopens the
    # ticket there, Zendesk's reopen trigger answers, and the next solve plans the check-in,
    # which owns that the case came back and states the second fix.
    assert "Zendesk ticket 48227: internal note" in transcript
    assert "Followup reopens this ticket: the resolution did not hold" in transcript
    assert "Zendesk ticket 48227: status:\n   │ solved → open" in transcript
    assert "ticket #48227 reopened → duplicate" in transcript, "Followup reopened it already"
    assert "Handled by Grace Hopper" in transcript and "open again" in transcript
    assert "Intercom ticket 9041: internal note" in transcript
    assert "Your CRM (signed event), case CRM-5521: internal note" in transcript
    again = transcript[transcript.index("I'm sorry this came back after we first closed it") :]
    again = again[: again.index("Kind regards,")]
    assert "What we did: re-issued the December invoice without the second charge" in again
    assert "duplicate charge of €49" not in again, "never the fix that did not hold"
    assert "PUBLIC note" not in transcript, "every note is internal"
    assert "it's Marco Rossi, and I look after the Harbour Freight Co account" in transcript
    assert "ring me directly on +39 06 4890 1122" in transcript
    assert "Fill in your direct number" in transcript, "Ada's unset phone is named in her DM"
    assert "data:image/png;base64," in page, "the digest's chart is in the page"
    assert "<script" not in page


def test_the_demo_can_be_rerun(tmp_path: Path) -> None:
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--fast", "--out", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr[-2000:]


def test_under_slacks_rate_tiers_the_demo_shows_the_same_story(tmp_path: Path) -> None:
    """`--slack-tiers`: the local Slack refuses what Slack would at its published rates; the
    bot waits out each 429, and every person and channel sees what they see without it."""
    transcripts = []
    for flags in ([], ["--slack-tiers"]):
        out = tmp_path / ("tiers" if flags else "plain")
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--fast", "--out", str(out), *flags],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        text = (out / "transcript.txt").read_text()
        text = re.sub(r"fu-[0-9a-f]{16}", "fu-<random marker>", text)  # new on every run
        transcripts.append(sorted(text.splitlines()))
    assert transcripts[0] == transcripts[1]
