"""Hearing the barriers: reflect them back, confirm, clarify, or let the user pick."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions import slots as s
from actions.base import CoachAction, entity_values, latest_intent, slot_list
from knowledge.schema import BARRIER_IDS
from qi_coach import readings
from qi_coach.coaching import said
from qi_coach.nlu.text_checks import TRUNCATED
from qi_coach.readings import Assessment, Origin

# Offered with the three likeliest barriers; a typed answer ("more the IT than the consultants") is read
# again by the classifier, so the person can correct in their own words instead of picking.
CLARIFY = "I want to be sure I've understood. Is it mainly one of these? Or tell me in your own words what's closest."
TRUNCATED_NOTE = "That was a long message, so I've focused on the first part. "
MORE_DETAIL = (
    "I'd like to understand a bit more before suggesting anything. What's getting in the way: "
    "who isn't engaged, what you can't get, or what keeps slowing things down?"
)


class ActionAssessBarriers(CoachAction):
    """Reflect the barriers the NLU heard and ask to confirm; clarify when unsure.

    Reads the latest parse (the keys in ``qi_coach.readings``). Sets ``barriers_proposed``
    (readings), ``levels`` and ``awaiting``.
    """

    def name(self) -> str:
        return "action_assess_barriers"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        parse = tracker.latest_message
        said.prefetch([parse.get("text") or ""])  # ready by the time strategies are asked for
        barriers = readings.from_parse(parse)
        assessment = readings.assessment(parse)
        note = TRUNCATED_NOTE if parse.get(readings.INPUT_QUALITY) == TRUNCATED else ""
        levels = readings.levels(slot_list(tracker, s.LEVELS) + list(parse.get(readings.LEVELS) or []))
        events: list[EventType] = [SlotSet(s.LEVELS, levels)]

        if barriers and assessment is Assessment.CONFIDENT:
            names = [self.store.get_barrier(b.id).in_short for b in barriers]
            dispatcher.utter_message(text=note + render.reflect_barriers(names), buttons=render.confirm_buttons())
            return events + [SlotSet(s.BARRIERS_PROPOSED, readings.as_dicts(barriers)),
                             SlotSet(s.AWAITING, s.BARRIER_CONFIRMATION)]

        if barriers or assessment is Assessment.UNSURE:
            candidates = readings.from_parse(parse, readings.BARRIER_CANDIDATES)
            heard = set(readings.ids(barriers))
            options = (barriers + [c for c in candidates if c.id not in heard])[:3]
            buttons = [render.button(self.store.get_barrier(o.id).name, "choose_barrier", barrier=o.id)
                       for o in options]
            dispatcher.utter_message(
                text=note + CLARIFY,
                buttons=buttons + [render.button("Something else", "deny")],
            )
            return events + [SlotSet(s.BARRIERS_PROPOSED, readings.as_dicts(options)),
                             SlotSet(s.AWAITING, s.CLARIFICATION)]

        dispatcher.utter_message(text=note + MORE_DETAIL)
        return events + [SlotSet(s.AWAITING, s.NOTHING)]


class ActionConfirmBarriers(CoachAction):
    """Record the proposed barriers as confirmed, with the confidence they were heard with.
    Reads ``barriers_proposed``; sets ``barriers_confirmed`` (the same readings) and resets
    ``shown_strategies`` for the new set."""

    def name(self) -> str:
        return "action_confirm_barriers"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        proposed = readings.read_all(tracker.get_slot(s.BARRIERS_PROPOSED))
        self.records.confirm_barriers(tracker.sender_id, proposed, slot_list(tracker, s.LEVELS))
        return [SlotSet(s.BARRIERS_CONFIRMED, readings.as_dicts(proposed)), SlotSet(s.SHOWN_STRATEGIES, [])]


class ActionOfferBarrierChoices(CoachAction):
    """Show every barrier as a button, the likely ones first. Sets ``awaiting`` to
    ``barrier_addition`` when adding to the confirmed set, else ``barrier_choice``."""

    def name(self) -> str:
        return "action_offer_barrier_choices"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        adding = latest_intent(tracker) == "add_barrier" or tracker.get_slot(s.AWAITING) == s.BARRIER_ADDITION
        confirmed = set(readings.ids(readings.read_all(tracker.get_slot(s.BARRIERS_CONFIRMED)))) if adding else set()
        likely = readings.ids(readings.read_all(tracker.get_slot(s.BARRIERS_PROPOSED)))
        order = list(dict.fromkeys(likely + list(BARRIER_IDS)))
        barriers = {b.id: b for b in self.store.barriers()}
        buttons = [render.button(barriers[b].name, "choose_barrier", barrier=b) for b in order if b not in confirmed]
        text = ("Which other barrier should I look at?" if adding else
                "Sorry I didn't get it right. Which of these fits best? Pick the main one; you can add another after.")
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet(s.AWAITING, s.BARRIER_ADDITION if adding else s.BARRIER_CHOICE)]


class ActionChooseBarrier(CoachAction):
    """Take the barrier the user picked (``barrier`` entity). Adds it to
    ``barriers_confirmed`` when adding, else replaces them; records it as a correction."""

    def name(self) -> str:
        return "action_choose_barrier"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        picked = readings.read_all(entity_values(tracker, "barrier"), Origin.USER)
        if not picked:  # strategies for what is already confirmed follow, if anything is
            dispatcher.utter_message(text="I didn't catch which barrier you meant.")
            return []
        adding = tracker.get_slot(s.AWAITING) == s.BARRIER_ADDITION
        previous = readings.read_all(tracker.get_slot(s.BARRIERS_CONFIRMED)) if adding else []
        self.records.confirm_barriers(tracker.sender_id, picked, slot_list(tracker, s.LEVELS))
        return [SlotSet(s.BARRIERS_CONFIRMED, readings.as_dicts(readings.merged(previous, picked))),
                SlotSet(s.SHOWN_STRATEGIES, [])]
