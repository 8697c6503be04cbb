"""The `qi-coach classify` contract: what the evaluation calls."""

from __future__ import annotations

import json
import subprocess
import sys

from knowledge.schema import BARRIER_IDS

LINES = [
    "no time, rota's a nightmare and the juniors rotate every four months",
    "hello",
    json.dumps({"text": "the board only pays lip service to QI, there's no exec sponsor"}),
    "what is a driver diagram?",
]


def classify(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qi_coach.cli", "classify", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_one_json_object_per_line_with_sorted_taxonomy_barriers_and_levels():
    done = classify("\n".join(LINES) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(LINES)
    for result in results:
        assert set(result) == {"text", "barriers", "candidates", "assessment", "levels"}
        confidences = [b["confidence"] for b in result["barriers"]]
        assert confidences == sorted(confidences, reverse=True)
        assert all(b["id"] in BARRIER_IDS and 0 <= b["confidence"] <= 1 for b in result["barriers"])
        # the clarifying question's three options, whatever their confidence, led by the top barrier
        assert len(result["candidates"]) == 3 and all(c["id"] in BARRIER_IDS for c in result["candidates"])
        if result["barriers"]:
            assert result["candidates"][0] == result["barriers"][0]
        assert result["assessment"] in {"confident", "unsure", "none"}
        if result["assessment"] == "none":
            assert result["barriers"] == []
    assert {b["id"] for b in results[0]["barriers"]} >= {"time_pressure", "staff_turnover"}
    assert results[0]["levels"] == ["front_line"]
    assert results[1]["barriers"] == [] and results[3]["barriers"] == []
    assert [b["id"] for b in results[2]["barriers"]][:1] == ["management_support"]
    assert results[2]["levels"] == ["senior_leader"]
    assert results[2]["assessment"] in {"confident", "unsure"}


def test_bad_lines_are_reported_and_the_rest_still_classified():
    done = classify('{"text": 5}\nno budget for backfill\n')
    assert done.returncode == 1
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert "error" in first and "line 1" in done.stderr
    assert second["barriers"][0]["id"] == "resources"


def test_a_missing_model_is_a_clear_error():
    done = classify("hello\n", "--model", "/nonexistent/model.tar.gz")
    assert done.returncode == 1
    assert "No trained model at /nonexistent/model.tar.gz" in done.stderr
