"""The content review table a clinical reviewer signs off: complete, current, and readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from knowledge.review_table import review_markdown
from knowledge.validate import check_content

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "content-review.md"


def test_the_checked_in_table_is_the_one_the_content_gives():
    assert DOC.read_text(encoding="utf-8") == review_markdown(check_content()), (
        "docs/content-review.md is out of date: run `qi-coach knowledge review`")


def test_every_strategy_and_tool_has_a_row_with_its_evidence_and_sources():
    content = check_content()
    text = review_markdown(content)
    rows = {line.split("(`")[1].split("`)")[0]: line for line in text.splitlines()
            if line.startswith("| ") and "(`" in line}
    assert set(rows) == {s.id for s in content.strategies} | {t.id for t in content.tools}
    for s in content.strategies:
        assert f"| {s.evidence.value} |" in rows[s.id] and rows[s.id].endswith("| ☐ |")
    assert "Pannick et al. 2016, BMJ Quality & Safety" in text
    assert ".txt" not in text  # seed file names are for maintainers, not reviewers


def test_the_command_writes_the_table(tmp_path):
    out = tmp_path / "review.md"
    done = subprocess.run([sys.executable, "-m", "qi_coach.cli", "knowledge", "review", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == review_markdown(check_content())
