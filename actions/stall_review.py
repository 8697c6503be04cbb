"""The stalled-project review: "why did my project stall?", answered level by level.

Thin: ``stall_review_form`` asks each level's question (from the knowledge store), the
validator reads the answer, and the review itself is built and worded in
``qi_coach.coaching.stall_review``; the strategies for the levels not reached come from the
store's ranking, for the barriers ``levels.yml`` names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import render
from actions import slots as s
from actions.base import CoachAction, latest_intent, said_so_far, slot_list
from qi_coach.coaching import stall_review
from qi_coach.coaching.said import heard

INTRO = ("Let's look back at why it stalled, one level at a time. A project keeps moving when it serves what "
         "front-line staff, middle managers and senior leaders each care about (the model of alignment, "
         "Pannick, Sevdalis and Athanasiou 2016). Three quick questions.")
ASK_AGAIN = "Yes, partly, no or not sure? The buttons work too."
STRATEGIES_PER_LEVEL = 2
REVIEW_TOOL = "model_of_alignment_review"  # the same review done with the team, with evidence
_ANSWER_BUTTONS = [render.button(title, "inform", review_choice=value)
                   for title, value in stall_review.ANSWER_BUTTONS]


class _AskReview(CoachAction, ABC):
    """``stall_review_form``'s question for one level (the first one opens with what the review is)."""

    @property
    @abstractmethod
    def level(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{s.REVIEW_SLOTS[self.level]}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        guide = next(g for g in self.store.level_guides() if g.id == self.level)
        if self.level == "front_line" and latest_intent(tracker) == "review_stall":
            dispatcher.utter_message(text=INTRO)
        dispatcher.utter_message(text=guide.review_question,
                                 buttons=[*_ANSWER_BUTTONS, render.button("Stop the review", "cancel")])
        return []


class ActionAskReviewFrontLine(_AskReview):
    level = "front_line"


class ActionAskReviewMiddleManager(_AskReview):
    level = "middle_manager"


class ActionAskReviewSeniorLeader(_AskReview):
    level = "senior_leader"


class ValidateStallReviewForm(FormValidationAction):
    """Each answer is yes, partly, no or not sure, from a button or a few words; anything else
    is asked again."""

    def name(self) -> str:
        return "validate_stall_review_form"

    @staticmethod
    def _answer(slot: str, value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
        answer = stall_review.read_answer(str(value or ""))
        if answer is None:
            dispatcher.utter_message(text=ASK_AGAIN)
        return {slot: answer}

    def validate_review_front_line(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        return self._answer(s.REVIEW_SLOTS["front_line"], value, dispatcher)

    def validate_review_middle_manager(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        return self._answer(s.REVIEW_SLOTS["middle_manager"], value, dispatcher)

    def validate_review_senior_leader(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: dict) -> dict[str, Any]:
        return self._answer(s.REVIEW_SLOTS["senior_leader"], value, dispatcher)


class ActionStallReview(CoachAction):
    """Say where the project lost alignment, what to ask of each level, and where to start."""

    def name(self) -> str:
        return "action_stall_review"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        answers = {level: tracker.get_slot(slot) for level, slot in s.REVIEW_SLOTS.items()}
        result = stall_review.review(answers, self.store.level_guides())
        said = heard(said_so_far(tracker))
        tried = slot_list(tracker, s.TRIED_STRATEGIES)
        picks: dict[str, list] = {}
        shown: set[str] = set(tried)
        for guide in result.to_work_on:
            recs = self.store.recommend({b: 1.0 for b in guide.barriers_when_unreached}, levels=[guide.id],
                                        exclude=shown, limit=STRATEGIES_PER_LEVEL, said=said)
            shown.update(r.strategy_id for r in recs)
            picks[guide.id] = recs
        result = stall_review.StallReview(result.verdicts, picks)
        dispatcher.utter_message(text=stall_review.review_markdown(result, render.source_link))
        buttons = [render.button(f"More on: {rec.title}", "strategy_details", strategy=rec.strategy_id)
                   for recs in picks.values() for rec in recs[:1]]
        buttons += [render.button("A fuller review with the team", "ask_tool", qi_tool=REVIEW_TOOL),
                    render.button("Make an action plan", "start_triage")]
        dispatcher.utter_message(text="Would you like the details of one of these, or a full action plan?",
                                 buttons=buttons)
        return [*_cleared(), SlotSet(s.AWAITING, s.NOTHING)]


class ActionLeaveStallReview(CoachAction):
    """"Stop" or "cancel" during the review's questions."""

    def name(self) -> str:
        return "action_leave_stall_review"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="OK, I've stopped the review. Ask \"why did my project stall?\" whenever "
                                      "you want to go through it.")
        return [ActiveLoop(None), *_cleared(), SlotSet("requested_slot", None)]


def _cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in s.REVIEW_SLOTS.values()]
