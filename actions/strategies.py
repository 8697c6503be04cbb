"""Strategies: suggest the ones that fit, explain one, and remember what was tried."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions import slots as s
from actions.base import CoachAction, entity_values, said_so_far, slot_list
from actions.resume import resume
from knowledge import StoreError
from qi_coach import readings
from qi_coach.coaching.said import first_mentions, heard

PER_REPLY = 3


class ActionSuggestStrategies(CoachAction):
    """Suggest the top strategies for the confirmed barriers, each weighed as it was confirmed
    and matched to what the person said in this conversation (``knowledge.ranking`` has the
    policy: situations, the user's levels first, topped up from the others), leaving out what
    was tried and, for "other options", what was shown. Reads ``barriers_confirmed``,
    ``levels``, ``tried_strategies``, ``shown_strategies`` and the user's messages; sets
    ``shown_strategies``, ``last_strategies`` and ``awaiting``."""

    def name(self) -> str:
        return "action_suggest_strategies"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        confirmed = readings.read_all(tracker.get_slot(s.BARRIERS_CONFIRMED))
        if not confirmed:
            dispatcher.utter_message(response="utter_ask_describe")
            return [SlotSet(s.AWAITING, s.NOTHING)]
        shown = slot_list(tracker, s.SHOWN_STRATEGIES)
        exclude = set(slot_list(tracker, s.TRIED_STRATEGIES)) | set(shown)
        weights = readings.weights(confirmed)
        recs = self.store.recommend(weights, levels=readings.levels(slot_list(tracker, s.LEVELS)),
                                    exclude=exclude, limit=PER_REPLY, top_up=True, said=heard(said_so_far(tracker)),
                                    reports=self.followups.reports(weights))

        names = [self.store.get_barrier(b.id).in_short for b in confirmed]
        if not recs:
            dispatcher.utter_message(
                text=f"I've no new strategies left for {render.join_words(names)}. "
                     "Would it help to look at another barrier?",
                buttons=[render.button("Another barrier", "add_barrier")])
            return [SlotSet(s.AWAITING, s.NOTHING)]

        opening = "Here are more options" if shown else "Here are strategies that fit"
        dispatcher.utter_message(text=f"{opening} for **{render.join_words(names)}**:")
        reasons = first_mentions(rec.because_you_said for rec in recs)
        for i, (rec, reason) in enumerate(zip(recs, reasons, strict=True), 1):
            dispatcher.utter_message(text=render.strategy_card(i, rec, quote=reason is not None))
        first = recs[0]
        buttons = [render.button(f"More on {i}", "strategy_details", strategy=r.strategy_id)
                   for i, r in enumerate(recs, 1)]
        if first.tools:
            buttons.append(render.button(f"How to use: {first.tools[0].name}", "ask_tool",
                                         qi_tool=first.tools[0].id))
        if any(t.id == render.RUN_CHART_TOOL for r in recs for t in r.tools):
            buttons.append(render.draw_chart_button())
        buttons += [render.button("I'll try some of these", "commit_strategies"),
                    render.button("Other options", "ask_more"), render.button("Another barrier", "add_barrier")]
        dispatcher.utter_message(text="What would help next?", buttons=buttons)
        dispatcher.utter_message(text="Was this useful?", buttons=[
            render.button("Yes, useful", "feedback_useful"), render.button("Not really", "feedback_not_useful")])
        ids = [r.strategy_id for r in recs]
        options = [render.commit_option(r) for r in recs]
        self.records.record_suggestions(tracker.sender_id, [(o["id"], o["barrier"]) for o in options])
        return [SlotSet(s.SHOWN_STRATEGIES, shown + ids), SlotSet(s.LAST_STRATEGIES, ids),
                SlotSet(s.COMMIT_OPTIONS, options), SlotSet(s.AWAITING, s.FEEDBACK)]


ORDINALS = {"first": 0, "1": 0, "one": 0, "top": 0, "1st": 0, "second": 1, "2": 1, "two": 1, "2nd": 1,
            "third": 2, "3": 2, "three": 2, "3rd": 2, "last": -1}


def ordinal_choice(text: str, shown: list[str]) -> str | None:
    """ "more on the second one" -> the second strategy of the last suggestion."""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in ORDINALS and shown:
            index = ORDINALS[word]
            if -len(shown) <= index < len(shown):
                return shown[index]
    return None


class ActionExplainStrategy(CoachAction):
    """Everything about one strategy (``strategy`` entity, or "the second one" of
    ``last_strategies``): steps, cautions, tools, sources."""

    def name(self) -> str:
        return "action_explain_strategy"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        wanted = entity_values(tracker, "strategy") or [
            c for c in [ordinal_choice(text, slot_list(tracker, s.LAST_STRATEGIES))] if c]
        try:
            info = self.store.get_strategy(wanted[0]) if wanted else None
        except StoreError:
            info = None
        if info is None:
            lookup = self.store.find_strategies(text)
            info = self.store.get_strategy(lookup.best.id) if lookup.best is not None else None
        if info is None:
            dispatcher.utter_message(text="I couldn't tell which strategy you meant. Use the buttons under the "
                                          "suggestions, or ask me about your barrier again.")
            return []
        buttons = [render.button(f"How to use: {t.name}", "ask_tool", qi_tool=t.id) for t in info.tools[:2]]
        if any(t.id == render.RUN_CHART_TOOL for t in info.tools):
            buttons.append(render.draw_chart_button())
        dispatcher.utter_message(text=render.strategy_details(info), buttons=buttons)
        resume(dispatcher, tracker, self.store)
        return []


class ActionRecordTried(CoachAction):
    """Remember a strategy the user already tried ("we tried protected time") so it is never
    suggested again. Sets ``tried_strategies``."""

    def name(self) -> str:
        return "action_record_tried"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        tried = slot_list(tracker, s.TRIED_STRATEGIES)
        named = entity_values(tracker, "strategy")
        lookup = self.store.find_strategies(tracker.latest_message.get("text") or "")
        new = named or ([lookup.best.id] if lookup.best is not None else [])
        if not new:
            dispatcher.utter_message(
                text="Thanks for telling me. I couldn't match that to one of my strategies, so I can't leave it "
                     "out automatically. If you name it in a few words (say \"protected time\" or \"champions\"), "
                     "I will.")
            resume(dispatcher, tracker, self.store)
            return []
        titles = [self.store.get_strategy(sid).title for sid in new]
        text = f"Thanks, that helps. I'll leave out \"{render.join_words(titles)}\" from now on."
        buttons = []
        if slot_list(tracker, s.BARRIERS_CONFIRMED):
            text += " Would you like other options?"
            buttons = [render.button("Other options", "ask_more")]
        dispatcher.utter_message(text=text, buttons=buttons)
        resume(dispatcher, tracker, self.store)
        return [SlotSet(s.TRIED_STRATEGIES, list(dict.fromkeys(tried + new)))]
