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


def test_each_variant_config_differs_from_config_yml_by_what_it_names(tmp_path):
    import yaml

    from qi_coach.evaluation import harness

    kept = yaml.safe_load(harness.CONFIG.read_text())
    for name, path in harness.variant_configs(tmp_path).items():
        variant = yaml.safe_load(path.read_text())
        dropped = [c["name"] for c in kept["pipeline"] if c not in variant["pipeline"]]
        assert dropped == ["qi_coach.nlu.embedding_featurizer.SentenceEmbeddingFeaturizer"], name
        assert variant["policies"] == kept["policies"]
    missing = harness._without("NoSuchComponent")
    with pytest.raises(ValueError, match="NoSuchComponent"):
        missing(kept)


def _figures(macro, top1, micro, exact, quiet):
    return {"macro_f1": macro, "top1_hit": top1, "micro_f1": micro, "exact_match": exact,
            "no_barrier_accuracy": quiet, "per_barrier": {"time_pressure": {"f1": 0.9}},
            "reliability": [{"from": 0.8, "to": 1.0, "predicted": 10, "correct": 10}]}


def test_the_bar_wants_the_pipeline_behind_no_baseline_on_any_figure_but_only_ahead_of_alternatives():
    from qi_coach.evaluation.report import bar_checks

    heldout = {
        "pipeline": _figures(0.90, 0.95, 0.88, 0.70, 0.97),
        "keyword": _figures(0.20, 0.20, 0.20, 0.30, 1.00),  # quieter than the pipeline
        "alternative: x": _figures(0.85, 0.90, 0.89, 0.80, 1.00),  # better on the other figures: allowed
    }
    checks = {name: (ok, value) for name, ok, value in bar_checks(heldout, "pipeline")}
    assert checks["ahead of keyword on macro-F1 and top-1"][0]
    ok, value = checks["behind keyword on none of micro-F1, exact match, no-barrier accuracy"]
    assert not ok and value == "behind on no_barrier_accuracy"
    assert checks["ahead of alternative: x on macro-F1 and top-1"][0]
    assert not any(name.startswith("behind alternative") for name in checks)
