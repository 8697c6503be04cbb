"""Benchmark the pictures (not a test): a run chart from typed numbers to PNG, and the insights
page from the records to HTML.

    make bench          # this with the others
    .venv/bin/python bench/bench_pictures.py --repeats 10

A run chart is drawn while the person waits for the reply, so its time is what they feel on top
of the turn: reading the measure, the rules, matplotlib's PNG (full size, and the small inline
one Teams gets), for a year of weekly points and for the longest series accepted (500). The
insights page is for a QI lead, drawn on request: its figures, plots and HTML on the synthetic
demonstration data set (400 conversations, 12 months). Reports median and worst, and the
action server's resident memory after drawing (matplotlib is loaded on the first chart).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qi_coach.runcharts import rules  # noqa: E402
from qi_coach.runcharts.measure import read_measure  # noqa: E402


def weekly(points: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    values = [round(rng.gauss(12 if i < points // 2 else 9, 2.5), 1) for i in range(points)]
    return "weekly falls: " + " ".join(str(v) for v in values) + f"\nchanges after point {points // 2}"


def time_chart(text: str, repeats: int, compact: bool) -> list[float]:
    from qi_coach.runcharts import chart
    from qi_coach.runcharts.drawing import baseline_for

    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        measure = read_measure(text)
        reading = rules.read(measure.values, baseline=baseline_for(measure))
        chart.render_png(measure, reading, compact=compact)
        found.append((time.perf_counter() - started) * 1000)
    return found


def time_insights(repeats: int) -> list[float]:
    from qi_coach.insights import figures, report
    from qi_coach.insights.demo import demo_engine

    today = date(2026, 12, 4)
    engine = demo_engine(today=today)
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        shown = figures.compute(engine, figures.Period.last_year(today), synthetic=True)
        images = report.render(shown)
        report.page_html(shown, images, image_src=lambda plot: plot.data_uri, csv_href=lambda name: f"{name}.csv",
                         stylesheet="chat.css")
        found.append((time.perf_counter() - started) * 1000)
    return found


def line(label: str, ms: list[float]) -> str:
    return f"  {label:<46} median {statistics.median(ms):7.1f} ms   worst {max(ms):7.1f} ms   ({len(ms)} runs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    time_chart(weekly(12), 1, False)  # matplotlib's import and font cache, once per process
    first = (time.perf_counter() - started) * 1000
    print("Pictures:")
    print(f"  first chart in a fresh process, importing matplotlib: {first:7.0f} ms")
    print(line("run chart, 52 weekly points, full size", time_chart(weekly(52), args.repeats, False)))
    print(line("run chart, 52 weekly points, Teams inline", time_chart(weekly(52), args.repeats, True)))
    print(line("run chart, 500 points (the most accepted)", time_chart(weekly(500), args.repeats, False)))
    print(line("insights page, demonstration data (400)", time_insights(max(2, args.repeats // 3))))
    print(f"  resident memory afterwards: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
