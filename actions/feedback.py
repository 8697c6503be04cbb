"""Feedback on the strategies just shown: stored with their ids, for the QI-lead insights."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import render
from actions import slots as s
from actions.base import CoachAction, latest_intent, slot_list

USEFUL_INTENTS = {"affirm", "feedback_useful"}


class ActionRecordFeedback(CoachAction):
    """Store "was this useful?" with ``last_strategies``; sets ``awaiting`` to nothing."""

    def name(self) -> str:
        return "action_record_feedback"

    def run(self, dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        useful = latest_intent(tracker) in USEFUL_INTENTS
        shown = slot_list(tracker, s.LAST_STRATEGIES)
        if shown:
            comment = tracker.latest_message.get("text")
            self.records.record_feedback(tracker.sender_id, shown, useful,
                                         comment=None if (comment or "").startswith("/") else comment)
        if useful:
            dispatcher.utter_message(text="Thanks, I'm glad it helps. Is anything else getting in the way?")
        else:
            dispatcher.utter_message(
                text="Thanks for telling me; that helps improve the advice. Would other options help, "
                     "or is a different barrier the real block?",
                buttons=[render.button("Other options", "ask_more"), render.button("Another barrier", "add_barrier")])
        return [SlotSet(s.AWAITING, s.NOTHING)]
