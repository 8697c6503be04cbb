"""A barrier reading: checked once where it enters, the same fact wherever it goes."""

from __future__ import annotations

import pytest

from qi_coach import readings
from qi_coach.readings import Assessment, BarrierReading, Origin


def test_a_picked_barrier_has_no_confidence_and_counts_fully():
    pick = BarrierReading.picked("team_working")
    assert (pick.confidence, pick.origin, pick.weight) == (None, Origin.USER, 1.0)
    assert BarrierReading("time_pressure", 0.4, Origin.CLASSIFIER).weight == 0.4


@pytest.mark.parametrize("value, message", [
    ({"id": "sadness", "confidence": 0.5}, "unknown barrier id"),
    ({"id": "time_pressure", "confidence": 1.2}, "between 0 and 1"),
    ({"id": "time_pressure", "confidence": "high"}, "between 0 and 1"),
    ({"id": "time_pressure", "confidence": True}, "between 0 and 1"),
    (["time_pressure"], "a barrier reading is"),
])
def test_anything_that_is_not_a_reading_is_refused_with_a_reason(value, message):
    with pytest.raises(ValueError, match=message):
        BarrierReading.from_dict(value)


def test_read_all_keeps_the_valid_readings_once_each_in_order():
    values = [{"id": "resources", "confidence": 0.7}, {"id": "nonsense", "confidence": 0.9}, 7,
              {"id": "resources", "confidence": 0.2}, {"id": "team_working", "confidence": None, "origin": "user"},
              "time_pressure"]  # a bare id: an entity value, or a slot from before readings kept confidence
    assert readings.read_all(values) == [BarrierReading("resources", 0.7, Origin.CLASSIFIER),
                                         BarrierReading.picked("team_working"),
                                         BarrierReading("time_pressure", None, Origin.CLASSIFIER)]
    assert readings.read_all("not a list") == [] and readings.read_all(None) == []


def test_the_dict_form_goes_round_a_slot_unchanged():
    reading = BarrierReading("data_and_systems", 0.81, Origin.TRIAGE)
    assert BarrierReading.from_dict(reading.as_dict()) == reading


def test_a_later_reading_replaces_an_earlier_one_in_its_place():
    heard = [BarrierReading("time_pressure", 0.3, Origin.CLASSIFIER), BarrierReading("resources", 0.6, Origin.CLASSIFIER)]
    merged = readings.merged(heard, [BarrierReading.picked("time_pressure")])
    assert merged == [BarrierReading.picked("time_pressure"), heard[1]]
    assert readings.weights(merged) == {"time_pressure": 1.0, "resources": 0.6}


def test_the_parse_result_is_read_through_its_keys():
    parse = {readings.BARRIERS: [{"id": "resources", "confidence": 0.8}],
             readings.BARRIER_CANDIDATES: [{"id": "resources", "confidence": 0.8}, {"id": "x", "confidence": 0.1}],
             readings.BARRIER_ASSESSMENT: "unsure"}
    assert readings.ids(readings.from_parse(parse)) == ["resources"]
    assert readings.ids(readings.from_parse(parse, readings.BARRIER_CANDIDATES)) == ["resources"]
    assert readings.assessment(parse) is Assessment.UNSURE
    assert readings.assessment({readings.BARRIER_ASSESSMENT: "very sure"}) is Assessment.NONE
    assert readings.levels(["senior_leader", "the board", "front_line"]) == ["front_line", "senior_leader"]
