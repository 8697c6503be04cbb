"""A small but real run of the evaluation harness, so `make eval` cannot rot: two folds of
real `rasa train nlu` + `qi-coach classify`, the frozen held-out check, and the report."""

from __future__ import annotations

import random

import pytest

from qi_coach.classify import DEFAULT_MODEL
from qi_coach.evaluation import harness
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


def test_a_tiny_cross_validation_and_report(tmp_path):
    examples = harness.training_examples()
    problems = [e for e in examples if e.barriers]
    others = [e for e in examples if not e.barriers]
    sample = random.Random(3).sample(problems, 90) + random.Random(3).sample(others, 40)
    messages = []
    run = harness.cross_validate(sample, folds=2, repeats=1, work=tmp_path / "cv", progress=messages.append)
    assert len(run.texts) == len(sample) and len(messages) == 4  # progress is shown per fold
    assert set(run.predicted) == {harness.PIPELINE, "keyword matcher (taxonomy cues)",
                                  "TF-IDF + logistic regression (one-vs-rest)"}
    items = harness.heldout()[:12]
    held = harness.evaluate_split(sample, [i["text"] for i in items], [i["barriers"] for i in items], DEFAULT_MODEL)
    results = {"folds": 2, "repeats": 1, "examples": len(sample), "seconds": 0,
               "heldout": harness.summarise(held), "cross_validation": harness.summarise(run)}
    write_report(results, {"heldout": held, "cross_validation": run}, tmp_path / "report")
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "## Held-out set" in summary and "## Cross-validation" in summary and "Against the bar" in summary
    assert (tmp_path / "report" / "confusion.png").stat().st_size > 10_000
    assert "Worst errors" in (tmp_path / "report" / "errors.md").read_text()
    assert 0.0 <= results["cross_validation"]["intent_accuracy"]["all"] <= 1.0
