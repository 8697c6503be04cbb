"""Small but real runs of the evaluation harness, so `make eval` cannot rot: the frozen sets,
grouped cross-validation on the shipped model's features, two folds of real `rasa train nlu` +
`qi-coach classify`, and the report."""

from __future__ import annotations

import random

import pytest

from qi_coach.classify import DEFAULT_MODEL
from qi_coach.evaluation import corpus, featurised, harness
from qi_coach.evaluation.report import write_report


def test_held_out_set_is_frozen_and_refused_when_edited(tmp_path):
    items = harness.heldout()
    assert len(items) >= 150 and any(not i["barriers"] for i in items)
    edited = tmp_path / "heldout.jsonl"
    edited.write_text(harness.HELDOUT.read_text() + '{"id": "x", "text": "sneaked in", "barriers": []}\n')
    with pytest.raises(harness.HeldoutChanged, match="changed since it was frozen"):
        harness.heldout(edited)


def test_no_held_out_description_is_in_the_training_data():
    # Stock phrases ("hi", "yes") occur in any greeting data; a barrier description must not.
    training = {e.text.strip().lower() for e in harness.training_examples()}
    leaked = [i["text"] for i in harness.heldout() if i["barriers"] and i["text"].strip().lower() in training]
    assert leaked == []


@pytest.mark.model  # trains and reads with rasa: minutes, so not in the fast lane
def test_a_tiny_rasa_cross_validation_scores_the_real_pipeline(tmp_path):
    examples = [e for e in harness.training_examples() if not e.source]
    problems = [e for e in examples if e.barriers]
    others = [e for e in examples if not e.barriers]
    sample = random.Random(3).sample(problems, 90) + random.Random(3).sample(others, 40)
    messages = []
    run = harness.cross_validate(sample, folds=2, repeats=1, work=tmp_path / "cv", progress=messages.append)
    assert len(run.texts) == len(sample) and len(messages) == 4  # progress is shown per fold
    assert set(run.predicted) == {harness.PIPELINE, "keyword matcher (taxonomy cues)",
                                  "TF-IDF + logistic regression (one-vs-rest)"}
    scores = harness.summarise(run)
    assert scores[harness.PIPELINE]["top3_recall"] is not None  # the pipeline gives its candidates
    assert scores["keyword matcher (taxonomy cues)"]["unsure_share"] is None  # a baseline has no assessment
    assert 0.0 <= scores["intent_accuracy"]["all"] <= 1.0


@pytest.mark.model  # trains and reads with rasa: minutes, so not in the fast lane
def test_a_tiny_real_language_evaluation_and_report(tmp_path):
    """Grouped cross-validation by source and both frozen sets, on a sample, through the report."""
    examples = harness.training_examples()
    real = [e for e in examples if e.source][:60]
    synthetic = random.Random(5).sample([e for e in examples if not e.source], 300)
    sample = synthetic + real
    real_test = corpus.test_items()[:20]
    held = harness.heldout()[:10]
    runs = {"real_test": harness._real_run(real_test),
            "heldout": harness.Run([i["text"] for i in held], [i["barriers"] for i in held])}
    answers = harness.classify(DEFAULT_MODEL, runs["real_test"].texts + runs["heldout"].texts)
    runs["real_test"].add(harness.SHIPPED, answers[:20])
    runs["heldout"].add(harness.SHIPPED, answers[20:])
    for split in runs.values():
        harness.add_baselines(split, sample)
    kept = [r for r in harness.recipes() if r.name == harness.kept_recipe(harness.recipes())]
    assert len(kept) == 1  # config.yml's barrier options are one of the compared configurations
    features = featurised.pipeline_features(DEFAULT_MODEL, [e.text for e in sample] + runs["real_test"].texts
                                            + runs["heldout"].texts, progress=lambda m: None)
    messages = []
    cv, fits = harness.compare_recipes(sample, runs, features, kept, folds=2, work=tmp_path,
                                       cross_validate_real=True, progress=messages.append)
    assert sorted(cv.texts) == sorted(e.text for e in real)  # every real item held out exactly once
    assert set(cv.predicted) == {kept[0].name, "keyword matcher (taxonomy cues)",
                                 "TF-IDF + logistic regression (one-vs-rest)"}
    assert len(runs["real_test"].predicted[kept[0].name]) == 20 and fits[kept[0].name]["real_examples"] == 60
    assert sum("fits done" in m for m in messages) == 3  # progress after each fit: all data, then 2 folds
    runs["grouped_cv"] = cv
    results = {"folds": 2, "repeats": 1, "examples": len(sample), "seconds": 0, "kept": kept[0].name,
               "real_training_items": len(real), "real_training_sources": 1, "real_test_items": 20,
               "real_test_sources": 1, "fits": fits, **{name: harness.summarise(run) for name, run in runs.items()},
               "by_kind": harness.by_kind(runs["real_test"]), "agreement": {}}
    write_report(results, runs, tmp_path / "report")
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert summary.index("## Real-language test set") < summary.index("## Real-language training items") \
        < summary.index("## Synthetic held-out set")  # real language first
    assert "Against the targets" in summary and "*kept*" in summary and "By kind of source" in summary
    for picture in ("per_barrier_f1.png", "confusion.png"):
        assert (tmp_path / "report" / picture).stat().st_size > 10_000
    assert "Worst errors on the real-language test set" in (tmp_path / "report" / "errors.md").read_text()
