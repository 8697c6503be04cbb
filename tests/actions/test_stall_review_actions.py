"""The stalled-project review's actions: each level's question from the content, answers read or
asked again, and a review that ends in asks and strategies for the levels not reached."""

from __future__ import annotations

from actions import slots as s
from actions.stall_review import (
    INTRO,
    ActionAskReviewFrontLine,
    ActionAskReviewSeniorLeader,
    ActionLeaveStallReview,
    ActionStallReview,
    ValidateStallReviewForm,
)
from tests.actions.conftest import run_action


def test_the_first_question_says_what_the_review_is_and_offers_the_answers(store, records):
    out = run_action(ActionAskReviewFrontLine(store, records), text="why did my project stall?", intent="review_stall")
    assert out.texts[0] == INTRO
    front = next(g for g in store.level_guides() if g.id == "front_line")
    assert out.texts[1] == front.review_question
    assert [b["title"] for b in out.buttons] == ["Yes", "Partly", "No", "Not sure", "Stop the review"]


def test_later_questions_come_without_the_introduction(store, records):
    out = run_action(ActionAskReviewSeniorLeader(store, records), text="no", intent="inform")
    senior = next(g for g in store.level_guides() if g.id == "senior_leader")
    assert out.texts == [senior.review_question]


def test_answers_are_read_and_what_is_not_an_answer_is_asked_again():
    from rasa_sdk.executor import CollectingDispatcher

    form = ValidateStallReviewForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_review_front_line("not really", dispatcher, None, {}) == {s.REVIEW_SLOTS["front_line"]: "no"}
    assert dispatcher.messages == []
    assert form.validate_review_middle_manager("the rota", dispatcher, None, {}) == {
        s.REVIEW_SLOTS["middle_manager"]: None}
    assert "Yes, partly, no or not sure" in dispatcher.messages[0]["text"]


def test_the_review_names_the_levels_not_reached_with_strategies_acting_there(store, records):
    slots = {s.REVIEW_SLOTS["front_line"]: "yes", s.REVIEW_SLOTS["middle_manager"]: "no",
             s.REVIEW_SLOTS["senior_leader"]: "no"}
    out = run_action(ActionStallReview(store, records), text="no", intent="inform", slots=slots,
                     said=["the ward loved it but the directorate never put it in their plan"])
    review = out.texts[0]
    assert "never reached middle managers and senior leaders and the board" in review
    assert "**Strategies to start with**" in review
    chosen = [b["payload"] for b in out.buttons if "strategy_details" in b["payload"]]
    assert chosen, out.buttons
    for payload in chosen:  # each one acts at a level the project did not reach
        strategy_id = payload.split('"strategy":"')[1].split('"')[0]
        assert {"middle_manager", "senior_leader"} & set(store.get_strategy(strategy_id).levels)
    assert any("start_triage" in b["payload"] for b in out.buttons)
    assert '/ask_tool{"qi_tool":"model_of_alignment_review"}' in out.payloads  # the fuller review, as a tool
    assert store.get_tool("model_of_alignment_review").name == "Model of alignment review"
    assert all(out.slot(slot) is None for slot in s.REVIEW_SLOTS.values())  # ready for another review
    assert out.slot(s.AWAITING) == s.NOTHING


def test_strategies_already_tried_are_not_offered_again(store, records):
    slots = {s.REVIEW_SLOTS["front_line"]: "no", s.REVIEW_SLOTS["middle_manager"]: "yes",
             s.REVIEW_SLOTS["senior_leader"]: "yes"}
    first = run_action(ActionStallReview(store, records), slots=slots)
    offered = [p.split('"strategy":"')[1].split('"')[0] for p in first.payloads if "strategy_details" in p]
    again = run_action(ActionStallReview(store, records), slots={**slots, s.TRIED_STRATEGIES: offered})
    assert not set(offered) & {p.split('"strategy":"')[1].split('"')[0] for p in again.payloads
                               if "strategy_details" in p}


def test_stopping_the_review_clears_it(store, records):
    out = run_action(ActionLeaveStallReview(store, records), text="stop", intent="cancel")
    assert "stopped the review" in out.text
    assert all(out.slot(slot) is None for slot in s.REVIEW_SLOTS.values())
