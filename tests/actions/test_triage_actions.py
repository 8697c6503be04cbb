"""The guided triage's actions without a model or a server: answers read in words, detours,
priorities and the plan, against the shipped content in a temporary SQLite store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots as s
from actions.triage import (
    ActionMakePlan,
    ActionShowPlan,
    ActionTriageBack,
    ActionTriagePrioritise,
    ActionTriageReprioritise,
    ActionTriageSkip,
    ValidateTriageForm,
)
from knowledge.schema import BARRIER_IDS
from tests.actions.conftest import entity, run_action


@pytest.fixture
def sender() -> str:
    return f"triage-{uuid.uuid4().hex[:8]}"


def validate(slot: str, value: Any, *, intent: str | None = None, parse: dict | None = None,
             slots: dict | None = None) -> tuple[dict, list[str]]:
    """Call one of the form's validators as rasa_sdk would; returns the slots it sets and what it said."""
    latest = {"text": value if isinstance(value, str) else "", "intent": {"name": intent, "confidence": 1.0}
              if intent else {}, "entities": [], **(parse or {})}
    tracker = Tracker("validate-user", {"requested_slot": slot, **(slots or {})}, latest, [], False, None,
                      {"name": "triage_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = getattr(ValidateTriageForm(), f"validate_{slot}")(value, dispatcher, tracker, {})
    return result, [m.get("text") or "" for m in dispatcher.messages]


def test_the_stage_is_read_from_what_was_done_and_a_riddle_is_asked_again():
    assert validate(s.TRIAGE_STAGE, "we've tested a couple of changes but it has fizzled out") == (
        {s.TRIAGE_STAGE: "testing"}, [])
    result, said = validate(s.TRIAGE_STAGE, "no idea really")
    assert result == {s.TRIAGE_STAGE: None} and "planning, testing changes, spreading or sustaining" in said[0]


def test_how_long_is_read_from_a_month_name_and_a_button_answer_is_kept_as_it_is():
    result, said = validate(s.TRIAGE_STUCK_FOR, "since about March")
    assert "(since March " in result[s.TRIAGE_STUCK_FOR] and not said  # the span itself depends on today
    assert validate(s.TRIAGE_STUCK_FOR, "3 to 6 months")[0] == {s.TRIAGE_STUCK_FOR: "3 to 6 months"}


def test_a_one_word_aim_is_asked_for_in_a_sentence():
    result, said = validate(s.TRIAGE_AIM, "falls")
    assert result == {s.TRIAGE_AIM: None} and "short sentence" in said[0]
    assert validate(s.TRIAGE_AIM, "fewer falls on the ward")[0] == {s.TRIAGE_AIM: "fewer falls on the ward"}


def test_the_obstacle_is_required_and_kept_with_its_barrier_reading():
    result, said = validate(s.TRIAGE_OBSTACLE, "skipped")
    assert result == {s.TRIAGE_OBSTACLE: None} and "at least one thing" in said[0]
    reading = {"barriers": [{"id": "time_pressure", "confidence": 0.9}]}
    result, _ = validate(s.TRIAGE_OBSTACLE, "nobody has any time", parse=reading)
    assert result[s.TRIAGE_ANSWERS] == [{"text": "nobody has any time",
                                         "barriers": [{**b, "origin": "classifier"} for b in reading["barriers"]]}]


def test_a_no_that_names_a_barrier_ends_the_list_but_keeps_what_it_named():
    earlier = [{"text": "no time", "barriers": [{"id": "time_pressure", "confidence": 0.9}]}]
    reading = {"barriers": [{"id": "management_support", "confidence": 0.6}]}
    result, _ = validate(s.TRIAGE_MORE, "no, apart from nobody senior backing it", intent="deny",
                         parse=reading, slots={s.TRIAGE_ANSWERS: earlier})
    assert result[s.TRIAGE_MORE] is True
    assert [a["barriers"][0]["id"] for a in result[s.TRIAGE_ANSWERS]] == ["time_pressure", "management_support"]
    result, said = validate(s.TRIAGE_MORE, "yes", intent="affirm")
    assert result == {s.TRIAGE_MORE: None} and said == ["Go on: what else is getting in the way?"]


def test_skipping_keeps_the_obstacle_question_and_skips_others(store):
    refused = run_action(ActionTriageSkip(store), slots={"requested_slot": s.TRIAGE_OBSTACLE})
    assert refused.events == [] and "I need" in refused.text
    skipped = run_action(ActionTriageSkip(store), slots={"requested_slot": s.TRIAGE_LEVELS})
    assert skipped.slot(s.TRIAGE_LEVELS) == []


def test_going_back_from_the_follow_up_clears_the_obstacle_and_what_it_said(store):
    out = run_action(ActionTriageBack(store), slots={"requested_slot": s.TRIAGE_MORE})
    assert out.slot(s.TRIAGE_OBSTACLE) is None and out.slot(s.TRIAGE_ANSWERS) == []
    first = run_action(ActionTriageBack(store), slots={"requested_slot": s.TRIAGE_AIM})
    assert first.events == [] and "first question" in first.text


def test_priorities_put_the_barrier_named_most_first_and_nothing_heard_offers_every_barrier(store):
    answers = [{"text": "a", "barriers": [{"id": "resources", "confidence": 0.6}]},
               {"text": "b", "barriers": [{"id": "time_pressure", "confidence": 0.8}]},
               {"text": "c", "barriers": [{"id": "time_pressure", "confidence": 0.7}]}]
    out = run_action(ActionTriagePrioritise(store), slots={s.TRIAGE_ANSWERS: answers})
    assert [p["id"] for p in out.slot(s.TRIAGE_PRIORITIES)] == ["time_pressure", "resources"]
    assert "more than once" in out.text and out.slot(s.AWAITING) == s.TRIAGE_CONFIRMATION
    nothing = run_action(ActionTriagePrioritise(store), slots={s.TRIAGE_ANSWERS: [{"text": "hmm", "barriers": []}]})
    assert len(nothing.payloads) == len(BARRIER_IDS) and nothing.slot(s.AWAITING) == s.TRIAGE_CORRECTION


def test_a_barrier_the_user_puts_first_is_marked_as_theirs(store):
    priorities = [{"id": "time_pressure", "score": 0.8, "mentions": 2}]
    out = run_action(ActionTriageReprioritise(store), intent="prioritise_barrier",
                     entities=[entity("barrier", "team_working")], slots={s.TRIAGE_PRIORITIES: priorities})
    reordered = out.slot(s.TRIAGE_PRIORITIES)
    assert [p["id"] for p in reordered] == ["team_working", "time_pressure"] and reordered[0]["origin"] == "user"
    assert reordered[0]["confidence"] is None  # the user's pick: no classifier confidence to carry


def test_the_plan_is_kept_shown_again_and_its_barriers_recorded_as_confirmed(store, records, sender):
    assert "don't have a plan yet" in run_action(ActionShowPlan(store, records), sender=sender).text
    priorities = [{"id": "team_working", "confidence": None, "origin": "user", "score": None, "mentions": 0},
                  {"id": "time_pressure", "confidence": 0.76, "origin": "triage", "score": 0.8, "mentions": 2}]
    made = run_action(ActionMakePlan(store, records), sender=sender, slots={
        s.TRIAGE_PRIORITIES: priorities, s.TRIAGE_AIM: "fewer falls on the ward", s.TRIAGE_STAGE: "testing",
        s.TRIAGE_LEVELS: ["front_line"], s.TRIAGE_STUCK_FOR: "skipped", s.TRIAGE_TRIED: "nothing yet"})
    assert [b["id"] for b in made.slot(s.BARRIERS_CONFIRMED)] == ["team_working", "time_pressure"]
    assert "fewer falls on the ward" in made.text
    assert "/review_stall" in made.payloads  # the plan offers the stalled-project review next
    assert records.confirmed_barriers(sender) == ["team_working", "time_pressure"]
    # what was recorded is what the plan ranked: the triage's confidence, not its priority score
    assert [r.as_dict() for r in records.confirmed_readings(sender)] == made.slot(s.BARRIERS_CONFIRMED) == [
        {"id": "team_working", "confidence": None, "origin": "user"},
        {"id": "time_pressure", "confidence": 0.76, "origin": "triage"}]
    shown = run_action(ActionShowPlan(store, records), sender=sender)
    assert shown.text == made.texts[0]
    empty = run_action(ActionMakePlan(store, records), sender=sender, slots={s.TRIAGE_PRIORITIES: []})
    assert empty.messages[0].get("response") == "utter_ask_describe"
