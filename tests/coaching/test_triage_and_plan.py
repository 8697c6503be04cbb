"""The guided triage's scoring (answers -> prioritised barriers) and the action plan it makes."""

from __future__ import annotations

import pytest

from knowledge.repository import BarrierInfo, StoreError
from qi_coach.coaching.plan import build_plan, plan_markdown
from qi_coach.coaching.triage import MISSING_LEVEL_WEIGHT, STAGE_WEIGHT, Priority, missing_levels, prioritise


def barrier(id_: str, levels=("front_line",), stages=()) -> BarrierInfo:
    return BarrierInfo(id_, id_, id_, "", (), tuple(levels), (), tuple(stages))


BARRIERS = [barrier("time_pressure", ("front_line", "middle_manager"), ("testing",)),
            barrier("data_and_systems", ("front_line",), ("sustaining",)),
            barrier("management_support", ("middle_manager", "senior_leader"), ("spreading",))]


def ids(priorities: list[Priority]) -> list[str]:
    return [p.barrier_id for p in priorities]


def test_a_barrier_heard_in_two_answers_outranks_one_heard_once_with_the_same_confidence():
    readings = [[{"id": "data_and_systems", "confidence": 0.6}],
                [{"id": "time_pressure", "confidence": 0.6}, {"id": "data_and_systems", "confidence": 0.6}]]
    out = prioritise(readings, BARRIERS)
    assert ids(out) == ["data_and_systems", "time_pressure"]
    assert out[0].confidence == pytest.approx(1 - 0.4 * 0.4) and out[0].mentions == 2
    assert out[1].confidence == pytest.approx(0.6) and out[1].mentions == 1


def test_weak_readings_are_not_evidence_and_a_barrier_counts_once_per_answer():
    readings = [[{"id": "time_pressure", "confidence": 0.2}],
                [{"id": "data_and_systems", "confidence": 0.7}, {"id": "data_and_systems", "confidence": 0.5}]]
    out = prioritise(readings, BARRIERS)
    assert ids(out) == ["data_and_systems"] and out[0].confidence == pytest.approx(0.7)


def test_the_stage_reorders_barriers_heard_with_similar_confidence_but_not_strong_ones():
    readings = [[{"id": "time_pressure", "confidence": 0.70}, {"id": "data_and_systems", "confidence": 0.75}]]
    assert ids(prioritise(readings, BARRIERS)) == ["data_and_systems", "time_pressure"]
    at_testing = prioritise(readings, BARRIERS, stage="testing")
    assert ids(at_testing) == ["time_pressure", "data_and_systems"]
    assert at_testing[0].at_stage and at_testing[0].score == pytest.approx(0.70 * STAGE_WEIGHT)
    clear = [[{"id": "time_pressure", "confidence": 0.5}, {"id": "data_and_systems", "confidence": 0.9}]]
    assert ids(prioritise(clear, BARRIERS, stage="testing"))[0] == "data_and_systems"


def test_a_barrier_at_a_level_nobody_has_involved_is_weighed_up():
    readings = [[{"id": "management_support", "confidence": 0.62}, {"id": "data_and_systems", "confidence": 0.65}]]
    out = prioritise(readings, BARRIERS, levels=["front_line"])
    assert ids(out) == ["management_support", "data_and_systems"]
    assert out[0].missing_level and not out[1].missing_level
    assert out[0].score == pytest.approx(0.62 * MISSING_LEVEL_WEIGHT)
    # when the user skipped the levels question, nothing is weighed up for it
    assert not any(p.missing_level for p in prioritise(readings, BARRIERS, levels=[]))
    assert missing_levels(["front_line"]) == ["middle_manager", "senior_leader"]


@pytest.mark.parametrize("readings, stage, levels, message", [
    ([[{"id": "no_such_barrier", "confidence": 0.5}]], None, [], "unknown barrier"),
    ([[{"id": "time_pressure", "confidence": 1.5}]], None, [], "between 0 and 1"),
    ([[{"id": "time_pressure", "confidence": 0.5}]], "launching", [], "unknown stage"),
    ([[{"id": "time_pressure", "confidence": 0.5}]], None, ["the board"], "unknown level"),
])
def test_bad_triage_input_is_refused_with_a_clear_message(readings, stage, levels, message):
    with pytest.raises(StoreError, match=message):
        prioritise(readings, BARRIERS, stage=stage, levels=levels)


def test_the_plan_covers_the_top_three_barriers_with_untried_strategies_and_asks_for_missing_levels(store):
    barriers = store.barriers()
    readings = [[{"id": "time_pressure", "confidence": 0.9}],
                [{"id": "data_and_systems", "confidence": 0.8}, {"id": "team_working", "confidence": 0.7}],
                [{"id": "staff_turnover", "confidence": 0.6}]]
    priorities = prioritise(readings, barriers, stage="testing", levels=["front_line"])
    tried = [store.recommend({"time_pressure": 1.0}, levels=["front_line"], limit=1)[0].strategy_id]
    plan = build_plan(store, [p.reading for p in priorities], levels=["front_line"], stage="testing", aim="Fewer missed doses",
                      tried_ids=tried)
    assert [s["barrier"] for s in plan["barriers"]] == [p.barrier_id for p in priorities[:3]]
    chosen = [st["id"] for s in plan["barriers"] for st in s["strategies"]]
    assert all(2 <= len(s["strategies"]) <= 3 for s in plan["barriers"])
    assert tried[0] not in chosen and len(chosen) == len(set(chosen))  # nothing tried, nothing twice
    # the plan ranks as the conversation does: the triage's confidence, the user's levels first, topped up
    first = priorities[0].reading
    assert [st["id"] for st in plan["barriers"][0]["strategies"]] == [
        r.strategy_id for r in store.recommend({first.id: first.weight}, levels=["front_line"], exclude=tried,
                                               limit=3, top_up=True)]
    assert plan["barriers"][0]["confidence"] == first.confidence and plan["barriers"][0]["origin"] == "triage"
    for section in plan["barriers"]:
        for strategy in section["strategies"]:
            assert strategy["first_step"] and strategy["sources"] and strategy["evidence"]
    assert [a["level"] for a in plan["level_asks"]] == ["middle_manager", "senior_leader"]
    assert all(len(a["asks"]) >= 2 and any("Pannick et al. 2016" in s for s in a["sources"])
               for a in plan["level_asks"])

    text = plan_markdown(plan)
    assert text.startswith("# Your action plan\n**Aim:** Fewer missed doses")
    assert "\n\n" not in text  # chat channels split messages on blank lines
    assert text.count("## ") == 4 and "## Who else to bring in" in text
    assert "](sources#" in text and "*Evidence:*" in text


def test_with_every_level_involved_the_plan_asks_nothing_more_of_anyone(store):
    priorities = prioritise([[{"id": "resources", "confidence": 0.9}]], store.barriers())
    plan = build_plan(store, [p.reading for p in priorities], levels=["front_line", "middle_manager", "senior_leader"])
    assert plan["level_asks"] == [] and len(plan["barriers"]) == 1
    assert "Who else" not in plan_markdown(plan)


def test_the_plan_ranks_with_what_was_said_and_says_why_in_the_persons_words(store):
    from qi_coach.coaching.said import heard
    from qi_coach.readings import BarrierReading, Origin

    readings = [BarrierReading("change_fatigue", 0.8, Origin.TRIAGE)]
    words = heard(["Our last go at a sepsis screening tool, two years ago, fizzled out within a month.",
                   "The nurses just roll their eyes now when anyone mentions it again."])
    blind = build_plan(store, readings, levels=["front_line"])
    plan = build_plan(store, readings, levels=["front_line"], said=words)
    strategies = plan["barriers"][0]["strategies"]
    first = strategies[0]
    assert first["id"] in {"listen_to_previous_attempt", "quick_wins"}  # for a team burnt by a failed attempt
    assert first["because_you_said"] in words.sentences
    assert f"*Why this for you:* you said \u201c{first['because_you_said'][:30]}" in plan_markdown(plan)
    assert "Why this for you" not in plan_markdown(blind)
