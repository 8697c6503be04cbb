"""Hearing the barriers: reflect, confirm, clarify, correct."""

from __future__ import annotations

from actions.barriers import (
    ActionAssessBarriers,
    ActionChooseBarrier,
    ActionConfirmBarriers,
    ActionOfferBarrierChoices,
)
from knowledge.schema import BARRIER_IDS
from tests.actions.conftest import entity, run_action

CONFIDENT_PARSE = {
    "barriers": [{"id": "time_pressure", "confidence": 0.93}, {"id": "clinical_resistance", "confidence": 0.71}],
    "barrier_candidates": [{"id": "time_pressure", "confidence": 0.93},
                           {"id": "clinical_resistance", "confidence": 0.71},
                           {"id": "team_working", "confidence": 0.2}],
    "barrier_assessment": "confident",
    "levels": ["front_line"],
}
TIME_HEARD = {"id": "time_pressure", "confidence": 0.93, "origin": "classifier"}


def test_confident_reading_is_reflected_in_plain_words_and_asked(store):
    out = run_action(ActionAssessBarriers(store), text="no time and the consultants think it's a fad",
                     intent="describe_problem", parse=CONFIDENT_PARSE)
    assert "It sounds like **finding the time and getting clinicians on board** are the main blocks." in out.text
    assert out.text.endswith("Is that right?")
    assert out.payloads == ["/affirm", "/deny"]
    assert out.slot("awaiting") == "barrier_confirmation"
    assert out.slot("barriers_proposed") == [{**b, "origin": "classifier"} for b in CONFIDENT_PARSE["barriers"]]
    assert out.slot("levels") == ["front_line"]


def test_levels_accumulate_across_descriptions(store):
    out = run_action(ActionAssessBarriers(store), intent="describe_problem",
                     parse={**CONFIDENT_PARSE, "levels": ["senior_leader"]}, slots={"levels": ["front_line"]})
    assert out.slot("levels") == ["front_line", "senior_leader"]


def test_low_confidence_asks_a_clarifying_question_instead_of_guessing(store):
    parse = {"barriers": [], "barrier_assessment": "unsure",
             "barrier_candidates": [{"id": "resources", "confidence": 0.3}, {"id": "time_pressure", "confidence": 0.25},
                                    {"id": "staff_turnover", "confidence": 0.1}]}
    out = run_action(ActionAssessBarriers(store), text="it's hard", intent="describe_problem", parse=parse)
    assert "Is it mainly one of these?" in out.text
    assert out.payloads == ['/choose_barrier{"barrier":"resources"}', '/choose_barrier{"barrier":"time_pressure"}',
                            '/choose_barrier{"barrier":"staff_turnover"}', "/deny"]
    assert out.slot("awaiting") == "clarification"


def test_nothing_heard_asks_for_more_detail(store):
    out = run_action(ActionAssessBarriers(store), text="we're doing a falls project", intent="describe_project",
                     parse={"barriers": [], "barrier_candidates": [{"id": "resources", "confidence": 0.05}],
                            "barrier_assessment": "none"})
    assert "what's getting in the way" in out.text.lower()
    assert out.buttons == []
    assert out.slot("awaiting") == "nothing"


def test_a_truncated_message_is_mentioned(store):
    out = run_action(ActionAssessBarriers(store), intent="describe_problem",
                     parse={**CONFIDENT_PARSE, "input_quality": "truncated"})
    assert out.text.startswith("That was a long message")


def test_confirming_records_the_barriers(store, records):
    out = run_action(ActionConfirmBarriers(store, records), intent="affirm", sender="conv-confirm",
                     slots={"barriers_proposed": CONFIDENT_PARSE["barriers"]})
    assert out.slot("barriers_confirmed") == [{"id": "time_pressure", "confidence": 0.93, "origin": "classifier"},
                                              {"id": "clinical_resistance", "confidence": 0.71, "origin": "classifier"}]
    assert out.slot("shown_strategies") == []
    assert all(e["name"] != "awaiting" for e in out.events)  # the suggestion that follows decides
    assert records.confirmed_barriers("conv-confirm") == ["time_pressure", "clinical_resistance"]


def test_choices_show_every_barrier_with_the_likely_ones_first(store):
    out = run_action(ActionOfferBarrierChoices(store), intent="deny",
                     slots={"barriers_proposed": [{"id": "team_working", "confidence": 0.5}]})
    ids = [p.split('"barrier":"')[1].rstrip('"}') for p in out.payloads]
    assert ids[0] == "team_working" and sorted(ids) == sorted(BARRIER_IDS)
    assert out.slot("awaiting") == "barrier_choice"


def test_adding_a_barrier_leaves_out_the_confirmed_ones(store):
    out = run_action(ActionOfferBarrierChoices(store), intent="add_barrier",
                     slots={"barriers_confirmed": ["time_pressure"]})
    assert '/choose_barrier{"barrier":"time_pressure"}' not in out.payloads
    assert len(out.payloads) == 12
    assert out.slot("awaiting") == "barrier_addition"


def test_a_picked_barrier_replaces_the_reading_and_is_recorded_as_a_correction(store, records):
    out = run_action(ActionChooseBarrier(store, records), intent="choose_barrier", sender="conv-pick",
                     entities=[entity("barrier", "team_working")],
                     slots={"awaiting": "barrier_choice", "barriers_confirmed": [TIME_HEARD],
                            "barriers_proposed": [TIME_HEARD, {"id": "team_working", "confidence": 0.4}]})
    # the pick keeps no classifier confidence: it counts fully, in the ranking and in the records
    assert out.slot("barriers_confirmed") == [{"id": "team_working", "confidence": None, "origin": "user"}]
    assert records.confirmed_barriers("conv-pick") == ["team_working"]


def test_a_barrier_picked_while_adding_joins_the_confirmed_ones(store, records):
    out = run_action(ActionChooseBarrier(store, records), intent="choose_barrier",
                     entities=[entity("barrier", "data_and_systems")],
                     slots={"awaiting": "barrier_addition", "barriers_confirmed": [TIME_HEARD]})
    assert out.slot("barriers_confirmed") == [TIME_HEARD, {"id": "data_and_systems", "confidence": None, "origin": "user"}]


def test_a_pick_without_a_valid_barrier_changes_nothing(store, records):
    out = run_action(ActionChooseBarrier(store, records), intent="choose_barrier", sender="conv-bad-pick",
                     entities=[entity("barrier", "<script>")], slots={"barriers_confirmed": ["time_pressure"]})
    assert "didn't catch which barrier" in out.text
    assert out.events == [] and records.confirmed_barriers("conv-bad-pick") == []
