"""What the QI lead gets: hidden cells stay hidden in the CSVs, the page and the plots; no
conversation id or anything people typed reaches any of them; the report folder."""

from __future__ import annotations

import csv
import io
import re
from html import escape
from pathlib import Path

import pytest

from qi_coach.insights import report
from qi_coach.insights.figures import SMALL, TABLES, compute, suppress
from tests.insights.conftest import COMMENT, CUT, LABELS, OBSTACLE, PLAN_TEXT, PREFIX, counts

SHOWN = suppress(counts(), LABELS)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_cells_that_are_hidden_are_empty_and_marked():
    rows = rows_of(report.csv_text(SHOWN, "barriers_by_month"))
    assert list(rows[0]) == ["source", "barrier_id", "barrier", "month", "value", "suppressed"]
    cell = {(r["barrier_id"], r["month"]): (r["value"], r["suppressed"]) for r in rows}
    assert cell["time_pressure", "2026-01"] == ("12", "")
    assert cell["time_pressure", "2026-02"] == ("", "secondary")
    assert cell["time_pressure", "2026-03"] == ("", "small_cell")  # 3 conversations
    assert cell["time_pressure", "total"] == ("23", "")
    assert cell["resources", "2026-02"] == ("0", "")  # zero is a number, not a secret
    assert {r["source"] for r in rows} == {"qi-coach records"}
    strategies = {(r["strategy_id"], r["measure"]): (r["value"], r["suppressed"])
                  for r in rows_of(report.csv_text(SHOWN, "strategies"))}
    assert strategies["huddles", "helped_rate"] == ("0.714", "")
    assert strategies["protected_time", "helped"] == ("", "small_cell")
    assert strategies["protected_time", "helped_rate"] == ("", "secondary")
    for name in TABLES:  # no number from 1 to 4 is written anywhere a count goes
        for row in rows_of(report.csv_text(SHOWN, name)):
            if row.get("measure") != "helped_rate" and row.get("state") != "completion_rate":
                assert row["value"] not in {"1", "2", "3", "4"}, (name, row)


def test_the_page_shows_hidden_cells_as_marks_and_obeys_the_content_security_policy():
    plots = report.render(SHOWN)
    html = report.page_html(SHOWN, plots, image_src=lambda p: p.data_uri, csv_href=lambda n: f"insights.csv?table={n}",
                            stylesheet="static/chat.css")
    assert html.count('<img src="data:image/png;base64,') == len(report.PLOTS)
    assert all(f'alt="{escape(report.alt_text(SHOWN, name))}"' in html for name in report.PLOTS)
    assert "<td>" + "<abbr" in html and "&lt;5</abbr>" in html
    assert not re.search(r"<td>[1-4]</td>", html)  # no small count in any table cell
    assert not re.search(r"<(style|script)\b|\sstyle=|\son[a-z]+=", html)  # nothing the CSP would block
    for name in TABLES:
        assert f'href="insights.csv?table={name}"' in html
    assert report.DEMO_BANNER not in html and "synthetic" not in html.lower()


def test_the_alt_texts_say_what_each_plot_shows_in_words_without_small_numbers():
    texts = {name: report.alt_text(SHOWN, name) for name in report.PLOTS}
    assert "No time for the project, 23 in all, most in Jan 2026 (12)" in texts["barriers_by_month"]
    assert "Largest: No time for the project at the front line (10)" in texts["barriers_by_level"]
    assert "Short daily huddles: suggested to 30, chosen in 9, tried 7, helped 5" in texts["strategies"]
    assert "(4)" not in texts["barrier_pairs"] and "<5" in texts["barrier_pairs"]


def _drawn(figure) -> tuple[list, list, list[str]]:
    """The bars and cells drawn as counts, those drawn as hidden placeholders, and the texts."""
    patches = [p for ax in figure.axes for p in ax.patches]
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    return ([p for p in patches if p.get_gid() == "count"], [p for p in patches if p.get_gid() == "suppressed"],
            texts)


def test_the_plots_draw_no_small_count_only_a_hatched_placeholder_marked_under_5():
    months, hidden, texts = _drawn(report.draw(SHOWN, "barriers_by_month"))
    assert sorted(p.get_height() for p in months) == [5, 12]  # time_pressure's 8 went with its 3 (the "*")
    assert len(hidden) == 3 and all(p.get_hatch() for p in hidden)  # its 3, resources' 1 and staff_turnover's 3
    assert texts.count(SMALL) == 3 and texts.count("*") == 1
    strategies, hidden, texts = _drawn(report.draw(SHOWN, "strategies"))
    assert all(p.get_width() >= 5 for p in strategies) and len(hidden) == 1 and texts.count(SMALL) == 1
    cells, hidden, texts = _drawn(report.draw(SHOWN, "barrier_pairs"))
    assert len(hidden) == 1 and texts.count(SMALL) == 1 and not {"1", "2", "3", "4"} & set(texts)
    svg = report.render(SHOWN, "svg")["barriers_by_level"].data.decode()
    assert svg.startswith("<?xml") and "&lt;5" in svg  # text kept as text: readable, searchable


def test_nothing_people_typed_and_no_conversation_id_reaches_the_report_folder(sqlite_records, tmp_path: Path):
    shown = compute(sqlite_records, CUT)
    for fmt in ("png", "svg"):
        written = report.write_report(shown, tmp_path / fmt, fmt)
        assert {p.name for p in written} == {"index.html", "chat.css", *(f"{n}.{fmt}" for n in report.PLOTS),
                                             *(f"{n}.csv" for n in TABLES)}
        for path in written:
            data = path.read_bytes()
            for secret in (OBSTACLE, "ZEBRA", PLAN_TEXT, COMMENT, PREFIX, "edge-1"):
                assert secret.encode() not in data, (path.name, secret)
        html = (tmp_path / fmt / "index.html").read_text()
        assert f'src="barriers_by_month.{fmt}"' in html and 'href="strategies.csv"' in html
        assert 'href="chat.css"' in html


@pytest.mark.parametrize("synthetic", [True, False])
def test_demonstration_data_says_synthetic_everywhere_it_goes(synthetic, tmp_path: Path):
    shown = suppress(counts(), LABELS, synthetic=synthetic)
    report.write_report(shown, tmp_path, "svg")
    html = (tmp_path / "index.html").read_text()
    assert (report.DEMO_BANNER in html) is synthetic
    for name in TABLES:
        sources = {r["source"] for r in rows_of((tmp_path / f"{name}.csv").read_text())}
        assert sources == {"synthetic demonstration data" if synthetic else "qi-coach records"}
    for name in report.PLOTS:
        assert (report.SYNTHETIC_MARK in (tmp_path / f"{name}.svg").read_text()) is synthetic
    assert ("SYNTHETIC" in report.summary(shown)) is synthetic
    assert report.csv_filename(shown, "strategies").endswith("-synthetic.csv" if synthetic else "-31.csv")
