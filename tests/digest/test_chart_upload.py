"""The digest's chart as it reaches Slack: no chart for a quiet team, and an upload whose
caption (`initial_comment`), title and alt text (`alt_txt`, at most 1000 characters per
docs.slack.dev/reference/methods/files.getUploadURLExternal) say in words what it shows."""

from __future__ import annotations

from typing import Any

from bot.digest.chart import ALT_TEXT_LIMIT
from bot.digest.post import digest_due_pass
from tests.digest.test_digest import MONDAY_9_NY, Loop, digest_posts, seed, t


def shared_charts(bot: Any) -> list[dict[str, Any]]:
    return [m for m in bot.sandbox.messages("C0DIGEST") if m.get("files")]


def test_a_team_with_nothing_in_the_five_weeks_gets_its_digest_and_no_chart(bot: Any) -> None:
    # One loop, answered in September: nothing due, closed or answered in the charted weeks.
    old = Loop(
        "OLD", t(1, 10, month=9), t(4, 10, month=9), result="resolved", recorded=t(5, 9, month=9)
    )
    seed(bot.deps, [old])
    bot.clock.set(MONDAY_9_NY)
    report = digest_due_pass(bot.deps)
    assert report.posted == ["support 2026-W47"] and report.chart_failed == []
    assert len(digest_posts(bot)) == 1
    assert shared_charts(bot) == [], "no empty chart whose axis runs 0.0-1.2"
    assert not [f for f in bot.sandbox.files.values() if f["completed"]]


def test_the_chart_is_shared_with_a_caption_a_dated_title_and_alt_text(bot: Any) -> None:
    seed(
        bot.deps,
        [
            Loop("A1", t(13, 10), t(16, 15), result="resolved", recorded=t(16, 16)),
            Loop("A2", t(15, 9), t(18, 9), result="not_resolved", recorded=t(18, 13)),
        ],
    )
    bot.clock.set(MONDAY_9_NY)
    digest_due_pass(bot.deps)
    [message] = shared_charts(bot)
    [shared] = message["files"]
    assert "Support, the last five weeks" in message["text"]
    assert "on time, late, missed" in message["text"], "the caption names the series"
    assert shared["title"] == "Follow-ups per week to 16–22 Nov 2026"
    alt = shared["alt_txt"]
    assert alt.startswith("Chart of follow-ups due per week") and len(alt) <= ALT_TEXT_LIMIT
    assert "16–22 Nov:" in alt and "held 50% (1 of 2)" in alt
