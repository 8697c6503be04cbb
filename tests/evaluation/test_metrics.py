"""The evaluation's arithmetic, checked on cases small enough to work out by hand."""

from __future__ import annotations

from collections import Counter

import pytest

from qi_coach.evaluation import metrics
from qi_coach.evaluation.baselines import KeywordBaseline


def p(*pairs):
    return [{"id": b, "confidence": c} for b, c in pairs]


TRUTHS = [["time_pressure"], ["time_pressure", "resources"], [], ["team_working"]]
PREDS = [p(("time_pressure", 0.9)), p(("resources", 0.7), ("time_pressure", 0.6)), p(("resources", 0.55)), []]


def test_scores_by_hand():
    s = metrics.score(TRUTHS, PREDS)
    # time_pressure: tp 2; resources: tp 1, fp 1; team_working: fn 1
    assert s.per_barrier["time_pressure"]["f1"] == 1.0
    assert s.per_barrier["resources"]["f1"] == pytest.approx(2 / 3)
    assert s.per_barrier["team_working"]["f1"] == 0.0
    assert s.macro_f1 == pytest.approx((1 + 2 / 3 + 0) / 3)  # only barriers with support count
    assert s.micro_f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert s.exact_match == 0.5
    assert s.top1_hit == pytest.approx(2 / 3)  # the third message with a barrier got nothing
    assert s.no_barrier_accuracy == 0.0


def test_reliability_bands_count_right_and_wrong_predictions():
    bands = metrics.reliability(TRUTHS, PREDS)
    top = next(b for b in bands if b["from"] == 0.9)
    assert top["predicted"] == 1 and top["correct"] == 1
    mid = next(b for b in bands if b["from"] == 0.5)
    assert mid["predicted"] == 1 and mid["correct"] == 0


def test_co_occurrence_has_a_none_row_and_column():
    m = metrics.co_occurrence(TRUTHS, PREDS)
    assert len(m) == 14 and m[13][1] == 1  # no barrier true, resources predicted
    assert m[12][13] == 1  # team_working true, nothing predicted


def test_iterative_folds_spread_every_label_across_folds():
    labels = [["time_pressure"]] * 10 + [["resources", "time_pressure"]] * 5 + [["team_working"]] * 5 + [[]] * 6
    folds = metrics.iterative_folds(labels, k=5, seed=1)
    assert sorted(Counter(folds).values()) in ([5, 5, 5, 5, 6], [5, 5, 5, 5, 6])
    for label in ("time_pressure", "resources", "team_working"):
        per_fold = Counter(f for f, ls in zip(folds, labels, strict=True) if label in ls)
        assert len(per_fold) == 5 or sum(per_fold.values()) < 5, label
    assert folds == metrics.iterative_folds(labels, k=5, seed=1)  # deterministic


def test_keyword_baseline_matches_whole_cue_words():
    baseline = KeywordBaseline({"time_pressure": ["too busy", "no protected time"], "resources": ["no budget"]})
    assert [metrics.ids(x) for x in baseline.predict(["We're all too busy", "there is no budget at all", "hello"])] \
        == [{"time_pressure"}, {"resources"}, set()]


def _figures(macro, top1, top3, quiet, weakest=("resources", 0.7)):
    per_barrier = {"time_pressure": {"f1": 0.9, "support": 5}, weakest[0]: {"f1": weakest[1], "support": 3},
                   "change_fatigue": {"f1": 0.0, "support": 0}}  # no support: not the weakest
    return {"macro_f1": macro, "top1_hit": top1, "top3_recall": top3, "no_barrier_accuracy": quiet,
            "per_barrier": per_barrier}


def test_the_targets_name_what_fails_and_want_the_model_ahead_of_each_baseline():
    from qi_coach.evaluation.report import target_checks

    section = {"ours": _figures(0.80, 0.90, 0.97, 0.96), "tfidf": _figures(0.82, 0.70, 0.80, 0.90),
               "weak": _figures(0.80, 0.90, 0.97, 0.96, weakest=("process_burden", 0.41))}
    checks = {name: (ok, value) for name, ok, value in target_checks(section, "ours", ["tfidf"])}
    assert all(ok for name, (ok, _) in checks.items() if not name.startswith("ahead"))
    assert checks["ahead of tfidf on macro-F1 and top-1"] == (False, "0.800/0.900 vs 0.820/0.700")
    weak = {name: (ok, value) for name, ok, value in target_checks(section, "weak", [])}
    assert weak["weakest barrier F1 >= 0.60"] == (False, "process_burden 0.410")


def test_top3_recall_and_unsure_share():
    truths = [["time_pressure"], ["resources", "team_working"], [], ["data_and_systems"]]
    predictions = [[], [], [], []]
    candidates = [[{"id": "time_pressure", "confidence": 0.4}], [{"id": "team_working", "confidence": 0.3}],
                  [{"id": "resources", "confidence": 0.1}], [{"id": "resources", "confidence": 0.2}]]
    s = metrics.score(truths, predictions, candidates, ["unsure", "unsure", "none", "none"])
    assert s.top3_recall == pytest.approx(2 / 3) and s.unsure_share == 0.5
    assert metrics.score(truths, predictions).top3_recall is None  # not given, not guessed


def test_cohen_kappa():
    assert metrics.cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert metrics.cohen_kappa([True, True, False, False], [True, False, True, False]) == 0.0
    assert metrics.cohen_kappa([False] * 4, [False] * 4) == 1.0
    assert metrics.cohen_kappa([True, True, True, False], [True, True, False, False]) == pytest.approx(0.5)
