"""The digest's chart: a PNG a team lead reads at a glance in Slack's preview.

One figure, two panels sharing the weeks: above, a small panel with the share of answered
follow-ups whose fix held (0-100 %, its own labelled axis: no twin axes on different scales);
below, the week's follow-ups stacked as on time / late / missed. Weeks are labelled by their
dates ("16–22 Nov"), the legend sits outside both panels, and a team with no data for the
period gets no chart at all (`chart_figure` returns None).

Size: Slack documents the preview of an image in a message as "resized to a maximum width of
360px or a maximum height of 500px" (docs.slack.dev, Legacy secondary message attachments,
`image_url`); it documents no size for uploaded files' previews, whose file objects carry
thumbnails up to `thumb_720`/`thumb_1024` (docs.slack.dev, file object). So the PNG is
720 x 480 px: twice the 360 px preview width, pixel-exact on a 2x screen, 240 px high at 1x,
and its smallest text (13 pt at 100 dpi, 18 px) still about 9 px when halved.

Colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design", the palette R
ships as `palette.colors(palette = "Okabe-Ito")`), told apart under the common colour-vision
deficiencies: bluish green for on time, orange for late, vermillion for missed, blue for the
held line.

Only the object-oriented API (`Figure` + `FigureCanvasAgg`): no pyplot, so no global state,
no GUI backend and nothing shared between threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WIDTH_PX, HEIGHT_PX, DPI = 720, 480, 100
"""Twice Slack's documented 360 px preview width (see the module docstring)."""
FONT_PT = 13
ON_TIME, LATE, MISSED, HELD = "#009E73", "#E69F00", "#D55E00", "#0072B2"
"""Okabe-Ito: bluish green, orange, vermillion, blue."""
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
SERIES = ("on time", "late", "missed")
HELD_LABEL = "held (%)"
ALT_TEXT_LIMIT = 1000
"""files.getUploadURLExternal refuses a longer `alt_txt` (`alt_txt_too_large`)."""


@dataclass(frozen=True)
class ChartWeek:
    """One week of the chart: its dates, its follow-ups by how they ended, and the answered
    ones by whether the fix held (the held % is held / (held + not_held))."""

    start: date
    end: date
    on_time: int
    late: int
    missed: int
    held: int
    not_held: int

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def held_pct(self) -> float | None:
        answered = self.held + self.not_held
        return 100 * self.held / answered if answered else None

    @property
    def label(self) -> str:
        """ "16–22 Nov", or "30 Nov–6 Dec" across a month."""
        if self.start.month == self.end.month:
            return f"{self.start.day}–{self.end.day} {self.end:%b}"
        return f"{self.start.day} {self.start:%b}–{self.end.day} {self.end:%b}"


def has_data(weeks: Sequence[ChartWeek]) -> bool:
    return any(w.total or w.held + w.not_held for w in weeks)


def chart_figure(weeks: Sequence[ChartWeek], title: str) -> Figure | None:
    """The chart as a figure (None when no week has anything to show)."""
    if not has_data(weeks):
        return None
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    held_axes, bar_axes = figure.subplots(2, 1, sharex=True, height_ratios=[1, 2.4])
    positions = list(range(len(weeks)))
    _draw_held(held_axes, weeks, positions)
    _draw_bars(bar_axes, weeks, positions)
    bar_axes.set_xticks(positions, [w.label for w in weeks], fontsize=FONT_PT)
    figure.suptitle(title, fontsize=FONT_PT + 2)
    handles = bar_axes.get_legend_handles_labels()[0] + held_axes.get_legend_handles_labels()[0]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        fontsize=FONT_PT,
        frameon=False,
    )
    return figure


def _draw_held(axes: Axes, weeks: Sequence[ChartWeek], positions: list[int]) -> None:
    rates = [w.held_pct if w.held_pct is not None else math.nan for w in weeks]
    axes.plot(positions, rates, color=HELD, marker="o", linewidth=2.5, label=HELD_LABEL)
    for x, rate in zip(positions, rates, strict=True):
        if not math.isnan(rate):
            axes.annotate(
                f"{rate:.0f}%",
                (x, rate),
                textcoords="offset points",
                xytext=(0, -16 if rate > 60 else 7),
                ha="center",
                fontsize=FONT_PT - 1,
                color=HELD,
            )
    axes.set_ylim(0, 110)
    axes.set_yticks([0, 50, 100])
    axes.set_ylabel(HELD_LABEL, fontsize=FONT_PT)
    axes.tick_params(labelsize=FONT_PT - 1, labelbottom=False)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)


def _draw_bars(bars: Axes, weeks: Sequence[ChartWeek], positions: list[int]) -> None:
    bottom = [0] * len(weeks)
    for label, colour, values in (
        (SERIES[0], ON_TIME, [w.on_time for w in weeks]),
        (SERIES[1], LATE, [w.late for w in weeks]),
        (SERIES[2], MISSED, [w.missed for w in weeks]),
    ):
        bars.bar(positions, values, bottom=bottom, color=colour, label=label, width=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    bars.set_ylim(0, max(max(w.total for w in weeks), 1) * 1.15)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    bars.set_ylabel("follow-ups due", fontsize=FONT_PT)
    bars.tick_params(labelsize=FONT_PT - 1)
    bars.spines[["top", "right"]].set_visible(False)


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_png(weeks: Sequence[ChartWeek], title: str) -> bytes | None:
    """The chart as PNG bytes; None when there is nothing to draw (post no chart)."""
    figure = chart_figure(weeks, title)
    return png_bytes(figure) if figure is not None else None


def describe(weeks: Sequence[ChartWeek]) -> str:
    """The chart in words, for the upload's alt text (at most ALT_TEXT_LIMIT characters)."""
    if not has_data(weeks):
        return "No follow-ups in the period: no chart."
    first, last = weeks[0], weeks[-1]
    span = ChartWeek(first.start, last.end, 0, 0, 0, 0, 0).label
    parts = [
        f"Chart of follow-ups due per week, {span}, stacked as on time, late and missed, "
        "with a small panel above showing the share of answered follow-ups whose fix held."
    ]
    for week in weeks:
        held = (
            f"held {week.held_pct:.0f}% ({week.held} of {week.held + week.not_held})"
            if week.held_pct is not None
            else "no answers"
        )
        parts.append(
            f"{week.label}: {week.on_time} on time, {week.late} late, {week.missed} missed; {held}."
        )
    text = " ".join(parts)
    return text if len(text) <= ALT_TEXT_LIMIT else text[: ALT_TEXT_LIMIT - 1] + "…"
