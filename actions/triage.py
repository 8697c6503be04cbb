"""The guided triage: a form that walks a stuck project through six questions, then a
prioritised list of barriers to confirm, then the action plan.

The form (``triage_form`` in domain.yml) asks for its slots in order; this module validates
each answer (re-prompting when it does not fit), handles the detours (skip, back, cancel) and
makes the plan. Reading the answers, scoring and choosing the plan's content live in
``qi_coach.coaching``; this module only calls them and words replies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions import slots as s
from actions.base import CoachAction, entity_values, latest_intent, said_so_far, slot_list
from knowledge import KnowledgeStore
from knowledge.schema import BARRIER_IDS
from qi_coach import readings
from qi_coach.coaching import said
from qi_coach.coaching.plan import MAX_BARRIERS, build_plan, plan_markdown
from qi_coach.coaching.triage import UNNAMED_TRIED, prioritise, read_duration, read_levels, read_stage, read_tried
from qi_coach.limits import MESSAGE_CHARS
from qi_coach.readings import BarrierReading, Origin

SKIPPED = "skipped"
SHOWN_PRIORITIES = 5
#: The plan offers the stalled-project review (actions/stall_review.py) as its next step.
REVIEW_OFFER = "Why did it stall? Review each level"
BUTTON_DURATIONS = ("a few weeks", "1 to 3 months", "3 to 6 months", "over 6 months")  # domain.yml buttons


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, str) else ""


def _with_answer(tracker: Tracker, text: str) -> list[dict]:
    """The "what is getting in the way?" answers so far, plus this one and its barrier readings."""
    heard = readings.as_dicts(readings.from_parse(tracker.latest_message))
    return slot_list(tracker, s.TRIAGE_ANSWERS) + [{"text": text[:MESSAGE_CHARS], "barriers": heard}]


#: What the form says when an answer does not fit, before it asks the same question again.
ASK_AGAIN = {
    s.TRIAGE_AIM: "Could you say a little more, in a short sentence? For example: "
                  "\"get every patient's falls risk assessed within 24 hours\".",
    s.TRIAGE_STAGE: "I didn't catch the stage. Is it planning, testing changes, spreading or sustaining? "
                    "The buttons below work too.",
    s.TRIAGE_LEVELS: "Who is taking part: front-line staff (nurses, doctors, therapists...), middle managers "
                     "(ward or service managers, matrons...), or senior leaders and the board? Pick a button or "
                     "name the roles.",
    s.TRIAGE_STUCK_FOR: "Roughly how long has it been stuck, for example \"about two months\"? A rough idea is fine.",
    s.TRIAGE_TRIED: "What have you tried so far? \"Nothing yet\" is fine too.",
}


def _accept_or_ask(slot: str, answer: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The answer when it was read; else say what is wanted (``ASK_AGAIN``) and leave the slot
    empty, so the form asks the question again."""
    if answer:
        return {slot: answer}
    dispatcher.utter_message(text=ASK_AGAIN[slot])
    return {slot: None}


def _answer(check: Callable) -> Callable:
    """Mark a triage validator. A slot an action reset to None (start, back, cancel) has no
    answer to check, so it gets no re-prompt; anything else goes to the check."""

    @functools.wraps(check)
    def validate(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if value is None:
            return {check.__name__.removeprefix("validate_"): None}
        said.prefetch([tracker.latest_message.get("text") or ""])  # the plan ranks with it
        return check(self, value, dispatcher, tracker, domain)

    return validate


class ValidateTriageForm(FormValidationAction):
    """Checks each triage answer; an answer that does not fit is refused with a clear re-prompt."""

    def name(self) -> str:
        return "validate_triage_form"

    @_answer
    def validate_triage_aim(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: dict) -> dict[str, Any]:
        aim = _text(value)
        fits = aim == SKIPPED or len(aim.split()) >= 3
        return _accept_or_ask(s.TRIAGE_AIM, aim[:MESSAGE_CHARS] if fits else None, dispatcher)

    @_answer
    def validate_triage_stage(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict) -> dict[str, Any]:
        stage = SKIPPED if _text(value) == SKIPPED else read_stage(_text(value))
        return _accept_or_ask(s.TRIAGE_STAGE, stage, dispatcher)

    @_answer
    def validate_triage_levels(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: dict) -> dict[str, Any]:
        if isinstance(value, list):  # already read (a skip sets [])
            return {s.TRIAGE_LEVELS: [v for v in value if isinstance(v, str)]}
        levels = read_levels(_text(value), tracker.latest_message.get(readings.LEVELS) or [])
        return _accept_or_ask(s.TRIAGE_LEVELS, levels, dispatcher)

    @_answer
    def validate_triage_stuck_for(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        text = _text(value)
        duration = text if text in (SKIPPED, *BUTTON_DURATIONS) else read_duration(text)
        return _accept_or_ask(s.TRIAGE_STUCK_FOR, duration, dispatcher)

    @_answer
    def validate_triage_tried(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict) -> dict[str, Any]:
        text = _text(value)
        tried = SKIPPED if text == SKIPPED else read_tried(text)
        return _accept_or_ask(s.TRIAGE_TRIED, tried, dispatcher)

    @_answer
    def validate_triage_obstacle(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: dict) -> dict[str, Any]:
        text = _text(value)
        if not text or text == SKIPPED:
            dispatcher.utter_message(text="I need at least one thing that's getting in the way to make a plan. "
                                          "Describe it in a sentence, or say \"cancel\" to stop.")
            return {s.TRIAGE_OBSTACLE: None}
        answers = _with_answer(tracker, text)
        return {s.TRIAGE_OBSTACLE: text[:MESSAGE_CHARS], s.TRIAGE_ANSWERS: answers}

    @_answer
    def validate_triage_more(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> dict[str, Any]:
        text = _text(value)
        intent = latest_intent(tracker)
        if value is True or text in ("done", SKIPPED):
            return {s.TRIAGE_MORE: True}
        # A "no" or "yes" that also names a barrier ("no, apart from nobody senior backing it") keeps
        # its intent when the barrier classifier is not sure enough to override it; what the
        # classifier did hear is kept as an answer, not dropped with the "no".
        heard = bool(readings.from_parse(tracker.latest_message))
        if intent in ("deny", "thank", "goodbye"):
            return {s.TRIAGE_MORE: True, **({s.TRIAGE_ANSWERS: _with_answer(tracker, text)} if heard else {})}
        if intent == "affirm" and not heard:
            dispatcher.utter_message(text="Go on: what else is getting in the way?")
            return {s.TRIAGE_MORE: None}
        answers = _with_answer(tracker, text)
        return {s.TRIAGE_MORE: None, s.TRIAGE_ANSWERS: answers}


class ActionTriageStart(CoachAction):
    """Start (or restart) the triage from a clean slate."""

    def name(self) -> str:
        return "action_triage_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_triage_intro")
        return clear_triage()


class ActionTriageSkip(CoachAction):
    """Skip the question being asked (the plan is made without that answer)."""

    def name(self) -> str:
        return "action_triage_skip"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        asked = tracker.get_slot("requested_slot")
        if asked == s.TRIAGE_OBSTACLE:
            dispatcher.utter_message(text="This one I need: it's what the plan is built on.")
            return []
        if asked not in s.TRIAGE_QUESTIONS:
            return []
        value: Any = [] if asked == s.TRIAGE_LEVELS else (True if asked == s.TRIAGE_MORE else SKIPPED)
        dispatcher.utter_message(text="Skipped.")
        return [SlotSet(asked, value)]


class ActionTriageBack(CoachAction):
    """Go back to the previous question (its answer is cleared and asked again)."""

    def name(self) -> str:
        return "action_triage_back"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        asked = tracker.get_slot("requested_slot")
        if asked not in s.TRIAGE_QUESTIONS or s.TRIAGE_QUESTIONS.index(asked) == 0:
            dispatcher.utter_message(text="This is the first question.")
            return []
        previous = s.TRIAGE_QUESTIONS[s.TRIAGE_QUESTIONS.index(asked) - 1]
        events: list[EventType] = [SlotSet(previous, None), SlotSet(asked, None)]
        if previous == s.TRIAGE_OBSTACLE:  # answering that again replaces what was said
            events.append(SlotSet(s.TRIAGE_ANSWERS, []))
        dispatcher.utter_message(text="OK, back one question.")
        return events


class ActionTriageCancel(CoachAction):
    """Stop the triage; nothing half-done is kept."""

    def name(self) -> str:
        return "action_triage_cancel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="I've stopped the triage and kept none of it. Whenever you like, tell me "
                                      "what's getting in the way, or start again.",
                                 buttons=[render.button("Start the triage again", "start_triage")])
        return [ActiveLoop(None), SlotSet("requested_slot", None), *clear_triage()]


def clear_triage() -> list[EventType]:
    return [SlotSet(slot, None) for slot in s.TRIAGE_QUESTIONS] + [
        SlotSet(s.TRIAGE_ANSWERS, []), SlotSet(s.TRIAGE_PRIORITIES, []), SlotSet(s.AWAITING, s.NOTHING)]


def _levels(tracker: Tracker) -> list[str]:
    return [v for v in slot_list(tracker, s.TRIAGE_LEVELS) if isinstance(v, str)]


def _stage(tracker: Tracker) -> str | None:
    stage = tracker.get_slot(s.TRIAGE_STAGE)
    return stage if stage and stage != SKIPPED else None


def show_priorities(dispatcher: CollectingDispatcher, store: KnowledgeStore, priorities: list[dict]) -> None:
    names = {b.id: b.name for b in store.barriers()}
    listed = "\n".join(f"{i}. **{names[p['id']]}**" + (" (you mentioned it more than once)" if p.get("mentions", 1) > 1
                                                       else "")
                       for i, p in enumerate(priorities[:SHOWN_PRIORITIES], 1))
    covered = {1: "it", 2: "both", 3: "all three"}.get(len(priorities), "the top three")
    dispatcher.utter_message(text=f"Here is what I heard, most pressing first:\n{listed}")
    dispatcher.utter_message(text=f"The plan will cover {covered}. Is this the right order?",
                             buttons=[render.button("Yes, make my plan", "affirm"),
                                      render.button("Change the order", "deny")])


class ActionTriagePrioritise(CoachAction):
    """After the last question: combine the answers into a prioritised list, for confirmation."""

    def name(self) -> str:
        return "action_triage_prioritise"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        answers = slot_list(tracker, s.TRIAGE_ANSWERS)
        heard = [readings.read_all(a.get("barriers")) for a in answers if isinstance(a, dict)]
        ranked = prioritise(heard, self.store.barriers(), stage=_stage(tracker), levels=_levels(tracker))
        # each priority is the triage's reading of the barrier, with what ranked it
        priorities = [{**p.reading.as_dict(), "score": p.score, "mentions": p.mentions} for p in ranked]
        if not priorities:
            dispatcher.utter_message(text="Thank you. I couldn't tell from that which kind of barrier is in the way, "
                                          "so pick the one that fits best and I'll build the plan around it.")
            offer_barriers(dispatcher, self.store, "prioritise_barrier")
            return [SlotSet(s.TRIAGE_PRIORITIES, []), SlotSet(s.AWAITING, s.TRIAGE_CORRECTION)]
        show_priorities(dispatcher, self.store, priorities)
        return [SlotSet(s.TRIAGE_PRIORITIES, priorities), SlotSet(s.AWAITING, s.TRIAGE_CONFIRMATION)]


def offer_barriers(dispatcher: CollectingDispatcher, store: KnowledgeStore, intent: str,
                   first: Sequence[str] = ()) -> None:
    order = list(first) + [b for b in BARRIER_IDS if b not in first]
    names = {b.id: b.name for b in store.barriers()}
    dispatcher.utter_message(text="Which barrier matters most?",
                             buttons=[render.button(names[b], intent, barrier=b) for b in order])


class ActionTriageReprioritise(CoachAction):
    """The user corrects the order: asked which matters most, or told (a button) and re-shown."""

    def name(self) -> str:
        return "action_triage_reprioritise"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        priorities = [p for p in slot_list(tracker, s.TRIAGE_PRIORITIES) if readings.read(p, Origin.TRIAGE)]
        chosen = readings.read_all(entity_values(tracker, "barrier"), Origin.USER)
        if latest_intent(tracker) != "prioritise_barrier" or not chosen:
            offer_barriers(dispatcher, self.store, "prioritise_barrier", [p.get("id") for p in priorities])
            return [SlotSet(s.AWAITING, s.TRIAGE_CORRECTION)]
        pick = chosen[0]
        moved = [p for p in priorities if p.get("id") == pick.id] or [{**pick.as_dict(), "score": None, "mentions": 0}]
        priorities = moved + [p for p in priorities if p.get("id") != pick.id]
        show_priorities(dispatcher, self.store, priorities)
        return [SlotSet(s.TRIAGE_PRIORITIES, priorities), SlotSet(s.AWAITING, s.TRIAGE_CONFIRMATION)]


class ActionMakePlan(CoachAction):
    """Make, keep and show the action plan for the confirmed priorities."""

    def name(self) -> str:
        return "action_make_plan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        priorities = readings.read_all(tracker.get_slot(s.TRIAGE_PRIORITIES), Origin.TRIAGE)
        if not priorities:
            dispatcher.utter_message(response="utter_ask_describe")
            return [SlotSet(s.AWAITING, s.NOTHING)]
        tried_text = tracker.get_slot(s.TRIAGE_TRIED)
        tried_ids = list(slot_list(tracker, s.TRIED_STRATEGIES))
        if tried_text and tried_text not in (SKIPPED, *UNNAMED_TRIED):
            lookup = self.store.find_strategies(tried_text)
            tried_ids += [m.id for m in lookup.matches[:3]] if lookup.found else []
        aim, stuck = tracker.get_slot(s.TRIAGE_AIM), tracker.get_slot(s.TRIAGE_STUCK_FOR)
        plan = build_plan(self.store, priorities, levels=_levels(tracker), stage=_stage(tracker),
                          aim=None if aim == SKIPPED else aim, stuck_for=None if stuck == SKIPPED else stuck,
                          tried_text=None if tried_text == SKIPPED else tried_text, tried_ids=tried_ids,
                          said=said.heard(said_so_far(tracker)),
                          reports=self.followups.reports(r.id for r in priorities))
        markdown = plan_markdown(plan)
        self.records.save_plan(tracker.sender_id, plan, markdown)
        top: list[BarrierReading] = priorities[:MAX_BARRIERS]
        self.records.confirm_barriers(tracker.sender_id, top, _levels(tracker))  # the user confirmed these
        dispatcher.utter_message(text=markdown)
        dispatcher.utter_message(text="I've kept this plan: say \"show my plan\" any time to see it again"
                                      " (on the web page you can also download it). Tell me which strategies you'll "
                                      "try, and I'll check in later to see how they went.",
                                 buttons=[render.button("Choose what to try", "commit_strategies"),
                                          render.button("Show my plan", "show_plan"),
                                          render.button(REVIEW_OFFER, "review_stall")])
        options = [{"id": item["id"], "title": item["title"], "barrier": section["barrier"]}
                   for section in plan["barriers"] for item in section["strategies"]]
        self.records.record_suggestions(tracker.sender_id, [(o["id"], o["barrier"]) for o in options])
        return [SlotSet(s.AWAITING, s.NOTHING), SlotSet(s.BARRIERS_CONFIRMED, readings.as_dicts(top)),
                SlotSet(s.COMMIT_OPTIONS, options)]


class ActionShowPlan(CoachAction):
    """Bring back the latest plan of this conversation (it is kept in the database)."""

    def name(self) -> str:
        return "action_show_plan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        saved = self.records.latest_plan(tracker.sender_id)
        if saved is None:
            dispatcher.utter_message(text="You don't have a plan yet. The guided triage makes one in six questions.",
                                     buttons=[render.button("Help me work out why my project is stuck",
                                                            "start_triage")])
            return []
        dispatcher.utter_message(text=saved.markdown)
        return []
