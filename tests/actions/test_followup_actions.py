"""Follow-up actions without a model or a server: choosing what to try, the day, the check-in's
questions, and what it leaves in the plan and the reports."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots as s
from actions.followup import (
    ActionCheckinFinish,
    ActionCheckinStart,
    ActionCommitStrategies,
    ActionRemindLater,
    ActionScheduleCheckin,
    ActionStopCheckins,
    ValidateCheckinDayForm,
    ValidateCheckinForm,
    chosen_numbers,
    read_helped,
    read_progress,
)
from qi_coach.followup import ANSWERED, CANCELLED, SCHEDULED, FollowUps
from tests.actions.conftest import entity, run_action

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=timezone.utc)  # a Monday
OPTIONS = [{"id": "protected_time", "title": "Protect time for the work", "barrier": "time_pressure"},
           {"id": "piggyback_existing_meetings", "title": "Use meetings you already have", "barrier": "time_pressure"},
           {"id": "give_time_back", "title": "Give time back", "barrier": "time_pressure"}]


@pytest.fixture
def followups(store) -> FollowUps:
    return FollowUps(store.engine, clock=lambda: NOW)


@pytest.fixture
def sender() -> str:
    return f"follow-{uuid.uuid4().hex[:8]}"


def action(cls, store, records, followups):
    return cls(store, records, followups)


@pytest.mark.parametrize("text, picked", [
    ("I'll try 1 and 3", [0, 2]), ("the first and the third", [0, 2]), ("we'll do both", [0, 1, 2]),
    ("all of them", [0, 1, 2]), ("number 2 please", [1]), ("I'll try 7", []), ("sounds good", []),
    ("the second one, ask me in 2 weeks", [1]), ("one and two", [0, 1]), ("1, on the 18/12", [0]),
])
def test_which_strategies_are_meant(text, picked):
    assert chosen_numbers(text, 3) == picked


def test_choosing_then_the_day_schedules_the_check_in_and_adds_it_to_the_plan(store, records, followups, sender):
    commit = run_action(action(ActionCommitStrategies, store, records, followups), text="I'll try 1 and 3",
                        intent="commit_strategies", slots={s.COMMIT_OPTIONS: OPTIONS}, sender=sender)
    assert [o["id"] for o in commit.slot(s.COMMITTED)] == ["protected_time", "give_time_back"]
    assert commit.slot(s.AWAITING) == s.CHECKIN_WHEN and "Good choice" in commit.text  # the day form asks next
    day, _ = validate_day("how about next Friday", followups)
    assert day == {s.CHECKIN_DAY: "2026-12-18T09:00:00+00:00"}
    when = run_action(action(ActionScheduleCheckin, store, records, followups), text="how about next Friday",
                      slots={s.COMMITTED: commit.slot(s.COMMITTED), **day}, sender=sender)
    assert "Friday 18 December" in when.text and when.slot(s.AWAITING) == s.NOTHING
    [checkin] = followups.of_conversation(sender)
    assert checkin.state == SCHEDULED and checkin.due_at.date().isoformat() == "2026-12-18"
    assert [(c.strategy_id, c.barrier_id) for c in checkin.commitments] == [
        ("protected_time", "time_pressure"), ("give_time_back", "time_pressure")]
    plan = records.latest_plan(sender)
    assert "## What you're trying" in plan.markdown and "Friday 18 December" in plan.markdown


def test_nothing_named_asks_which_and_a_day_in_the_same_breath_schedules_at_once(store, records, followups, sender):
    ask = run_action(action(ActionCommitStrategies, store, records, followups), text="I'll try some of these",
                     intent="commit_strategies", slots={s.COMMIT_OPTIONS: OPTIONS}, sender=sender)
    assert ask.slot(s.AWAITING) == s.COMMIT_CHOICE and "Which will you try?" in ask.text
    assert '/commit_strategies{"strategy":"all"}' in ask.payloads
    both = run_action(action(ActionCommitStrategies, store, records, followups),
                      text="I'll try the second one, ask me in a month", intent="commit_strategies",
                      slots={s.COMMIT_OPTIONS: OPTIONS}, sender=sender)
    assert "Thursday 7 January" in both.text
    assert [c.strategy_id for c in followups.of_conversation(sender)[0].commitments] == ["piggyback_existing_meetings"]


def validate_day(text: str, followups: FollowUps) -> tuple[dict, str]:
    tracker = Tracker("v", {"requested_slot": "checkin_day"}, {"text": text, "intent": {}, "entities": []}, [], False,
                      None, {"name": "checkin_day_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = ValidateCheckinDayForm(followups).validate_checkin_day(text, dispatcher, tracker, {})
    return result, " ".join(m.get("text") or "" for m in dispatcher.messages)


@pytest.mark.parametrize("text, day, says", [
    ("in six months", None, "eight weeks"), ("banana", None, "didn't catch the day"),
    ("you choose", "2026-12-21T09:00:00+00:00", ""), ("in a month", "2027-01-07T09:00:00+00:00", ""),
])
def test_the_day_question_reads_any_answer_and_asks_again_saying_why(followups, text, day, says):
    result, said = validate_day(text, followups)
    assert result == {s.CHECKIN_DAY: day} and says in said


def validate(slot: str, value: Any, *, slots: dict, parse: dict | None = None, followups: FollowUps) -> dict:
    latest = {"text": value if isinstance(value, str) else "", "intent": {}, "entities": [], **(parse or {})}
    tracker = Tracker("v", {"requested_slot": slot, **slots}, latest, [], False, None, {"name": "checkin_form"},
                      "action_listen")
    return getattr(ValidateCheckinForm(followups), f"validate_{slot}")(value, CollectingDispatcher(), tracker, {})


def test_the_check_in_asks_about_each_strategy_then_keeps_how_it_went(store, records, followups, sender):
    checkin = followups.schedule(sender, "rest", {}, NOW, [_chosen(o) for o in OPTIONS[:2]])
    start = run_action(action(ActionCheckinStart, store, records, followups), intent="EXTERNAL_checkin_due",
                       entities=[entity("checkin", str(checkin.id))], sender=sender)
    assert "Hello again" in start.text and "Protect time for the work" in start.text
    state = start.slot(s.CHECKIN)
    assert validate("checkin_progress", "we got about half of it done", slots={s.CHECKIN: state},
                    followups=followups) == {s.CHECKIN_PROGRESS: "partly"}
    assert validate("checkin_helped", "4", slots={s.CHECKIN: state}, followups=followups) == {s.CHECKIN_HELPED: 4}
    heard = {"barriers": [{"id": "data_and_systems", "confidence": 0.8}]}
    first = validate("checkin_obstacle", "we still can't get the data out of the system",
                     slots={s.CHECKIN: state, s.CHECKIN_PROGRESS: "partly", s.CHECKIN_HELPED: 4}, parse=heard,
                     followups=followups)
    assert first[s.CHECKIN]["index"] == 1 and first[s.CHECKIN_PROGRESS] is None  # on to the second strategy
    assert validate("checkin_progress", "not_started", slots={s.CHECKIN: first[s.CHECKIN]}, followups=followups) == \
        {s.CHECKIN_PROGRESS: "not_started", s.CHECKIN_HELPED: 0}
    last = validate("checkin_obstacle", "nothing", slots={s.CHECKIN: first[s.CHECKIN],
                                                          s.CHECKIN_PROGRESS: "not_started", s.CHECKIN_HELPED: 0},
                    followups=followups)
    assert last[s.CHECKIN_OBSTACLE] == "nothing"
    finish = run_action(action(ActionCheckinFinish, store, records, followups), slots={s.CHECKIN: last[s.CHECKIN]},
                        sender=sender)
    assert followups.get(checkin.id).state == ANSWERED
    assert [(c.progress, c.helped) for c in followups.get(checkin.id).commitments] == [("partly", 4),
                                                                                      ("not_started", None)]
    assert finish.slot(s.AWAITING) == s.BARRIER_CONFIRMATION  # what got in the way, offered as the next step
    assert [r["id"] for r in finish.slot(s.BARRIERS_PROPOSED)] == ["data_and_systems"]
    assert "now the block" in finish.text
    assert "/run_chart" in finish.payloads and "draw a run chart" in finish.text  # have the numbers moved?
    plan = records.latest_plan(sender).markdown
    assert "## Check-in, Monday 7 December" in plan and "partly done; helped 4 out of 5" in plan
    assert "we still can't get the data out of the system" in plan


@pytest.mark.parametrize("text, progress", [("Done", "done"), ("yes we did it", "done"), ("half done", "partly"),
                                             ("not yet", "not_started"), ("we never got to it", "not_started"),
                                             ("hmm", None)])
def test_progress_in_words(text, progress):
    assert read_progress(text) == progress


@pytest.mark.parametrize("text, helped", [("5 a lot", 5), ("3", 3), ("not really", 1), ("a bit", 3),
                                           ("yes it helped", 4), ("no idea", None)])
def test_helped_in_words(text, helped):
    assert read_helped(text) == helped


def test_stop_reminding_me_and_remind_me_later(store, records, followups, sender):
    checkin = followups.schedule(sender, "rest", {}, NOW, [_chosen(OPTIONS[0])])
    later = run_action(action(ActionRemindLater, store, records, followups), text="remind me next week",
                       intent="remind_later", slots={s.CHECKIN: {"id": checkin.id, "pending": []}}, sender=sender)
    assert "Monday 14 December" in later.text
    assert followups.get(checkin.id).state == SCHEDULED and followups.get(checkin.id).due_at.day == 14
    stop = run_action(action(ActionStopCheckins, store, records, followups), text="stop reminding me",
                      intent="stop_checkins", sender=sender)
    assert "won't check in again" in stop.text and followups.get(checkin.id).state == CANCELLED
    again = run_action(action(ActionStopCheckins, store, records, followups), text="stop reminding me",
                       intent="stop_checkins", sender=sender)
    assert "nothing to stop" in again.text


def _chosen(option: dict):
    from qi_coach.followup import Chosen

    return Chosen(option["id"], option["title"], option["barrier"])
