"""The guided triage reads typed answers in ordinary words: each reader gives the canonical
value, or None (the form asks again, never guesses)."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.triage import ValidateTriageForm
from knowledge.validate import CONTENT_DIR
from qi_coach.coaching.triage import UNNAMED_TRIED, read_duration, read_levels, read_stage, read_tried

TODAY = date(2025, 6, 15)  # every date below is counted from here


# --- the stage --------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, stage", [
    # the answer that failed: tested changes that fizzled out are at the testing stage, stalled there
    ("we've tested a couple of changes but it has fizzled out", "testing"),
    ("we did a few PDSAs, then lost momentum", "testing"),
    ("we tested changes and they worked at first but then it fizzled out", "testing"),
    ("we were testing but it's ground to a halt", "testing"),
    ("testing", "testing"),
    ("Testing changes", "testing"),
    ("we ran a pilot on one ward", "testing"),
    ("trialling a new checklist", "testing"),
    ("tried a few changes", "testing"),
    ("early days", "planning"),
    ("just an idea at the moment", "planning"),
    ("we are still designing it", "planning"),
    ("still collecting baseline data", "planning"),
    ("planning", "planning"),
    # not entered yet: the stage before the one named
    ("we haven't started testing yet", "planning"),
    ("no testing yet", "planning"),
    ("we're about to start testing", "planning"),
    ("we tested it but haven't rolled it out", "testing"),
    ("we want to spread it to the rest of the hospital", "testing"),
    # the furthest stage entered
    ("we piloted it and are now rolling it out", "spreading"),
    ("rolling it out to other wards", "spreading"),
    ("scaling up across the trust", "spreading"),
    ("it isn't spreading the way we hoped", "spreading"),  # struggling with a stage is being at it
    ("Spreading", "spreading"),
    ("trying to keep it going", "sustaining"),
    ("it's business as usual now but slipping", "sustaining"),
    ("it worked but people have slipped back to the old ways", "sustaining"),
    ("the new process went live in January", "sustaining"),
    ("embedding it", "sustaining"),
])
def test_a_stage_is_read_from_ordinary_words(answer, stage):
    assert read_stage(answer) == stage


@pytest.mark.parametrize("answer", [
    "", "   ", "banana", "idk", "not sure", "no idea", "stuck",
    "it just fizzled out",  # says it stalled, not where
    "planning or testing?", "testing / spreading", "somewhere between testing and spreading",
    "the nurses", "since March",
])
def test_an_answer_without_a_clear_stage_is_asked_again(answer):
    assert read_stage(answer) is None


# --- who is involved --------------------------------------------------------------------------

F, M, S = "front_line", "middle_manager", "senior_leader"


@pytest.mark.parametrize("answer, levels", [
    ("me and a couple of the band 5s", [F]),
    ("just the nursing team really", [F]),
    ("our matron and the deputy director of nursing", [M, S]),
    ("the consultants and the junior doctors", [F]),
    ("the ICB", [S]),
    ("the practice manager and two GPs", [F, M]),
    ("the nurses and our matron", [F, M]),
    ("just me", [F]),
    ("the physios and OTs", [F]),
    ("the whole MDT", [F]),
    ("the clinical director and the ward team", [F, M]),  # a clinical director is a manager, not the board
    ("our divisional director", [M]),
    ("the medical director is sponsoring it", [S]),
    ("the partners and the practice nurse", [F, S]),
    ("the QI team", [M]),
    ("senior management are supportive", [S]),
    ("everyone", [F, M, S]),
    ("All three, up to the board", [F, M, S]),
    ("front line and middle managers", [F, M]),
    ("front_line,middle_manager", [F, M]),  # a button
    ("we have board rounds with the nurses", [F]),  # a board round is not the board
    ("not just the nurses, the matron too", [F, M]),
    ("the nurses don't have time", [F]),  # busy is not uninvolved
    ("the nurses don't know how to use it yet", [F]),
])
def test_who_is_involved_is_read_from_ordinary_words(answer, levels):
    assert read_levels(answer) == levels


@pytest.mark.parametrize("answer, levels", [
    ("the ward sister is on board but the execs have no idea", [M]),
    ("just the nurses, no one from management", [F]),
    ("no managers or execs, just the HCAs", [F]),
    ("everyone except the board", [F, M]),
    ("the ward manager is keen, the board don't know about it", [M]),
    ("the consultants won't come to the meetings but the registrars are keen", [F]),
    ("the nurses are involved but management isn't", [F]),
    ("nobody from the exec team, just me and the ward sister", [F, M]),
])
def test_a_role_said_not_to_be_involved_does_not_count(answer, levels):
    assert read_levels(answer) == levels


@pytest.mark.parametrize("answer", [
    "", "banana", "idk", "nobody", "no one", "no one from management", "the execs have no idea",
    "the matron and the execs aren't involved", "the execs aren't",
])
def test_an_answer_naming_no_one_involved_is_asked_again(answer):
    assert read_levels(answer) is None


def test_the_nlu_levels_count_unless_the_answer_negates_them():
    assert read_levels("the team", ["middle_manager"]) == [F, M]
    assert read_levels("the execs have no idea", ["senior_leader"]) is None
    assert read_levels("the ward sister is on board but the execs have no idea", [M, S]) == [M]
    assert read_levels("someone", ["not_a_level"]) is None


def test_every_role_name_in_the_content_is_read_at_its_level():
    entities = yaml.safe_load((CONTENT_DIR / "entities.yml").read_text(encoding="utf-8"))
    wrong = [(name, role["level"], read_levels(name)) for role in entities["roles"] for name in role["names"]
             if read_levels(name) != [role["level"]]]
    assert wrong == []
    ignored = [name for phrase in entities["ignore"] for name in phrase["names"] if read_levels(name)]
    assert ignored == []  # "on board", "board round", "team player" name no one


# --- how long it has been stuck ---------------------------------------------------------------

@pytest.mark.parametrize("answer, duration", [
    ("since about March", "about 3 months (since March 2025)"),
    ("since Feb", "about 4 months (since February 2025)"),
    ("from last October", "about 8 months (since October 2024)"),  # later in the year than June: last year
    ("since sept", "about 9 months (since September 2024)"),
    ("since the end of Jan", "about 5 months (since January 2025)"),
    ("since mid-feb", "about 4 months (since February 2025)"),
    ("since May", "about a month (since May 2025)"),
    ("since June", "under a month (since June 2025)"),  # this month
    ("since last June", "about a year (since June 2024)"),
    ("since December", "about 6 months (since December 2024)"),
    ("since March 2024", "about 15 months (since March 2024)"),
    ("since March last year", "about 15 months (since March 2024)"),
    ("March", "about 3 months (since March 2025)"),
    ("since apr", "about 2 months (since April 2025)"),
    ("since jul", "about 11 months (since July 2024)"),
    ("since august", "about 10 months (since August 2024)"),
    ("since nov", "about 7 months (since November 2024)"),
    ("last spring", "about 2 months (since spring 2025)"),
    ("since the summer", "about 11 months (since summer 2024)"),
    ("since the autumn", "about 8 months (since autumn 2024)"),
    ("since winter", "about 5 months (since winter 2024-25)"),
    ("about 6 weeks", "about 6 weeks"),
    ("half a year", "about 6 months"),
    ("18 months", "about 18 months"),
    ("a year and a half", "about 18 months"),
    ("2 and a half years", "about 2.5 years"),
    ("six months or so", "about 6 months"),
    ("a couple of months", "about 2 months"),
    ("2-3 months", "about 2 to 3 months"),
    ("a fortnight", "about 2 weeks"),
    ("over 6 months", "over 6 months"),
    ("less than a month", "under a month"),
    ("more than a year", "over a year"),
    ("a good few months", "several months"),
    ("a few weeks", "a few weeks"),
    ("for a while now", "a while"),
    ("ages", "a long time"),
    ("donkey's years", "a long time"),
    ("months", "several months"),
    ("recently", "a few weeks"),
    ("last month", "about a month"),
    ("since the merger", "since the merger"),
    ("since the new EPR went live", "since the new EPR went live"),
    ("since covid", "since covid"),
    ("since before Christmas", "since before Christmas"),
    ("ever since the pandemic", "since the pandemic"),
    ("after the merger", "since the merger"),
    ("since our lead left, I think", "since our lead left"),
    ("since the restructure, so about a year", "about a year"),  # an amount is more exact than an event
    ("from day one", "since the start"),
    ("it may be about 3 months", "about 3 months"),  # "may" here is not the month
])
def test_how_long_it_has_been_stuck_is_read_from_ordinary_words(answer, duration):
    assert read_duration(answer, today=TODAY) == duration


@pytest.mark.parametrize("answer", ["", "banana", "idk", "no idea", "not sure", "yes", "the nurses", "since then"])
def test_an_answer_that_says_no_time_is_asked_again(answer):
    assert read_duration(answer, today=TODAY) is None


@pytest.mark.parametrize("answer, today, duration", [
    ("since March", date(2025, 3, 20), "under a month (since March 2025)"),
    ("since last March", date(2025, 3, 20), "about a year (since March 2024)"),
    ("since December", date(2026, 1, 5), "about a month (since December 2025)"),
    ("since January", date(2025, 12, 31), "about 11 months (since January 2025)"),
    ("since February", date(2025, 1, 31), "about 11 months (since February 2024)"),
    ("since March 2030", date(2025, 6, 15), "since March 2030"),  # not counted: it is still to come
])
def test_months_are_counted_back_from_today(answer, today, duration):
    assert read_duration(answer, today=today) == duration


def test_today_is_the_default():
    this_month = date.today().strftime("%B")
    assert read_duration(f"since {this_month}") == f"under a month (since {this_month} {date.today().year})"


# --- what has been tried ----------------------------------------------------------------------

@pytest.mark.parametrize("answer, tried", [
    ("we tried a poster campaign and some teaching sessions", "we tried a poster campaign and some teaching sessions"),
    ("protected time for the audit", "protected time for the audit"),
    ("we've done loads of things like huddles and posters", "we've done loads of things like huddles and posters"),
    ("nothing yet", "nothing yet"),
    ("Nothing.", "nothing yet"),
    ("not really", "nothing yet"),
    ("no", "nothing yet"),
    ("nope", "nothing yet"),
    ("none", "nothing yet"),
    ("not yet", "nothing yet"),
    ("n/a", "nothing yet"),
    ("we haven't tried anything", "nothing yet"),
    ("nothing formal really", "nothing yet"),
    ("loads of things", "lots of things"),
    ("we've tried everything!", "lots of things"),
    ("all sorts", "lots of things"),
    ("a few things", "a few things"),
    ("bits and pieces", "a few things"),
    ("not much", "not much"),
    ("idk", "not sure"),
    ("I don't know, I joined late", "I don't know, I joined late"),
    ("not sure", "not sure"),
])
def test_what_was_tried_is_accepted_in_ordinary_words(answer, tried):
    assert read_tried(answer) == tried


@pytest.mark.parametrize("answer", ["", "   ", "..."])
def test_an_empty_answer_about_what_was_tried_is_asked_again(answer):
    assert read_tried(answer) is None


def test_the_summaries_name_nothing_to_look_up():
    assert {read_tried(a) for a in ("nothing", "idk", "loads", "a few things", "not much")} == set(UNNAMED_TRIED)


# --- the form keeps what it read --------------------------------------------------------------

def validate(slot: str, value, *, intent: str = "inform", barriers: list | None = None, slots: dict | None = None):
    latest = {"text": value, "intent": {"name": intent, "confidence": 0.6}, "entities": [],
              "barriers": barriers or []}
    tracker = Tracker("reader", slots or {}, latest, [], False, None, {"name": "triage_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = getattr(ValidateTriageForm(), f"validate_{slot}")(value, dispatcher, tracker, {})
    return result, [m.get("text") for m in dispatcher.messages]


def test_the_form_accepts_the_answers_that_used_to_be_asked_again():
    assert validate("triage_stage", "we've tested a couple of changes but it has fizzled out")[0] == {
        "triage_stage": "testing"}
    assert validate("triage_levels", "the ward sister is on board but the execs have no idea")[0] == {
        "triage_levels": ["middle_manager"]}
    stuck = validate("triage_stuck_for", "since about March")[0]["triage_stuck_for"]
    assert stuck.startswith("about ") and "(since March " in stuck
    assert validate("triage_tried", "not really")[0] == {"triage_tried": "nothing yet"}
    result, said = validate("triage_tried", "")
    assert result == {"triage_tried": None} and said


def test_a_no_that_also_names_a_barrier_keeps_the_barrier():
    heard = [{"id": "management_support", "confidence": 0.55}]
    result, _ = validate("triage_more", "no, apart from nobody senior backing it", intent="deny", barriers=heard,
                         slots={"triage_answers": [{"text": "first", "barriers": []}]})
    assert result["triage_more"] is True
    assert [a["barriers"] for a in result["triage_answers"]] == [[], [{**heard[0], "origin": "classifier"}]]
    result, _ = validate("triage_more", "no", intent="deny")
    assert result == {"triage_more": True}  # a plain "no" ends the list and adds nothing
    result, said = validate("triage_more", "yes", intent="affirm")
    assert result == {"triage_more": None} and said == ["Go on: what else is getting in the way?"]
    result, said = validate("triage_more", "yes, and the IT", intent="affirm", barriers=heard)
    assert result["triage_more"] is None and not said
    assert result["triage_answers"][-1]["barriers"] == [{**heard[0], "origin": "classifier"}]
