"""Picking the conversation up where it was after a side question ("what is a PDSA?")."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions import slots as s
from knowledge import KnowledgeStore
from qi_coach import readings


def resume(dispatcher: CollectingDispatcher, tracker: Tracker, store: KnowledgeStore) -> None:
    """Repeat the question the user was answering, if one was open."""
    awaiting = tracker.get_slot(s.AWAITING)
    if awaiting == s.BARRIER_CONFIRMATION:
        proposed = readings.read_all(tracker.get_slot(s.BARRIERS_PROPOSED))
        if proposed:
            names = [store.get_barrier(b.id).in_short for b in proposed]
            dispatcher.utter_message(text="Back to your project. " + render.reflect_barriers(names),
                                     buttons=render.confirm_buttons())
    elif awaiting in (s.CLARIFICATION, s.BARRIER_CHOICE, s.BARRIER_ADDITION):
        dispatcher.utter_message(text="Back to your project: pick the barrier that fits best from the options above.")
