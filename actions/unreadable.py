"""A polite, useful answer to input the coach cannot read: empty, emoji only, not English."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from actions.base import CoachAction
from qi_coach.nlu.text_checks import EMPTY, NO_WORDS, NOT_ENGLISH
from qi_coach.readings import INPUT_QUALITY

REPLIES = {
    EMPTY: "I didn't get any text there. Tell me what's getting in the way of your project.",
    NO_WORDS: "I can't read emoji or symbols on their own, sorry. Could you describe in a sentence "
                "what's getting in the way of your project?",
    NOT_ENGLISH: "Sorry, I can only help in English for now. Could you describe what's getting in the way "
                   "of your project in English?",
}


class ActionHandleUnreadable(CoachAction):
    """Explain why the message could not be read (``input_quality`` of the latest parse)."""

    def name(self) -> str:
        return "action_handle_unreadable"

    def run(self, dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        quality = tracker.latest_message.get(INPUT_QUALITY)
        dispatcher.utter_message(text=REPLIES.get(quality, REPLIES[EMPTY]))
        return []
