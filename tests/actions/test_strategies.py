"""Strategies: suggested with evidence, explained, and never repeated once tried."""

from __future__ import annotations

import re

from sqlalchemy import select

from actions.feedback import ActionRecordFeedback
from actions.strategies import ActionExplainStrategy, ActionRecordTried, ActionSuggestStrategies
from qi_coach.records import StrategySuggestion
from tests.actions.conftest import entity, run_action

CONFIRMED = {"barriers_confirmed": [{"id": "time_pressure", "confidence": 0.9, "origin": "classifier"},
                                    {"id": "process_burden", "confidence": 0.7, "origin": "classifier"}]}


def cards(out) -> list[str]:
    return [t for t in out.texts if re.match(r"\*\*\d\. ", t)]


def test_three_strategies_each_with_why_first_step_tool_and_source(store):
    out = run_action(ActionSuggestStrategies(store), intent="affirm", slots=CONFIRMED)
    shown = cards(out)
    assert len(shown) == 3
    for card in shown:
        assert "*Why it helps:*" in card and "*First step:*" in card and "*Evidence:*" in card
        assert re.search(r"\*Evidence:\* [a-z ]+; .*(\d{4}|n\.d\.)", card), card  # level, then a dated source
    expected = [r.strategy_id for r in store.recommend({"time_pressure": 0.9, "process_burden": 0.7})]
    assert out.slot("last_strategies") == expected
    assert out.slot("shown_strategies") == expected
    assert out.slot("awaiting") == "feedback"
    assert "/feedback_useful" in out.payloads and "/ask_more" in out.payloads and "/add_barrier" in out.payloads
    assert f'/strategy_details{{"strategy":"{expected[0]}"}}' in out.payloads
    assert out.texts[-1] == "Was this useful?"


def test_tried_strategies_are_never_suggested(store):
    first = run_action(ActionSuggestStrategies(store), slots=CONFIRMED).slot("last_strategies")
    out = run_action(ActionSuggestStrategies(store), slots={**CONFIRMED, "tried_strategies": [first[0]]})
    assert first[0] not in out.slot("last_strategies")


def test_other_options_leave_out_what_was_shown(store):
    first = run_action(ActionSuggestStrategies(store), slots=CONFIRMED).slot("last_strategies")
    out = run_action(ActionSuggestStrategies(store), intent="ask_more", slots={**CONFIRMED, "shown_strategies": first})
    assert not set(out.slot("last_strategies")) & set(first)
    assert out.texts[0].startswith("Here are more options")
    assert out.slot("shown_strategies") == first + out.slot("last_strategies")


def test_when_everything_was_shown_it_says_so_and_offers_another_barrier(store):
    every = [r.strategy_id for r in store.recommend({"organisational_turbulence": 1.0}, limit=None)]
    out = run_action(ActionSuggestStrategies(store), intent="ask_more",
                     slots={"barriers_confirmed": ["organisational_turbulence"], "shown_strategies": every})
    assert "no new strategies left" in out.text
    assert out.payloads == ["/add_barrier"]


def test_strategies_at_the_users_level_come_first(store):
    out = run_action(ActionSuggestStrategies(store),
                     slots={"barriers_confirmed": ["management_support"], "levels": ["senior_leader"]})
    for sid in out.slot("last_strategies"):
        assert "senior_leader" in store.get_strategy(sid).levels


def test_nothing_confirmed_asks_for_a_description(store):
    out = run_action(ActionSuggestStrategies(store), intent="ask_more")
    assert out.messages[0].get("response") == "utter_ask_describe"


def test_more_on_a_strategy_shows_every_step_caution_and_source(store):
    out = run_action(ActionExplainStrategy(store), intent="strategy_details",
                     entities=[entity("strategy", "piggyback_existing_meetings")])
    info = store.get_strategy("piggyback_existing_meetings")
    assert all(step in out.text for step in info.steps)
    assert all(caution in out.text for caution in info.cautions)
    assert "[Pannick et al. 2016, BMJ Quality & Safety](sources#seed_002)" in out.text
    assert "002_4fc24f89e94075fe.txt" not in out.text  # the seed's file name means nothing to a reader


def test_the_second_one_means_the_second_strategy_shown(store):
    shown = ["protected_time_for_qi", "piggyback_existing_meetings", "give_time_back"]
    out = run_action(ActionExplainStrategy(store), text="tell me more about the second one", intent="strategy_details",
                     slots={"last_strategies": shown})
    assert out.text.startswith(f"**{store.get_strategy('piggyback_existing_meetings').title}**")


def test_already_tried_is_remembered_by_name(store):
    out = run_action(ActionRecordTried(store), text="we already tried protected time", intent="already_tried",
                     slots={"tried_strategies": ["give_time_back"], "barriers_confirmed": ["time_pressure"]})
    assert out.slot("tried_strategies") == ["give_time_back", "protected_time_for_qi"]
    assert store.get_strategy("protected_time_for_qi").title in out.text
    assert out.payloads == ["/ask_more"]


def test_an_unrecognised_tried_strategy_is_said_plainly(store):
    out = run_action(ActionRecordTried(store), text="we tried interpretive dance", intent="already_tried")
    assert "couldn't match that" in out.text
    assert all(e.get("name") != "tried_strategies" for e in out.events)


def test_feedback_is_stored_with_the_strategies_it_is_about(store, records):
    shown = ["protected_time_for_qi", "piggyback_existing_meetings"]
    useful = run_action(ActionRecordFeedback(store, records), text="/feedback_useful", intent="feedback_useful",
                        sender="conv-fb", slots={"last_strategies": shown, "awaiting": "feedback"})
    not_useful = run_action(ActionRecordFeedback(store, records), text="too generic for us", intent="deny",
                            sender="conv-fb", slots={"last_strategies": shown, "awaiting": "feedback"})
    assert records.feedback("conv-fb") == [(shown, True), (shown, False)]
    assert useful.slot("awaiting") == "nothing" and not_useful.payloads == ["/ask_more", "/add_barrier"]


def test_a_barrier_the_user_picked_counts_fully_not_with_an_old_classifier_confidence(store):
    # time_pressure was heard weakly (0.2), then the user picked it: it is ranked as picked
    slots = {"barriers_confirmed": [{"id": "time_pressure", "confidence": None, "origin": "user"},
                                    {"id": "team_working", "confidence": 0.7, "origin": "classifier"}],
             "barriers_proposed": [{"id": "time_pressure", "confidence": 0.2}]}
    out = run_action(ActionSuggestStrategies(store), slots=slots)
    as_picked = [r.strategy_id for r in store.recommend({"time_pressure": 1.0, "team_working": 0.7})]
    as_heard = [r.strategy_id for r in store.recommend({"time_pressure": 0.2, "team_working": 0.7})]
    assert as_picked != as_heard and out.slot("last_strategies") == as_picked


RETIRING = ["Our sepsis screening project is stalling.",
            "The two consultants who pushed it for years are both retiring in the spring and nobody else "
            "really knows how the audit works.",
            "/affirm"]
TURNOVER = {"barriers_confirmed": [{"id": "staff_turnover", "confidence": 0.8, "origin": "classifier"},
                                   {"id": "clinical_resistance", "confidence": 0.6, "origin": "classifier"}]}


def test_what_the_person_said_moves_the_strategy_for_their_situation_first_and_says_why(store):
    blind = run_action(ActionSuggestStrategies(store), intent="affirm", slots=TURNOVER)
    heard = run_action(ActionSuggestStrategies(store), intent="affirm", slots=TURNOVER, said=RETIRING)
    first = heard.slot("last_strategies")[0]
    assert first in {"succession_for_champion", "shared_leadership_succession"}
    assert heard.slot("last_strategies") != blind.slot("last_strategies")
    card = cards(heard)[0]
    assert "*Why this for you:* you said \u201cThe two consultants who pushed it for years are both retiring" in card
    assert "Why this for you" not in blind.text


def test_the_reason_quotes_what_was_said_without_identifying_details(store):
    said = ["The consultant who led it, reachable on 07700 900123, is retiring next month and nobody "
            "has been lined up to take over the project."]
    out = run_action(ActionSuggestStrategies(store), intent="affirm", slots=TURNOVER, said=said)
    assert "07700" not in out.text
    assert "[phone number]" in out.text


def test_questions_in_the_conversation_are_not_taken_as_the_persons_situation(store):
    said = [("How do I draw a run chart for the audit when the numbers go up and down every month?", "ask_tool"),
            "The two consultants who pushed it for years are both retiring in the spring."]
    out = run_action(ActionSuggestStrategies(store), intent="affirm", slots=TURNOVER, said=said)
    assert "How do I draw" not in out.text
    assert "you said \u201cThe two consultants" in out.text


def test_a_sentence_is_given_as_the_reason_once_per_reply(store):
    out = run_action(ActionSuggestStrategies(store), intent="affirm", slots=TURNOVER, said=RETIRING)
    assert out.text.count("*Why this for you:*") == 1


def test_what_was_shown_is_recorded_for_the_insights_with_its_barrier(store, records):
    out = run_action(ActionSuggestStrategies(store, records), slots=CONFIRMED, sender="shown-for-insights")
    with store.engine.connect() as conn:
        rows = conn.execute(select(StrategySuggestion.strategy_id, StrategySuggestion.barrier_id,
                                   StrategySuggestion.rank)
                            .where(StrategySuggestion.conversation_id == "shown-for-insights")
                            .order_by(StrategySuggestion.rank)).all()
    assert [r.strategy_id for r in rows] == out.slot("last_strategies") and [r.rank for r in rows] == [1, 2, 3]
    assert {r.barrier_id for r in rows} <= {"time_pressure", "process_burden"}
    assert records.forget("shown-for-insights") >= 3


def test_a_suggestion_that_uses_a_run_chart_offers_to_draw_one(store):
    data = {"barriers_confirmed": [{"id": "data_and_systems", "confidence": 0.9, "origin": "classifier"}]}
    out = run_action(ActionSuggestStrategies(store), slots=data)
    uses_chart = any(t.id == "run_chart" for r in store.recommend({"data_and_systems": 0.9}, limit=3) for t in r.tools)
    assert uses_chart and "/run_chart" in out.payloads
