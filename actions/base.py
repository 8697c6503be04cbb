"""What every qi-coach action shares: the knowledge store, user records and follow-ups, injected.

The action server builds actions with no arguments, so the defaults open the configured
database lazily; tests pass their own store. The class is abstract, so the server does not
register it as an action.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from knowledge import KnowledgeStore
from qi_coach.followup import FollowUps
from qi_coach.records import UserRecords


class CoachAction(Action, ABC):
    def __init__(self, store: KnowledgeStore | None = None, records: UserRecords | None = None,
                 followups: FollowUps | None = None):
        self.store = store or KnowledgeStore()
        self.records = records or UserRecords(self.store.engine if store else None)
        self.followups = followups or FollowUps(self.store.engine if store else None)

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]: ...


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Values of one entity type in the latest message, in order, each once."""
    values = [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def slot_list(tracker: Tracker, slot: str) -> list:
    value = tracker.get_slot(slot)
    return list(value) if isinstance(value, list) else []


#: Messages that ask for something rather than say how things are: not matched against situations.
NOT_DESCRIPTIONS = frozenset({
    "greet", "goodbye", "thank", "ask_capabilities", "ask_human", "ask_tool", "ask_more", "feedback_useful",
    "feedback_not_useful", "out_of_scope", "start_triage", "skip_question", "previous_question", "cancel",
    "show_plan", "strategy_details", "unreadable_input", "commit_strategies", "schedule_checkin", "stop_checkins",
    "remind_later", "EXTERNAL_checkin_due", "inform", "review_stall", "run_chart", "give_measure",
})


def said_so_far(tracker: Tracker) -> list[str]:
    """What the person typed in this conversation about their situation, oldest first: the
    ranking matches it against each strategy's situations (``qi_coach.coaching.said`` redacts
    and splits it). Questions, thanks and navigation are left out."""
    return [e["text"] for e in tracker.events
            if e.get("event") == "user" and isinstance(e.get("text"), str) and e["text"].strip()
            and ((e.get("parse_data") or {}).get("intent") or {}).get("name") not in NOT_DESCRIPTIONS]


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the latest user message (button payloads carry no ranking, so
    ``Tracker.get_intent_of_latest_message`` cannot be relied on)."""
    return (tracker.latest_message.get("intent") or {}).get("name")
