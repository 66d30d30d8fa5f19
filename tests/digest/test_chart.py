"""The digest chart, read from the figure's artists rather than by eye (issue #22, item 5).

Sizes and colours are sourced in bot/digest/chart.py's docstring: Slack's documented 360 px
preview width (docs.slack.dev, Legacy secondary message attachments, `image_url`) and the
Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design").
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import imread

from bot.digest.chart import (
    ALT_TEXT_LIMIT,
    OKABE_ITO,
    PNG_MAGIC,
    ChartWeek,
    chart_figure,
    chart_png,
    describe,
)

MONDAY = date(2026, 10, 19)
# on time, late, missed, held, not held: a quiet week in the middle, misses at the end.
ROWS = [(3, 1, 0, 2, 1), (2, 0, 1, 1, 1), (0, 0, 0, 0, 0), (4, 1, 2, 3, 0), (2, 0, 3, 2, 1)]


def five_weeks(rows: list[tuple[int, int, int, int, int]] = ROWS) -> list[ChartWeek]:
    return [
        ChartWeek(MONDAY + timedelta(weeks=i), MONDAY + timedelta(weeks=i, days=6), *row)
        for i, row in enumerate(rows)
    ]


def drawn(weeks: list[ChartWeek] | None = None) -> Figure:
    figure = chart_figure(five_weeks() if weeks is None else weeks, "Northwind: five weeks")
    assert figure is not None
    assert isinstance(figure.canvas, FigureCanvasAgg), "headless: the Agg canvas, no pyplot"
    figure.canvas.draw()
    return figure


def panels(figure: Figure) -> tuple[Axes, Axes]:
    """(the held panel, the bar panel), told apart by what they draw."""
    [held] = [a for a in figure.axes if a.get_lines()]
    [bars] = [a for a in figure.axes if a.containers]
    return held, bars


def test_the_weeks_are_stacked_bars_of_on_time_late_and_missed() -> None:
    _, bars = panels(drawn())
    containers = [c for c in bars.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in containers] == ["on time", "late", "missed"]
    on_time, late, missed = ([p.get_height() for p in c.patches] for c in containers)
    assert missed == [0, 1, 0, 2, 3], "the week with 3 missed shows them"
    # Stacked: each series starts where the one below it ends.
    for lower, upper in ((containers[0], containers[1]), (containers[1], containers[2])):
        for low, high in zip(lower.patches, upper.patches, strict=True):
            assert high.get_y() == pytest.approx(low.get_y() + low.get_height())
    assert on_time == [3, 2, 0, 4, 2] and late == [1, 0, 0, 1, 0]


def test_the_held_share_is_a_line_in_its_own_small_panel_with_a_percent_axis() -> None:
    figure = drawn()
    held, bars = panels(figure)
    assert len(figure.axes) == 2, "two panels, no twin axis on another scale"
    [line] = held.get_lines()
    assert line.get_label() == "held (%)"
    assert held.get_ylabel() == "held (%)" and held.get_ylim() == (0, 110)
    rates = numpy.asarray(line.get_ydata(), dtype=float).tolist()
    assert rates[0] == pytest.approx(200 / 3) and rates[3] == 100
    assert rates[2] != rates[2], "a week without answers is a gap, not 0%"
    assert bars.get_ylabel() == "follow-ups due"
    assert not bars.get_lines(), "nothing drawn over the bars"
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    held_box, bar_box = held.get_window_extent(renderer), bars.get_window_extent(renderer)
    assert held_box.height < bar_box.height and not held_box.overlaps(bar_box)


def test_weeks_are_labelled_by_their_dates() -> None:
    _, bars = panels(drawn())
    labels = [t.get_text() for t in bars.get_xticklabels()]
    assert labels == ["19–25 Oct", "26 Oct–1 Nov", "2–8 Nov", "9–15 Nov", "16–22 Nov"]


def test_the_legend_is_outside_the_data_and_names_all_four_series() -> None:
    figure = drawn()
    [legend] = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["on time", "late", "missed", "held (%)"]
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    legend_box = legend.get_window_extent(renderer)
    for axes in figure.axes:
        assert not legend_box.overlaps(axes.get_window_extent(renderer))
    assert not [a for a in figure.axes if a.get_legend() is not None], "no legend inside"


def test_the_colours_come_from_the_okabe_ito_palette() -> None:
    held, bars = panels(drawn())
    containers = [c for c in bars.containers if isinstance(c, BarContainer)]
    fills = {to_hex(c.patches[0].get_facecolor()).upper() for c in containers}
    line = to_hex(held.get_lines()[0].get_color()).upper()
    assert len(fills) == 3 and fills | {line} <= set(OKABE_ITO)
    assert line not in fills


def test_a_team_with_no_data_gets_no_chart() -> None:
    empty = five_weeks([(0, 0, 0, 0, 0)] * 5)
    assert chart_figure(empty, "quiet") is None
    assert chart_png(empty, "quiet") is None


def test_the_png_is_sized_for_slacks_preview() -> None:
    png = chart_png(five_weeks(), "Northwind: five weeks")
    assert png is not None and png.startswith(PNG_MAGIC)
    height, width, _ = imread(io.BytesIO(png)).shape
    assert (width, height) == (720, 480), "twice Slack's 360 px preview width"
    assert width / 2 <= 360 and height / 2 <= 500


def test_the_alt_text_says_in_words_what_the_chart_shows() -> None:
    text = describe(five_weeks())
    assert "on time, late and missed" in text and "held" in text
    assert "16–22 Nov: 2 on time, 0 late, 3 missed; held 67% (2 of 3)." in text
    assert "2–8 Nov: 0 on time, 0 late, 0 missed; no answers." in text
    many = five_weeks(ROWS * 8)
    assert len(describe(many)) <= ALT_TEXT_LIMIT
