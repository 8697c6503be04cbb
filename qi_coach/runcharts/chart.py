"""The run chart as a picture: the points in time order, the median, the changes the team made,
and the points each rule flagged, so the picture says what the words say.

Drawn with matplotlib's Agg backend (no screen, no fonts fetched) into PNG bytes. The colours
are the Okabe-Ito palette, readable with the common colour-vision deficiencies, and every
signal also has its own marker shape, so nothing depends on colour alone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: a server has no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from qi_coach.runcharts.measure import Measure  # noqa: E402
from qi_coach.runcharts.rules import RunChartReading  # noqa: E402

LINE = "#0072B2"  # blue
MEDIAN = "#555555"
SHIFT = "#E69F00"  # orange
TREND = "#009E73"  # bluish green
UNUSUAL = "#D55E00"  # vermillion
CHANGE = "#CC79A7"  # reddish purple
MAX_TICK_LABELS = 14
#: Full size for the web chat and Slack; compact for a Teams message, which carries the picture
#: inline and must stay small (its messages are limited to about 28 KB).
FULL = (8.0, 4.2, 110)
COMPACT = (7.0, 3.8, 84)


def render_png(measure: Measure, reading: RunChartReading, compact: bool = False) -> bytes:
    """The chart as PNG bytes; ``compact`` makes a small, palette-reduced one for inline use."""
    width, height, dpi = COMPACT if compact else FULL
    figure = draw(measure, reading, figsize=(width, height))
    buffer = io.BytesIO()
    try:
        # "tight" grows the canvas to hold the legend under the dates, which the layout leaves out
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15)
    finally:
        plt.close(figure)
    data = buffer.getvalue()
    return _fewer_colours(data) if compact else data


def draw(measure: Measure, reading: RunChartReading, figsize: tuple[float, float] = FULL[:2]) -> Figure:
    """The figure itself (the caller saves and closes it)."""
    values = reading.values
    xs = list(range(1, len(values) + 1))
    figure, axes = plt.subplots(figsize=figsize, layout="constrained")
    axes.plot(xs, values, color=LINE, marker="o", markersize=4, linewidth=1.6, label=measure.name or "Your measure")

    base = reading.baseline
    if base < len(values):
        axes.hlines(reading.median, 1, base, colors=MEDIAN, linewidth=1.4,
                    label=f"Baseline median ({_number(reading.median)}), first {base} points")
        axes.hlines(reading.median, base, len(values), colors=MEDIAN, linewidth=1.4, linestyles="dashed",
                    label="Baseline median, extended")
    else:
        axes.hlines(reading.median, 1, len(values), colors=MEDIAN, linewidth=1.4,
                    label=f"Median ({_number(reading.median)})")

    _mark(axes, reading, "shift", SHIFT, "s", "Shift (6+ on one side)")
    _mark(axes, reading, "trend", TREND, "^", "Trend (5+ going one way)")
    _mark(axes, reading, "astronomical", UNUSUAL, "D", "Unusual point")

    top = axes.get_ylim()[1]
    for number, change in enumerate(measure.changes, 1):
        x = change.index + 0.5
        axes.axvline(x, color=CHANGE, linestyle=":", linewidth=1.6,
                     label="A change you made" if number == 1 else None)
        axes.annotate(_clip(change.label or f"Change {number}", 28), (x, top), xytext=(3, -12),
                      textcoords="offset points", fontsize=8, color="#333333", rotation=0, va="top")

    axes.set_title(measure.name or "Your measure", loc="left", fontsize=12)
    if measure.unit == "%":
        axes.yaxis.set_major_formatter(lambda y, _: f"{y:g}%")
    _ticks(axes, xs, measure.labels)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3 if measure.labels else -0.14), ncol=3,
                fontsize=8, frameon=False)
    return figure


def _mark(axes, reading: RunChartReading, kind: str, colour: str, marker: str, label: str) -> None:
    """The points a rule flagged, drawn over the line in the rule's colour and shape."""
    indices = sorted({i for signal in reading.of_kind(kind) for i in range(signal.start, signal.end + 1)})
    if indices:
        axes.scatter([i + 1 for i in indices], [reading.values[i] for i in indices], s=46 if kind != "shift" else 40,
                     color=colour, marker=marker, zorder=3, label=label, edgecolors="white", linewidths=0.6)


def _ticks(axes, xs: list[int], labels: Sequence[str] | None) -> None:
    step = max(1, -(-len(xs) // MAX_TICK_LABELS))
    shown = xs[::step]
    axes.set_xticks(shown)
    if labels:
        axes.set_xticklabels([labels[x - 1] for x in shown], rotation=45, ha="right", fontsize=8)
    else:
        axes.set_xlabel("Point (in time order)")
    axes.set_xlim(0.5, len(xs) + 0.5)


def _fewer_colours(png: bytes) -> bytes:
    """A chart has a handful of colours: a 32-colour palette keeps it sharp at a third of the size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=32)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
