"""The digest's trend chart: a PNG drawn headless with matplotlib's Agg canvas.

Only the object-oriented API (`Figure` + `FigureCanvasAgg`): no pyplot, so no global state,
no GUI backend and nothing shared between threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.digest.content import TrendPoint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def trend_png(points: Sequence[TrendPoint], title: str) -> bytes:
    """Loops closed per week (on time and late, stacked) with the hold rate as a line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [p.week.split("-")[-1] for p in points]
    on_time = [p.on_time for p in points]
    late = [p.closed - p.on_time for p in points]
    figure = Figure(figsize=(7, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(points)))
    axes.bar(positions, on_time, color="#2eb67d", label="closed on time")
    axes.bar(positions, late, bottom=on_time, color="#ecb22e", label="closed late")
    axes.set_xticks(positions, labels)
    axes.set_ylabel("loops closed")
    axes.set_ylim(0, max([p.closed for p in points] + [1]) * 1.25)
    axes.set_title(title, fontsize=11)
    axes.spines[["top"]].set_visible(False)
    held = axes.twinx()
    rates = [p.hold_rate * 100 if p.hold_rate is not None else float("nan") for p in points]
    held.plot(positions, rates, color="#1264a3", marker="o", label="held (%)")
    held.set_ylim(0, 105)
    held.set_ylabel("resolutions held (%)")
    handles = axes.get_legend_handles_labels()
    more = held.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
