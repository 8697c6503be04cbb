"""The insights as a QI lead sees them: plots, the HTML page, CSV downloads and a report folder.

Everything here is drawn from ``figures.Figures`` (suppressed already), never from the counts:
a hidden cell has no value to draw. A ``<5`` is a hatched placeholder bar (or a hatched grey
square in a heat map) labelled ``<5``; a ``*`` (hidden so a ``<5`` beside it cannot be worked
out from a total) is no bar at all, only the mark. The page obeys the web chat's
Content-Security-Policy: no inline style or script, images as ``data:`` URIs, the web chat's
stylesheet. Demonstration data says "synthetic" everywhere it goes: a banner on the page, a line
on each plot, a ``source`` column in each CSV.

CSV convention (one row per cell, so the numbers stay numbers): ``source`` ("qi-coach records"
or "synthetic demonstration data"), the row's ids and names, the column (``month``, ``level``,
``measure`` or ``state``), ``value`` (empty when hidden; rates as fractions, 0.625) and
``suppressed``: empty, ``small_cell`` (1 to 4 conversations) or ``secondary`` (hidden so another
cannot be worked out).

Matplotlib is used without pyplot, on the Agg canvas, under a lock: the page draws in a worker
thread (``asyncio.to_thread``) and pyplot's global state is not safe there.
"""

from __future__ import annotations

import base64
import csv
import io
import shutil
import textwrap
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

from qi_coach.insights.figures import (
    SECONDARY,
    SMALL,
    SMALL_CELL,
    TABLES,
    Cell,
    Figures,
    Row,
    Table,
    month_label,
)
from qi_coach.paths import PROJECT_ROOT

matplotlib.use("Agg")

PLOTS = ("barriers_by_month", "barriers_by_level", "barrier_pairs", "strategies")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
STYLESHEET = PROJECT_ROOT / "web" / "chat.css"
DEMO_BANNER = "Demonstration data: synthetic, not from real conversations"
SOURCE = {True: "synthetic demonstration data", False: "qi-coach records"}
SUPPRESSED_CSV = {SMALL: "small_cell", SECONDARY: "secondary"}
TOP_BARRIERS, TOP_STRATEGIES = 6, 12
DPI = 100

BLUE, DARK_BLUE, PALE_BLUE, GREEN, GREY, PALE_GREY, INK = (
    "#005eb8", "#003087", "#41b6e6", "#007f3b", "#425563", "#e8edee", "#1d2329")  # NHS palette
MEASURE_COLOURS = {"suggested": PALE_BLUE, "chosen": BLUE, "tried": DARK_BLUE, "helped": GREEN}
MEASURE_NAMES = {"suggested": "suggested to", "chosen": "chosen in", "tried": "tried", "helped": "said it helped"}
SECTIONS = {
    "barriers_by_month": "Which barriers come up, month by month",
    "barriers_by_level": "Where in the organisation",
    "barrier_pairs": "Barriers that come together",
    "strategies": "Strategies suggested, chosen and reported as helping",
    "checkins": "Check-ins",
}
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Plot:
    name: str
    fmt: str
    data: bytes
    alt: str
    width: int
    height: int

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.fmt}"

    @property
    def data_uri(self) -> str:
        return f"data:{FORMATS[self.fmt]};base64,{base64.b64encode(self.data).decode('ascii')}"


# --- plots -----------------------------------------------------------------------------------


def render(figures: Figures, fmt: str = "png") -> dict[str, Plot]:
    """Every plot of ``figures`` as PNG or SVG bytes, with its alt text."""
    if fmt not in FORMATS:
        raise ValueError(f"plots are png or svg, not {fmt!r}")
    plots = {}
    with _DRAWING, matplotlib.rc_context(_STYLE):
        for name in PLOTS:
            drawing = draw(figures, name)
            buffer = io.BytesIO()
            drawing.savefig(buffer, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
            width, height = (round(x * DPI) for x in drawing.get_size_inches())
            plots[name] = Plot(name, fmt, buffer.getvalue(), alt_text(figures, name), width, height)
    return plots


_STYLE = {"font.family": "DejaVu Sans", "font.size": 10, "axes.edgecolor": GREY, "axes.labelcolor": INK,
          "xtick.color": INK, "ytick.color": INK, "text.color": INK, "svg.fonttype": "none",
          "svg.hashsalt": "qi-coach-insights", "hatch.color": GREY, "hatch.linewidth": 0.8}
_METADATA: dict[str, dict[str, Any]] = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def draw(figures: Figures, name: str) -> Any:
    """One plot as a matplotlib ``Figure`` (tests look at what was drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawers: dict[str, Callable[[Any, Figures], None]] = {
        "barriers_by_month": _months, "barriers_by_level": _levels, "barrier_pairs": _pairs,
        "strategies": _strategies}
    figure = Figure(figsize=_SIZES[name], dpi=DPI)
    FigureCanvasAgg(figure)
    drawers[name](figure, figures)
    return figure


_SIZES = {"barriers_by_month": (11, 6.8), "barriers_by_level": (9, 7.6), "barrier_pairs": (11, 9.5),
          "strategies": (11, 10)}
SYNTHETIC_MARK = "Synthetic demonstration data, not from real conversations"
HIDDEN_NOTE = "Hatched: 1 to 4 conversations, hidden (<5)."
SECONDARY_NOTE = " *: hidden so that a <5 cannot be worked out from the total."


def _frame(figure: Any, figures: Figures, title: str, note: str) -> tuple[float, float, float, float]:
    """The title at the top left, the note (and, for demonstration data, the synthetic mark)
    at the bottom left; the rectangle left for the axes."""
    height = figure.get_size_inches()[1]
    line = 0.19 / height
    figure.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
    lines = [(note, GREY, "normal")] + ([(SYNTHETIC_MARK, "#8a1538", "bold")] if figures.synthetic else [])
    for i, (text, colour, weight) in enumerate(lines):
        figure.text(0.01, 0.008 + i * line, text, fontsize=9, color=colour, fontweight=weight, va="bottom")
    return (0.0, 0.01 + len(lines) * line, 1.0, 1 - 0.42 / height)


def _placeholder(ax: Any, x: float, width: float, horizontal: bool = False) -> None:
    """A hatched bar over the band a ``<5`` may be in (1 to 4), so it is seen but never read as a count."""
    style = {"color": "white", "edgecolor": GREY, "hatch": "////", "linewidth": 0.8, "gid": "suppressed"}
    if horizontal:
        ax.barh(x, SMALL_CELL - 1, height=width, **style)
    else:
        ax.bar(x, SMALL_CELL - 1, width=width, **style)


def _ranked_barriers(figures: Figures) -> list[Row]:
    rows = figures.tables["barriers_by_month"].rows
    return sorted((r for r in rows if r.cells[-1].value or r.cells[-1].hidden),
                  key=lambda r: (-r.cells[-1].sort_key, r.label))


def _has_secondary(rows: Any) -> bool:
    return any(c.hidden == SECONDARY for r in rows for c in r.cells)


def _months(figure: Any, figures: Figures) -> None:
    table = figures.tables["barriers_by_month"]
    months = table.columns[:-1]
    top = _ranked_barriers(figures)[:TOP_BARRIERS]
    rows_of_plots = 1 if len(top) <= 3 else 2
    if rows_of_plots == 1:  # no empty second row when three or fewer barriers have any count
        figure.set_size_inches(_SIZES["barriers_by_month"][0], 4.2)
    rect = _frame(figure, figures, f"Conversations confirming each of the {len(top) or ''} barriers seen most, by "
                  "month (the month each was first confirmed)",
                  HIDDEN_NOTE + (SECONDARY_NOTE if _has_secondary(top) else ""))
    if not top:
        _nothing(figure, "No barrier was confirmed in this period.")
        return
    peak = max([c.value for r in top for c in r.cells[:-1] if isinstance(c.value, int)] + [SMALL_CELL])
    axes = list(figure.subplots(rows_of_plots, 3, sharey=True, squeeze=False).flat)
    step = max(1, -(-len(months) // 12))
    for ax, row in zip(axes, top, strict=False):
        for x, cell in enumerate(row.cells[:-1]):
            if cell.hidden == SMALL:
                _placeholder(ax, x, 0.8)
                ax.text(x, SMALL_CELL - 0.6, SMALL, ha="center", va="bottom", fontsize=7, color=GREY)
            elif cell.hidden:
                ax.text(x, 0.3, SECONDARY, ha="center", va="bottom", fontsize=11, color=GREY)
            elif cell.value:
                ax.bar(x, cell.value, width=0.8, color=BLUE, gid="count")
        ax.set_title(f"{textwrap.shorten(row.label, 42)}\n{row.cells[-1].text} conversations in all", fontsize=10,
                     loc="left")
        ax.set_xticks(range(0, len(months), step))
        ax.set_xticklabels([month_label(m).replace(" 20", " '") for m in months[::step]], rotation=90, fontsize=8)
        ax.set_ylim(0, peak * 1.15)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color=PALE_GREY)
        ax.set_axisbelow(True)
    for ax in axes[len(top):]:
        ax.set_visible(False)
    for ax in axes[::3]:
        ax.set_ylabel("conversations")
    figure.tight_layout(rect=rect)


def _heatmap(ax: Any, rows: Sequence[Sequence[Cell | None]], row_labels: list[str], column_labels: list[str],
             peak: int) -> None:
    """A heat map of shown counts; hidden cells hatched grey with their mark; None: no cell."""
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    colours = LinearSegmentedColormap.from_list("insights", ["#e3eef9", BLUE, DARK_BLUE])
    for y, cells in enumerate(rows):
        for x, cell in enumerate(cells):
            if cell is None:
                continue
            if cell.hidden:
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=PALE_GREY, edgecolor="white", hatch="///",
                                       linewidth=1, gid="suppressed"))
                ax.text(x, y, cell.text, ha="center", va="center", fontsize=9, color=INK)
                continue
            share = (cell.value or 0) / peak if peak else 0
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colours(share) if cell.value else "white",
                                   edgecolor="white" if cell.value else PALE_GREY, linewidth=1, gid="count"))
            ax.text(x, y, cell.text, ha="center", va="center", fontsize=9, color="white" if share > 0.4 else INK)
    ax.set_xlim(-0.5, len(column_labels) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(range(len(column_labels)))
    ax.set_xticklabels(column_labels, fontsize=9)
    ax.set_yticks(range(len(row_labels)))
    ax.set_yticklabels(row_labels, fontsize=9)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _peak(cells: list[Cell | None]) -> int:
    return max([c.value for c in cells if c is not None and isinstance(c.value, int)] + [1])


def _levels(figure: Any, figures: Figures) -> None:
    table = figures.tables["barriers_by_level"]
    rows = [list(r.cells[:-1]) for r in table.rows]
    rect = _frame(figure, figures, "Conversations confirming each barrier, by the organisational level named",
                  "Grey hatched: hidden. <5: 1 to 4 conversations." + SECONDARY_NOTE)
    ax = figure.add_subplot()
    _heatmap(ax, rows, [r.label for r in table.rows], [textwrap.fill(h, 12) for h in table.headers[:-1]],
             _peak([c for cells in rows for c in cells]))
    ax.xaxis.tick_top()
    figure.tight_layout(rect=rect)


def _pairs(figure: Any, figures: Figures) -> None:
    """The lower triangle of barrier x barrier: each pair once, no barrier with itself."""
    table = figures.tables["barrier_pairs"]
    ids = list(figures.barrier_names)
    cells: list[list[Cell | None]] = [[None] * (len(ids) - 1) for _ in ids[1:]]
    for row in table.rows:
        a, b = sorted((ids.index(row.keys[0]), ids.index(row.keys[2])))
        cells[b - 1][a] = row.cells[0]
    names = [figures.barrier_names[b] for b in ids]
    rect = _frame(figure, figures, "Barriers that come together: conversations confirming both of a pair",
                  "Grey hatched: 1 to 4 conversations, hidden (<5).")
    ax = figure.add_subplot()
    _heatmap(ax, cells, names[1:], [textwrap.fill(n, 18) for n in names[:-1]],
             _peak([r.cells[0] for r in table.rows]))
    ax.set_xticklabels([textwrap.fill(n, 18) for n in names[:-1]], rotation=90, fontsize=9)
    figure.tight_layout(rect=rect)


def _strategies(figure: Any, figures: Figures) -> None:
    from matplotlib.patches import Patch

    table = figures.tables["strategies"]
    top = list(table.rows[:TOP_STRATEGIES])
    rect = _frame(figure, figures, f"The {len(top) or ''} strategies suggested most: suggested, chosen, tried and "
                  "said to help", "Conversations for each. " + HIDDEN_NOTE)
    if not top:
        _nothing(figure, "No strategy was suggested or chosen in this period.")
        return
    ax = figure.add_subplot()
    measures = table.columns[:4]
    height = 0.2
    peak = max([c.value for r in top for c in r.cells[:4] if isinstance(c.value, int)] + [SMALL_CELL])
    for y, row in enumerate(top):
        for i, measure in enumerate(measures):
            cell = row.cells[i]
            at = y + (i - 1.5) * height
            if cell.hidden == SMALL:
                _placeholder(ax, at, height * 0.9, horizontal=True)
                ax.text(SMALL_CELL - 1 + peak * 0.01, at, SMALL, va="center", fontsize=8, color=GREY)
            elif cell.hidden:
                ax.text(peak * 0.01, at, SECONDARY, va="center", fontsize=9, color=GREY)
            else:
                if cell.value:
                    ax.barh(at, cell.value, height=height * 0.9, color=MEASURE_COLOURS[measure], gid="count")
                ax.text((cell.value or 0) + peak * 0.01, at, cell.text, va="center", fontsize=8, color=INK)
    handles = [Patch(facecolor=MEASURE_COLOURS[m], label=MEASURE_NAMES[m]) for m in measures]
    handles.append(Patch(facecolor="white", edgecolor=GREY, hatch="////", label="1 to 4, hidden (<5)"))
    ax.legend(handles=handles, loc="lower right", fontsize=9, frameon=True)
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([textwrap.fill(r.label, 40) for r in top], fontsize=9)
    ax.set_ylim(len(top) - 0.5, -0.6)
    ax.set_xlim(0, peak * 1.1)
    ax.set_xlabel("conversations")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color=PALE_GREY)
    ax.set_axisbelow(True)
    figure.tight_layout(rect=rect)


def _nothing(figure: Any, message: str) -> None:
    figure.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color=GREY)


# --- alt texts: each plot in words, from what is shown ---------------------------------------


def alt_text(figures: Figures, name: str) -> str:
    period = figures.period.label
    hidden = " Counts of 1 to 4 conversations are hidden and marked <5."
    if name == "barriers_by_month":
        top = _ranked_barriers(figures)[:TOP_BARRIERS]
        if not top:
            return f"Bar charts of barriers by month, {period}: no barrier was confirmed in this period."
        months = figures.tables["barriers_by_month"].columns[:-1]
        parts = []
        for row in top:
            shown = [(c.value, m) for c, m in zip(row.cells[:-1], months, strict=True) if isinstance(c.value, int)]
            busiest = max(shown, default=(0, ""))
            parts.append(f"{row.label}, {row.cells[-1].text} in all"
                         + (f", most in {month_label(busiest[1])} ({busiest[0]})" if busiest[0] else ""))
        return (f"Bar charts, one for each of the {len(top)} barriers confirmed in most conversations, of the "
                f"conversations that first confirmed it in each month, {period}: " + "; ".join(parts) + "." + hidden)
    if name == "barriers_by_level":
        table = figures.tables["barriers_by_level"]
        largest = _largest((r.label, _AT_LEVEL[level], c) for r in table.rows
                           for level, c in zip(table.columns[:-1], r.cells[:-1], strict=True))
        return (f"Heat map of the conversations confirming each of the 13 barriers, by the organisational level "
                f"the person named (front line, middle managers, senior leaders, or not said), {period}; darker "
                f"is more. Largest: " + ("; ".join(f"{b} {at} ({c.text})" for b, at, c in largest) or "none")
                + "." + hidden)
    if name == "barrier_pairs":
        table = figures.tables["barrier_pairs"]
        largest = _largest((r.keys[1], r.keys[3], r.cells[0]) for r in table.rows)
        return (f"Heat map of how many conversations confirmed both barriers of each pair, {period}; darker is "
                f"more. Most frequent pairs: " + ("; ".join(f"{a} with {b} ({c.text})" for a, b, c in largest)
                                                  or "none") + "." + hidden)
    table = figures.tables["strategies"]
    top = list(table.rows[:TOP_STRATEGIES])
    if not top:
        return f"Bar chart of strategies, {period}: no strategy was suggested or chosen in this period."
    described = "; ".join(
        f"{r.label}: suggested to {r.cells[0].text}, chosen in {r.cells[1].text}, tried {r.cells[2].text}, "
        f"helped {r.cells[3].text}" for r in top[:3])
    return (f"Horizontal bar chart of the {len(top)} strategies suggested to most conversations, {period}: for "
            f"each, the conversations it was suggested to, chosen in, tried, and said to help. The first three: "
            f"{described}." + hidden)


_AT_LEVEL = {"front_line": "at the front line", "middle_manager": "among middle managers",
             "senior_leader": "among senior leaders", "not_said": "with no level said"}


def _largest(items: Iterable[tuple[str, str, Cell]], n: int = 3) -> list[tuple[str, str, Cell]]:
    shown = [(a, b, c) for a, b, c in items if isinstance(c.value, int) and c.value > 0]
    return sorted(shown, key=lambda item: -(item[2].value or 0))[:n]


# --- CSV -------------------------------------------------------------------------------------


def csv_text(figures: Figures, name: str) -> str:
    """One table as CSV, one row per cell (the module's docstring has the convention)."""
    table = figures.tables[name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["source", *table.key_columns, table.dimension, "value", "suppressed"])
    for row in table.rows:
        for column, cell in zip(table.columns, row.cells, strict=True):
            writer.writerow([SOURCE[figures.synthetic], *row.keys, column, cell.csv,
                             SUPPRESSED_CSV.get(cell.hidden or "", "")])
    return buffer.getvalue()


def csv_filename(figures: Figures, name: str) -> str:
    period = figures.period
    return f"qi-coach-insights-{name}-{period.start}-to-{period.end}{'-synthetic' if figures.synthetic else ''}.csv"


# --- the page --------------------------------------------------------------------------------


def page_html(figures: Figures, images: Mapping[str, Plot], *, image_src: Callable[[Plot], str],
              csv_href: Callable[[str], str], stylesheet: str, period_form: str = "", back_link: str = "") -> str:
    """The insights page: headline figures, each plot with its table under it and a CSV link.

    ``image_src``: how the page points at a plot (a ``data:`` URI, or a file beside it);
    ``period_form``: the served page's form to choose the period (HTML, or nothing)."""
    period = escape(figures.period.label)
    banner = (f'<p class="insights-demo" role="note"><strong>{DEMO_BANNER}</strong></p>'
              if figures.synthetic else "")
    headline = "".join(f'<li><span class="insights-figure">{_cell_html(h.cell)}</span> {escape(h.label)}</li>'
                       for h in figures.headlines)
    sections = []
    for name in TABLES:
        table = figures.tables[name]
        plot = images.get(name)
        picture = (f'<figure class="insights-plot"><img src="{escape(image_src(plot))}" alt="{escape(plot.alt)}" '
                   f'width="{plot.width}" height="{plot.height}"></figure>') if plot else ""
        sections.append(
            f'<section class="insights-section" id="{name}" aria-labelledby="h-{name}">'
            f'<h2 id="h-{name}">{escape(SECTIONS[name])}</h2><p>{escape(_about(table))}</p>{picture}'
            f'{_table_html(table)}'
            f'<p class="insights-download"><a href="{escape(csv_href(name))}" download>Download this table as CSV'
            f"</a></p></section>")
    title = "qi-coach: barrier insights" + (" (synthetic demonstration data)" if figures.synthetic else "")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="{escape(stylesheet)}"></head>'
        '<body class="insights"><header class="top"><h1>Barrier insights</h1>'
        '<p class="lede">Which barriers recur across the projects that used qi-coach, which come together, and '
        f'which strategies people tried and found helpful: {period}.</p>{back_link}</header>{banner}'
        f'<main>{period_form}<section class="insights-section" aria-labelledby="h-headline">'
        f'<h2 id="h-headline">In this period</h2><ul class="insights-headline">{headline}</ul></section>'
        f'{"".join(sections)}{_privacy_html()}</main></body></html>'
    )


def _about(table: Table) -> str:
    return f"Each number counts {table.about}."


def _cell_html(cell: Cell) -> str:
    if cell.hidden == SMALL:
        return '<abbr class="insights-hidden" title="1 to 4 conversations: hidden to protect the people">&lt;5</abbr>'
    if cell.hidden:
        return ('<abbr class="insights-hidden" title="hidden so that a number under 5 cannot be worked out from '
                'the total">*</abbr>')
    return escape(cell.text)


def _table_html(table: Table) -> str:
    caption = f"<caption>{escape(table.title)}</caption>"
    if table.name == "checkins":  # one row: easier to read turned on its side
        row = table.rows[0]
        body = "".join(f'<tr><th scope="row">{escape(h)}</th><td>{_cell_html(c)}</td></tr>'
                       for h, c in zip(table.headers, row.cells, strict=True))
        return (f'<div class="insights-scroll"><table class="insights-table">{caption}<thead><tr><th scope="col">'
                f'</th><th scope="col">Check-ins</th></tr></thead><tbody>{body}</tbody></table></div>')
    rows = list(table.rows)
    note = ""
    if table.name == "barrier_pairs":  # the heat map shows them all; the table lists those shown
        hidden = sum(1 for r in rows if r.cells[0].hidden)
        rows = sorted((r for r in rows if r.cells[0].value), key=lambda r: (-r.cells[0].sort_key, r.label))
        note = (f'<p class="insights-note">{hidden} more pairs came together in 1 to 4 conversations each (&lt;5). '
                "Every pair is in the CSV.</p>") if hidden else ""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
    body = "".join(f'<tr><th scope="row">{escape(r.label)}</th>'
                   + "".join(f"<td>{_cell_html(c)}</td>" for c in r.cells) + "</tr>" for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(table.headers) + 1}">Nothing in this period.</td></tr>'
    return (f'<div class="insights-scroll"><table class="insights-table">{caption}<thead><tr>'
            f'<th scope="col">{escape(table.row_header)}</th>{head}</tr></thead><tbody>{body}</tbody></table></div>'
            f"{note}")


def _privacy_html() -> str:
    return (
        '<section class="insights-section insights-privacy" aria-labelledby="h-privacy">'
        '<h2 id="h-privacy">How these figures protect people</h2><ul>'
        "<li>Only counts of conversations are shown: never who, never a conversation, never anything people "
        "typed.</li>"
        f"<li>A count of 1 to {SMALL_CELL - 1} conversations is hidden and shown as &lt;5; 0 is shown as 0.</li>"
        "<li>Where a total is shown, a second number is hidden (*) if the total would otherwise give a &lt;5 "
        "away; if there is no other number to hide, the total is hidden.</li>"
        f"<li>A rate is shown only when at least {SMALL_CELL} conversations are behind it and every count it is "
        "made from is shown.</li>"
        "<li>Conversations their people deleted are not counted.</li></ul></section>")


# --- the report folder -----------------------------------------------------------------------


def write_report(figures: Figures, out: Path, fmt: str = "png") -> list[Path]:
    """Write ``index.html`` (the page, its images as files beside it), one image per plot, one
    CSV per table and the stylesheet into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    plots = render(figures, fmt)
    written = []
    for plot in plots.values():
        (out / plot.filename).write_bytes(plot.data)
        written.append(out / plot.filename)
    for name in TABLES:
        (out / f"{name}.csv").write_text(csv_text(figures, name), encoding="utf-8")
        written.append(out / f"{name}.csv")
    shutil.copyfile(STYLESHEET, out / "chat.css")
    html = page_html(figures, plots, image_src=lambda p: p.filename, csv_href=lambda n: f"{n}.csv",
                     stylesheet="chat.css")
    (out / "index.html").write_text(html, encoding="utf-8")
    return [out / "index.html", *written, out / "chat.css"]


def summary(figures: Figures) -> str:
    """A few lines for the terminal: the period and the barriers seen most."""
    lines = [f"Barrier insights, {figures.period.label}" + (" (SYNTHETIC demonstration data)"
                                                             if figures.synthetic else "")]
    lines += [f"  {h.cell.text:>6}  {h.label}" for h in figures.headlines]
    top = _ranked_barriers(figures)[:3]
    if top:
        lines.append("  Most often: " + "; ".join(f"{r.label} ({r.cells[-1].text})" for r in top))
    return "\n".join(lines)
