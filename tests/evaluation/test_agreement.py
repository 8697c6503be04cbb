"""Agreement between two independent labellings: the ceiling the classifier is read against."""

from __future__ import annotations

import json

import pytest

from qi_coach.evaluation import agreement


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_kappa_per_barrier_and_macro_f1_between_labellers(tmp_path):
    rows = [{"text": "t1", "a": ["time_pressure"], "b": ["time_pressure"], "corpus": ["time_pressure"]},
            {"text": "t2", "a": ["resources"], "b": ["time_pressure"], "corpus": ["resources"]},
            {"text": "t3", "a": [], "b": [], "corpus": []},
            {"text": "t4", "a": ["resources", "team_working"], "b": ["team_working"], "corpus": ["team_working"]}]
    figures = agreement.agreement_figures(_write(tmp_path / "l.jsonl", rows))
    assert figures["n"] == 4
    assert figures["kappa"]["team_working"]["kappa"] == 1.0  # both said it of the same item
    assert figures["kappa"]["resources"] == {"kappa": 0.0, "a": 2, "b": 0}  # A alone: no agreement beyond chance
    # A as truth: time_pressure P=1/2 R=1 (0.667), resources 0 of 2, team_working 1 -> mean over supported
    assert figures["macro_f1_a_vs_b"] == pytest.approx((2 / 3 + 0 + 1) / 3, abs=1e-3)
    assert figures["macro_f1_a_vs_corpus"] > figures["macro_f1_b_vs_corpus"]


def test_no_labelling_means_no_figures_and_a_bad_id_is_refused(tmp_path):
    assert agreement.agreement_figures(tmp_path / "missing.jsonl") == {}
    bad = _write(tmp_path / "bad.jsonl", [{"text": "t", "a": ["busy"], "b": [], "corpus": []}])
    with pytest.raises(ValueError, match="line 1: 'a'"):
        agreement.agreement_figures(bad)


def test_the_shipped_double_labelling_is_large_enough():
    rows = agreement.load()
    assert len(rows) >= 150
    assert len({r["text"] for r in rows}) == len(rows)
