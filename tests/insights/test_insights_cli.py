"""``qi-coach insights``: a report folder from the demonstration data or the project's database,
and bad dates refused with a message and a non-zero exit, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from knowledge.db import default_engine
from qi_coach import cli
from qi_coach.insights import report
from qi_coach.insights.figures import TABLES
from tests.insights.conftest import OBSTACLE, PREFIX, fill_records


def test_the_demonstration_folder_is_written_and_says_synthetic(tmp_path: Path, capsys):
    out = tmp_path / "report"
    assert cli.main(["insights", "--out", str(out), "--demo"]) == 0
    said = capsys.readouterr().out
    assert "SYNTHETIC demonstration data" in said and f"{out / 'index.html'}" in said
    assert "conversations with a confirmed barrier" in said
    names = {p.name for p in out.iterdir()}
    assert names == {"index.html", "chat.css", *(f"{n}.png" for n in report.PLOTS), *(f"{n}.csv" for n in TABLES)}
    assert report.DEMO_BANNER in (out / "index.html").read_text()
    assert all((out / f"{n}.png").read_bytes().startswith(b"\x89PNG") for n in report.PLOTS)
    for name in TABLES:
        with (out / f"{name}.csv").open() as f:
            assert {row["source"] for row in csv.DictReader(f)} == {"synthetic demonstration data"}


def test_svg_plots_on_request(tmp_path: Path):
    assert cli.main(["insights", "--out", str(tmp_path), "--demo", "--format", "svg", "--from", "2026-01-01",
                     "--to", "2026-03-31"]) == 0
    assert all((tmp_path / f"{n}.svg").read_text().startswith("<?xml") for n in report.PLOTS)
    assert 'src="strategies.svg"' in (tmp_path / "index.html").read_text()
    assert "1 January 2026 to 31 March 2026" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize(("arguments", "says"), [
    (["--from", "2026-02-30"], "'from' must be a date written like 2026-01-31"),
    (["--to", "next week"], "'to' must be a date"),
    (["--from", "2026-05-01", "--to", "2026-04-01"], "starts (2026-05-01) after it ends"),
])
def test_bad_dates_are_an_error_message_and_exit_2(tmp_path: Path, capsys, arguments, says):
    assert cli.main(["insights", "--out", str(tmp_path / "x"), "--demo", *arguments]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_a_bad_format_is_refused_by_the_command_line(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["insights", "--out", str(tmp_path), "--format", "gif"])
    assert stopped.value.code == 2 and "invalid choice: 'gif'" in capsys.readouterr().err


@pytest.fixture
def project_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """DATABASE_URL pointing at a database of the test's own, as the rest of the project reads it."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'project.db'}")
    default_engine.cache_clear()
    yield default_engine()
    default_engine().dispose()
    default_engine.cache_clear()


def test_without_demo_it_reads_the_projects_database(project_database, tmp_path: Path, capsys):
    fill_records(project_database)
    out = tmp_path / "real"
    assert cli.main(["insights", "--out", str(out), "--from", "2026-02-10", "--to", "2026-09-17"]) == 0
    assert "SYNTHETIC" not in capsys.readouterr().out
    html = (out / "index.html").read_text()
    assert report.DEMO_BANNER not in html and "10 February 2026 to 17 September 2026" in html
    with (out / "barriers_by_month.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["source"] for r in rows} == {"qi-coach records"} and any(r["value"] not in ("", "0") for r in rows)
    for path in out.iterdir():
        assert OBSTACLE.encode() not in path.read_bytes() and PREFIX.encode() not in path.read_bytes()


def test_an_empty_database_says_what_to_do(project_database, tmp_path: Path, capsys):
    assert cli.main(["insights", "--out", str(tmp_path / "none")]) == 1
    assert "qi-coach knowledge load" in capsys.readouterr().err
