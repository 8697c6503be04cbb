"""The advice evaluation: its measures on hand-made cases, its guards, and the frozen set."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
import yaml

from knowledge import KnowledgeStore
from knowledge.db import create_engine_for
from knowledge.load import load_content
from qi_coach.evaluation import advice, corpus
from qi_coach.evaluation.corpus import CorpusError, FrozenSetChanged
from qi_coach.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeStore:
    engine = create_engine_for(f"sqlite:///{tmp_path_factory.mktemp('advice') / 'kb.db'}")
    load_content(engine)
    return KnowledgeStore(engine)


def situation(first_a="x", first_b="y", more_a=("p", "q"), more_b=("q", "r"), split="test"):
    return advice.Situation("s1", "text", ("time_pressure",), "https://example.org/a", "blog", "nurse", split,
                            ((first_a, *more_a), (first_b, *more_b)))


def test_the_top_three_hold_an_experts_first_choice_if_either_labellers_is_among_them():
    s = situation()
    assert advice.hit(["q", "y", "z"], s) and advice.hit(["x", "q", "z"], s)
    assert not advice.hit(["p", "q", "r"], s)  # their second and third choices are not a first choice
    assert advice.hit_per_labeller(["y", "q", "z"], s) == 0.5
    assert advice.hit_per_labeller(["y", "x", "z"], s) == 1.0


def test_ndcg_gives_graded_credit_averaged_over_the_labellers():
    s = situation()
    # a = (x, p, q) and b = (y, q, r) give 3, 2, 1 each, halved: x 1.5, y 1.5, q 0.5 + 1.0, p 1.0, r 0.5
    ideal = 1.5 + 1.5 / 1.584962500721156 + 1.5 / 2
    assert advice.ndcg(["q", "x", "y"], s) == pytest.approx(1.0)
    assert advice.ndcg(["r", "z", "zz"], s) == pytest.approx(0.5 / ideal)
    assert advice.ndcg([], s) == 0.0


def test_agreement_counts_same_first_choices_crossings_and_overlap():
    same = situation(first_a="x", first_b="x", more_a=("p", "q"), more_b=("p", "r"))
    crossed = situation(first_a="x", first_b="y", more_a=("y", "q"), more_b=("z", "w"))
    figures = advice.agreement([same, crossed])
    assert figures["same_first_choice"] == 0.5
    assert figures["first_choice_in_others_three"] == pytest.approx((1.0 + 0.5) / 2)
    assert figures["top3_overlap"] == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_the_classifier_reading_is_what_the_conversation_would_confirm():
    proposed = {"barriers": [{"id": "time_pressure", "confidence": 0.8}],
                "barrier_candidates": [{"id": "resources", "confidence": 0.5}]}
    unsure = {"barriers": [], "barrier_candidates": [{"id": "resources", "confidence": 0.45},
                                                     {"id": "team_working", "confidence": 0.4}]}
    assert advice.classifier_barriers(proposed) == {"time_pressure": 0.8}
    assert advice.classifier_barriers(unsure) == {"resources": 0.45}  # the clarifying question's first offer
    assert advice.classifier_barriers({}) == {}


def _freeze(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path.with_suffix(".sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "  x\n")
    return path


ROW = {"id": "s1", "text": "We have no time at all.", "barriers": ["time_pressure"], "source": "https://example.org/a",
       "kind": "blog", "speaker": "nurse", "split": "test"}
LABEL = {"id": "s1", "a": ["protected_time_for_qi", "give_time_back", "quick_wins"],
         "b": ["give_time_back", "protected_time_for_qi", "small_fast_tests"]}


def test_a_reserved_source_a_missing_labelling_or_an_edited_file_is_refused(tmp_path):
    labels = _freeze(tmp_path / "labels.jsonl", [LABEL])
    assert advice.load(_freeze(tmp_path / "s.jsonl", [ROW]), labels)[0].choices[1][0] == "give_time_back"
    reserved = sorted(corpus.reserved_addresses())[0]
    with pytest.raises(CorpusError, match="reserved"):
        advice.load(_freeze(tmp_path / "s.jsonl", [{**ROW, "source": "https://" + reserved}]), labels)
    with pytest.raises(CorpusError, match="two labellings"):
        advice.load(_freeze(tmp_path / "s.jsonl", [ROW]), _freeze(tmp_path / "labels.jsonl", [{**LABEL, "b": []}]))
    frozen = _freeze(tmp_path / "s.jsonl", [ROW])
    frozen.write_text(frozen.read_text().replace("no time", "little time"))
    with pytest.raises(FrozenSetChanged):
        advice.load(frozen, labels)


def test_both_rankings_are_scored_with_both_readings_on_the_shipped_content(store):
    s = advice.Situation("s1", "The two consultants who pushed this for years are both retiring in the spring.",
                         ("staff_turnover",), "https://example.org/a", "blog", "registrar", "test",
                         (("succession_for_champion", "shared_leadership_succession", "induction_and_handover_pack"),
                          ("shared_leadership_succession", "succession_for_champion", "trainees_each_rotation")))
    parse = {"barriers": [{"id": "staff_turnover", "confidence": 0.7}, {"id": "clinical_resistance",
                                                                        "confidence": 0.6}]}
    results = advice.evaluate(store, [s], [parse])
    for reading in advice.READINGS:
        aware = results["test"][reading]["situation_aware"]
        assert aware["n"] == 1 and aware["first_choice_in_top3"] == 1.0
        assert 0.0 <= results["test"][reading]["barrier_only"]["ndcg_at_3"] <= aware["ndcg_at_3"] <= 1.0
    assert results["examples"][0]["perfect/situation_aware"][0] in {"succession_for_champion",
                                                                    "shared_leadership_succession"}
    with pytest.raises(CorpusError, match="unknown strategies"):
        advice.evaluate(store, [advice.Situation(*list(s.__dict__.values())[:-1], (("nope",), ("nope",)))], [parse])


# --- the frozen set itself ---------------------------------------------------------------------

def _strategy_ids() -> set[str]:
    folder = PROJECT_ROOT / "knowledge" / "content" / "strategies"
    strategies = [s for path in folder.glob("*.yml") for s in yaml.safe_load(path.read_text())["strategies"]]
    return {s["id"] for s in strategies} | {old for s in strategies for old in s.get("replaces", [])}


def test_the_frozen_set_has_60_test_situations_from_real_recorded_sources_none_used_in_training():
    situations = advice.load()
    test = [s for s in situations if s.split == "test"]
    assert len(test) >= 60
    assert {s.split for s in situations} <= {"dev", "test"}
    assert len({s.id for s in situations}) == len(situations)
    assert all(s.source.startswith(("http://", "https://")) and s.kind and s.speaker for s in situations)
    training = corpus.sources(corpus.training_items())
    assert not corpus.sources_of(s.source for s in situations) & training
    assert max(Counter(s.source for s in situations).values()) <= 2
    dev_sources = {s.source for s in situations if s.split == "dev"}
    assert not dev_sources & {s.source for s in test}  # split by source, so no account is in both


def test_every_situation_has_two_labellings_of_three_distinct_known_strategies():
    known = _strategy_ids()
    for s in advice.load():
        for choice in s.choices:
            assert len(choice) == 3 and len(set(choice)) == 3, s.id
            assert set(choice) <= known, (s.id, set(choice) - known)


@pytest.mark.model  # classifies every situation with the shipped model: about a minute
def test_the_advice_evaluation_runs_on_the_shipped_model_and_writes_its_report(tmp_path):
    from qi_coach.classify import DEFAULT_MODEL

    results = advice.run(DEFAULT_MODEL, tmp_path, say=lambda message: None)
    test = results["test"]
    assert test["classifier"]["situation_aware"]["n"] >= 60
    for reading in advice.READINGS:
        assert 0.0 <= test[reading]["barrier_only"]["first_choice_in_top3"] <= test[reading]["reachable"] <= 1.0
        assert 0.0 <= test[reading]["situation_aware"]["ndcg_at_3"] <= 1.0
    report = (tmp_path / "advice.md").read_text()
    assert "| barriers read by the classifier | situation-aware |" in report and "Against the targets" in report
    assert json.loads((tmp_path / "advice.json").read_text())["test"] == test
    assert (tmp_path / "advice.png").stat().st_size > 10_000
