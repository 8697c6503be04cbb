"""A polite, useful answer to input the coach cannot read: empty, emoji only, not English."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from actions.base import CoachAction

REPLIES = {
    "empty": "I didn't get any text there. Tell me what's getting in the way of your project.",
    "no_words": "I can't read emoji or symbols on their own, sorry. Could you describe in a sentence "
                "what's getting in the way of your project?",
    "not_english": "Sorry, I can only help in English for now. Could you describe what's getting in the way "
                   "of your project in English?",
}


class ActionHandleUnreadable(CoachAction):
    """Explain why the message could not be read (``input_quality`` of the latest parse)."""

    def name(self) -> str:
        return "action_handle_unreadable"

    def run(self, dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        quality = tracker.latest_message.get("input_quality")
        dispatcher.utter_message(text=REPLIES.get(quality, REPLIES["empty"]))
        return []
