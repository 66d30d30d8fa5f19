"""The digest's pure builders: Block Kit within Slack's limits, the chart, week arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import ids
from bot.digest.blocks import (
    DRILLDOWN_ACTION,
    DRILLDOWNS,
    MODAL_ITEMS,
    digest_blocks,
    drilldown_value,
    drilldown_view,
    parse_drilldown_value,
)
from bot.digest.content import DigestText, Week, digest_moment, trim_quote


def text(size: int) -> DigestText:
    return DigestText(
        header="Weekly follow-up digest: " + "T" * 300,
        summary="s" * size,
        outcomes="o" * size,
        causes="c" * size,
        asks="",
        attention="a" * size,
        trend="t" * size,
        footer="f" * size,
    )


def test_the_message_stays_within_block_kit_limits_whatever_the_text() -> None:
    blocks = digest_blocks(text(10_000), digest_id=7)
    dicts = [b.to_dict() for b in blocks]  # to_dict() validates every length
    assert len(dicts) <= 50
    assert len(dicts[0]["text"]["text"]) <= 150
    assert all(len(d["text"]["text"]) <= 3000 for d in dicts if d["type"] == "section")
    [actions] = [d for d in dicts if d["type"] == "actions"]
    action_ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(action_ids)) == len(DRILLDOWNS) and all(
        DRILLDOWN_ACTION.match(a) for a in action_ids
    )
    assert [parse_drilldown_value(e["value"]) for e in actions["elements"]] == [
        (7, "not_held"),
        (7, "overdue"),
        (7, "root_causes"),
        (7, "coming_back"),
    ]


def test_a_preview_has_no_buttons() -> None:
    dicts = [b.to_dict() for b in digest_blocks(text(10), digest_id=None)]
    assert not [d for d in dicts if d["type"] == "actions"]
    assert ids.ACTION_DIGEST_DRILLDOWN not in str(dicts)


def test_a_long_drill_down_is_capped_with_and_n_more() -> None:
    items = [f"*zendesk:{i}*: case {i}" for i in range(120)]
    view = drilldown_view("overdue", "*120* follow-ups", items, 0, "Export with the CSV.").to_dict()
    assert view["title"]["text"] == "Overdue" and view["callback_id"] == ids.VIEW_DIGEST_DRILLDOWN
    assert len(view["blocks"]) == 1 + MODAL_ITEMS + 1 <= 100
    assert view["blocks"][-1]["elements"][0]["text"] == "…and 80 more. Export with the CSV."


def test_unknown_button_values_are_refused() -> None:
    assert parse_drilldown_value(drilldown_value(3, "root_causes")) == (3, "root_causes")
    for value in ("3:everything", "x:overdue", ""):
        with pytest.raises(ValueError):
            parse_drilldown_value(value)


def test_quotes_are_trimmed_at_a_word_on_one_line() -> None:
    assert trim_quote("  short\n and   sweet ") == "short and sweet"
    trimmed = trim_quote("word " * 100)
    assert len(trimmed) <= 140 and trimmed.endswith("word…")


def test_weeks_and_digest_moments_follow_the_teams_clock_across_dst() -> None:
    ny = ZoneInfo("America/New_York")
    # US clocks go back on Sunday 1 Nov 2026: week 44 is 169 hours long there.
    week = Week.parse("2026-W44", ny)
    assert week.start == datetime(2026, 10, 26, 4, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert week.period() == "26 Oct–1 Nov 2026"
    assert digest_moment(week, "mon", "09:00") == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert digest_moment(week, "fri", "16:30") == datetime(2026, 11, 6, 21, 30, tzinfo=UTC)
    assert Week.parse("2026-W53", ny).label == "2026-W53"  # 2026 has 53 ISO weeks
    assert Week.parse("2026-w01", ny).period() == "29 Dec 2025–4 Jan 2026"
    with pytest.raises(ValueError):
        Week.parse("2026-47", ny)
