"""Follow-up: choosing what to try, when to be asked, and the check-in that asks how it went.

Storing and sending belong to ``qi_coach.followup`` (and the server's check-in route); the plan's
wording to ``qi_coach.coaching.plan``; reading days to ``qi_coach.coaching.when``. These
actions read the person's answers and word the replies.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions import slots as s
from actions.base import CoachAction, entity_values, latest_intent, slot_list
from knowledge import StoreError
from qi_coach import readings
from qi_coach.coaching import plan as plans
from qi_coach.coaching.when import WhenError, default_when, in_days, read_when, spoken, without_days
from qi_coach.followup import CHANNELS, Chosen, FollowUps

ALL = "all"
SNOOZE_DAYS = 3
NUMBER_WORDS = {"first": 1, "one": 1, "1st": 1, "second": 2, "two": 2, "2nd": 2, "third": 3, "three": 3, "3rd": 3,
                "fourth": 4, "four": 4, "4th": 4, "fifth": 5, "five": 5, "5th": 5, "sixth": 6, "six": 6, "6th": 6,
                "seventh": 7, "seven": 7, "eighth": 8, "eight": 8, "ninth": 9, "nine": 9}
WHEN_BUTTONS = ("In 2 weeks", "Next Friday", "In a month")  # each is also a phrase read_when reads
PROGRESS_WORDS = (("not_started", r"\b(not (?:yet )?started|haven'?t (?:started|begun|tried)|didn'?t (?:start|get to|try)"
                                  r"|not yet|no time|never got|not done)\b"),
                  ("partly", r"\b(partly|partially|part|half|some of it|sort of|started|in progress|a bit|bits)\b"),
                  ("done", r"\b(done|did it|finished|completed|all of it|yes|yep|we did)\b"))
HELPED_WORDS = ((5, r"\b(a lot|hugely|massively|really helped|definitely|very much|brilliant)\b"),
                (1, r"\b(not at all|not really|nope|didn'?t help|made no difference|worse)\b|^\W*no\W*$"),
                (3, r"\b(a bit|a little|somewhat|sort of|kind of|slightly|maybe)\b"),
                (4, r"\b(yes|yeah|it helped|helped|quite a lot|good)\b"))
NOTHING_IN_THE_WAY = re.compile(r"^\W*(nothing|none|no|nope|n/?a|not really|nothing really|all good)\W*$", re.I)


def reply_address(tracker: Tracker) -> tuple[str, dict[str, Any]]:
    """The channel the person talks on and where it reaches them (the channel put it in the
    message's metadata as ``reply_to``; ids only, no text)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and not (event.get("metadata") or {}).get("is_external"):
            channel = event.get("input_channel") or "rest"
            reply_to = (event.get("metadata") or {}).get("reply_to")
            return (channel if channel in CHANNELS else "rest"), (reply_to if isinstance(reply_to, dict) else {})
    return "rest", {}


def chosen_numbers(text: str, count: int) -> list[int]:
    """ "I'll try 1 and 3", "the first and the third", "all of them": 0-based indexes, in order
    (a day in the same message, "ask me in 2 weeks", and "one" as in "the second one" are not
    numbers of strategies)."""
    plain = re.sub(r"\b(\w+)\s+ones?\b", lambda m: m.group(1) if m.group(1) != "one" else m.group(0),
                   without_days(text))
    words = re.findall(r"[a-z0-9]+", plain)
    if {"all", "both", "everything", "every"} & set(words):
        return list(range(count))
    picked = [int(w) if w.isdigit() else NUMBER_WORDS[w] for w in words if (w.isdigit() and len(w) < 3)
              or w in NUMBER_WORDS]
    return list(dict.fromkeys(n - 1 for n in picked if 1 <= n <= count))


class ActionCommitStrategies(CoachAction):
    """"I'll try 1 and 3" (or a button): which of the strategies just offered the person will try
    (``commit_options``). Sets ``committed``; with a day in the same message the check-in is kept
    at once, else ``awaiting`` is ``checkin_when`` and ``checkin_day_form`` asks when."""

    def name(self) -> str:
        return "action_commit_strategies"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        options = [o for o in slot_list(tracker, s.COMMIT_OPTIONS) if isinstance(o, dict) and o.get("id")]
        if not options:
            dispatcher.utter_message(text="Once I've suggested some strategies, tell me which you'll try and I'll "
                                          "check in with you later to see how they went.")
            return [SlotSet(s.AWAITING, s.NOTHING)]
        text = tracker.latest_message.get("text") or ""
        named = entity_values(tracker, "strategy")
        if ALL in named:
            chosen = options
        else:
            chosen = [o for o in options if o["id"] in named] or [options[i] for i in chosen_numbers(text, len(options))]
        if not chosen:
            lookup = self.store.find_strategies(text)
            chosen = [o for o in options if lookup.best is not None and o["id"] == lookup.best.id]
        if not chosen:
            buttons = [render.button(f"{i}. {_short(o['title'])}", "commit_strategies", strategy=o["id"])
                       for i, o in enumerate(options, 1)]
            if len(options) > 1:
                buttons.append(render.button("All of them", "commit_strategies", strategy=ALL))
            dispatcher.utter_message(text="Which will you try? Pick one, or tell me, e.g. \"I'll try 1 and 3\".",
                                     buttons=buttons)
            return [SlotSet(s.AWAITING, s.COMMIT_CHOICE)]
        events: list[EventType] = [SlotSet(s.COMMITTED, chosen)]
        try:
            when = read_when(text, self.followups.clock())
        except WhenError:
            when = None
        if when is not None:  # "I'll try 2, ask me next Friday": both in one message
            return events + schedule(self, dispatcher, tracker, chosen, when)
        titles = render.join_words([f"**{o['title']}**" for o in chosen])
        dispatcher.utter_message(text=f"Good choice: {titles}.")
        return events + [SlotSet(s.CHECKIN_DAY, None), SlotSet(s.AWAITING, s.CHECKIN_WHEN)]  # checkin_day_form asks


def schedule(action: CoachAction, dispatcher: CollectingDispatcher, tracker: Tracker, chosen: list[dict],
             when: datetime) -> list[EventType]:
    """Keep the commitments and the check-in, add them to the plan, and say when it will come."""
    channel, reply_to = reply_address(tracker)
    try:
        checkin = action.followups.schedule(
            tracker.sender_id, channel, reply_to, when,
            [Chosen(o["id"], o["title"], o.get("barrier")) for o in chosen])
    except StoreError as error:
        dispatcher.utter_message(text=f"I couldn't keep that: {error}.")
        return [SlotSet(s.AWAITING, s.NOTHING)]
    plans.save_with_commitments(action.records, tracker.sender_id, checkin)
    titles = render.join_words([f"**{o['title']}**" for o in chosen])
    where = {"slack": ", here in Slack", "teams": ", here in Teams",
             "webchat": ". If this page is closed then, the check-in will be waiting when you next open it on this "
                        "device",
             "rest": ""}[channel]
    dispatcher.utter_message(
        text=f"Done: I'll check in on {spoken(when)} to ask how {titles} went{where}. I've added this to your plan. "
             "If it's not a good day when I ask, say \"remind me later\"; say \"stop reminding me\" any time.",
        buttons=[render.button("Show my plan", "show_plan")])
    return [SlotSet(s.AWAITING, s.NOTHING), SlotSet(s.COMMITTED, None)]


LEAVE_IT_TO_ME = re.compile(r"\b(you choose|up to you|whenever|don'?t mind|default|any ?time|you decide|"
                           r"whatever you think|you pick|usual)\b", re.I)


def read_day(text: str, now: datetime) -> datetime | None:
    """The check-in's day from an answer to "when shall I check in?": a day it names, two weeks
    if they leave it to me, else None. ``WhenError`` for a day it will not use."""
    when = read_when(text, now)
    if when is None and LEAVE_IT_TO_ME.search(text):
        return default_when(now)
    return when


class ActionAskCheckinDay(CoachAction):
    """``checkin_day_form``'s question: when to check in, with the usual choices as buttons."""

    def name(self) -> str:
        return "action_ask_checkin_day"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        many = len(slot_list(tracker, s.COMMITTED)) > 1
        dispatcher.utter_message(text=f"When shall I check in on how {'they' if many else 'it'} went? Two weeks is "
                                      "usual; you can also name a day.", buttons=_when_buttons())
        return []


class ValidateCheckinDayForm(FormValidationAction):
    """Whatever the person answers to "when?" is read for a day (a button, "next Friday", "you
    choose"); anything else is asked again, saying why."""

    def __init__(self, followups: FollowUps | None = None):
        self.followups = followups or FollowUps()

    def name(self) -> str:
        return "validate_checkin_day_form"

    def validate_checkin_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> dict[str, Any]:
        if value is None:
            return {s.CHECKIN_DAY: None}
        try:
            when = read_day(str(value), self.followups.clock())
        except WhenError as error:
            dispatcher.utter_message(text=str(error))
            return {s.CHECKIN_DAY: None}
        if when is None:
            dispatcher.utter_message(text="I didn't catch the day. Try \"in two weeks\", \"next Friday\" or "
                                          "\"18 December\".")
            return {s.CHECKIN_DAY: None}
        return {s.CHECKIN_DAY: when.isoformat()}


class ActionScheduleCheckin(CoachAction):
    """Keep the check-in on the day ``checkin_day_form`` read (or, outside it, the day this message
    names: "ask me next Friday")."""

    def name(self) -> str:
        return "action_schedule_checkin"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        chosen = [o for o in slot_list(tracker, s.COMMITTED) if isinstance(o, dict) and o.get("id")]
        if not chosen:
            dispatcher.utter_message(text="Tell me first which strategies you'll try, and then when to check in.")
            return [SlotSet(s.AWAITING, s.NOTHING), SlotSet(s.CHECKIN_DAY, None)]
        day = tracker.get_slot(s.CHECKIN_DAY)
        try:
            when = datetime.fromisoformat(day) if isinstance(day, str) else read_day(
                " ".join(entity_values(tracker, "when")) or tracker.latest_message.get("text") or "",
                self.followups.clock())
        except (ValueError, WhenError):
            when = None
        if when is None:
            dispatcher.utter_message(text="I didn't catch the day. Try \"in two weeks\", \"next Friday\" or "
                                          "\"18 December\".", buttons=_when_buttons())
            return [SlotSet(s.AWAITING, s.NOTHING)]
        return schedule(self, dispatcher, tracker, chosen, when) + [SlotSet(s.CHECKIN_DAY, None)]


def _when_buttons() -> list[dict]:
    return [render.button(label, "schedule_checkin", when=label.lower()) for label in WHEN_BUTTONS]


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


# --- the check-in ------------------------------------------------------------------------------


class ActionCheckinStart(CoachAction):
    """The check-in has come (``EXTERNAL_checkin_due``, sent by the scheduler through the server):
    say why we're here, and set up ``checkin`` for the form that asks about each strategy."""

    def name(self) -> str:
        return "action_checkin_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ids = [v for v in entity_values(tracker, "checkin") if v.isdigit()]
        checkin = self.followups.get(int(ids[0])) if ids else None
        pending = checkin.unreported if checkin else []
        if checkin is None or not pending:
            return [SlotSet(s.CHECKIN, None)]
        titles = render.join_words([f"**{c.title}**" for c in pending])
        dispatcher.utter_message(
            text=f"Hello again! When we last spoke you planned to try {titles}. I'd like to hear how "
                 f"{'they' if len(pending) > 1 else 'it'} went: a few quick questions"
                 f"{' about each' if len(pending) > 1 else ''}. If now's not a good time, say \"remind me later\".")
        state = {"id": checkin.id, "pending": [{"id": c.id, "title": c.title, "barrier": c.barrier_id}
                                               for c in pending], "index": 0, "heard": []}
        return [SlotSet(s.CHECKIN, state), *clear_checkin_answers(), SlotSet(s.AWAITING, s.NOTHING)]


def clear_checkin_answers() -> list[EventType]:
    return [SlotSet(s.CHECKIN_PROGRESS, None), SlotSet(s.CHECKIN_HELPED, None), SlotSet(s.CHECKIN_OBSTACLE, None)]


def _current(tracker: Tracker) -> tuple[dict, dict] | None:
    state = tracker.get_slot(s.CHECKIN)
    if not isinstance(state, dict) or not state.get("pending"):
        return None
    index = min(int(state.get("index") or 0), len(state["pending"]) - 1)
    return state, state["pending"][index]


class ActionAskCheckinProgress(CoachAction):
    def name(self) -> str:
        return "action_ask_checkin_progress"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        current = _current(tracker)
        title = current[1]["title"] if current else "it"
        dispatcher.utter_message(text=f"How did **{title}** go?", buttons=[
            render.button("Done", "inform", checkin_choice="done"),
            render.button("Partly", "inform", checkin_choice="partly"),
            render.button("Not started", "inform", checkin_choice="not_started"),
            render.button("Remind me later", "remind_later")])
        return []


class ActionAskCheckinHelped(CoachAction):
    def name(self) -> str:
        return "action_ask_checkin_helped"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="Did it help? 1 is not at all, 5 is a lot.", buttons=[
            render.button(label, "inform", checkin_choice=str(n))
            for n, label in ((1, "1 not at all"), (2, "2"), (3, "3 somewhat"), (4, "4"), (5, "5 a lot"))])
        return []


class ActionAskCheckinObstacle(CoachAction):
    def name(self) -> str:
        return "action_ask_checkin_obstacle"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        progress = tracker.get_slot(s.CHECKIN_PROGRESS)
        question = ("What got in the way? Tell me in your own words." if progress == "not_started" else
                    "Did anything get in the way? Tell me in your own words.")
        dispatcher.utter_message(text=question, buttons=[render.button("Nothing really", "inform",
                                                                       checkin_choice="nothing")])
        return []


def read_progress(text: str) -> str | None:
    lowered = text.lower().replace("_", " ")
    for value, pattern in PROGRESS_WORDS:
        if re.search(pattern, lowered):
            return value
    return None


def read_helped(text: str) -> int | None:
    digits = re.findall(r"\b([1-5])\b", text)
    if digits:
        return int(digits[0])
    for value, pattern in HELPED_WORDS:
        if re.search(pattern, text.lower()):
            return value
    return None


def wants_out(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """A bare "cancel" or "stop" in the middle of a check-in: say how to leave rather than take
    it as an answer. ("The meeting kept getting cancelled" is an answer, and is kept.)"""
    text = tracker.latest_message.get("text") or ""
    if latest_intent(tracker) == "cancel" and len(text.split()) <= 3:
        dispatcher.utter_message(text="If now's not a good time, say \"remind me later\"; to stop check-ins "
                                      "altogether, say \"stop reminding me\".")
        return True
    return False


class ValidateCheckinForm(FormValidationAction):
    """Reads each answer; after the last question about one strategy its report is kept and the
    form starts again on the next strategy, until none is left."""

    def __init__(self, followups: FollowUps | None = None):
        self.followups = followups or FollowUps()

    def name(self) -> str:
        return "validate_checkin_form"

    def validate_checkin_progress(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        if value is None or wants_out(tracker, dispatcher):
            return {s.CHECKIN_PROGRESS: None}
        progress = read_progress(str(value))
        if progress is None:
            dispatcher.utter_message(text="Sorry, I didn't catch that: was it done, partly done, or not started?")
            return {s.CHECKIN_PROGRESS: None}
        return {s.CHECKIN_PROGRESS: progress, **({s.CHECKIN_HELPED: 0} if progress == "not_started" else {})}

    def validate_checkin_helped(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: dict) -> dict[str, Any]:
        if value is None or value == 0:
            return {s.CHECKIN_HELPED: value}
        if wants_out(tracker, dispatcher):
            return {s.CHECKIN_HELPED: None}
        helped = read_helped(str(value))
        if helped is None:
            dispatcher.utter_message(text="On a scale of 1 (not at all) to 5 (a lot), how much did it help?")
            return {s.CHECKIN_HELPED: None}
        return {s.CHECKIN_HELPED: helped}

    def validate_checkin_obstacle(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        current = _current(tracker)
        if value is None or current is None or wants_out(tracker, dispatcher):
            return {s.CHECKIN_OBSTACLE: None}
        state, commitment = current
        text = " ".join(str(value).split())
        obstacle = None if text == "nothing" or NOTHING_IN_THE_WAY.match(text) else text
        helped = tracker.get_slot(s.CHECKIN_HELPED)
        self.followups.report(int(commitment["id"]), str(tracker.get_slot(s.CHECKIN_PROGRESS)),
                              int(helped) if isinstance(helped, (int, float)) and helped else None, obstacle)
        heard = readings.as_dicts(readings.from_parse(tracker.latest_message)) if obstacle else []
        state = {**state, "heard": list(state.get("heard") or []) + heard}
        if int(state.get("index") or 0) + 1 < len(state["pending"]):
            state["index"] = int(state.get("index") or 0) + 1
            return {s.CHECKIN: state, s.CHECKIN_PROGRESS: None, s.CHECKIN_HELPED: None, s.CHECKIN_OBSTACLE: None}
        return {s.CHECKIN: state, s.CHECKIN_OBSTACLE: obstacle or "nothing"}


class ActionCheckinFinish(CoachAction):
    """Every strategy answered: close the check-in, add it to the plan, and offer help with what
    got in the way (the barrier classifier's reading of their words, to confirm)."""

    def name(self) -> str:
        return "action_checkin_finish"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        state = tracker.get_slot(s.CHECKIN)
        events: list[EventType] = [SlotSet(s.CHECKIN, None), *clear_checkin_answers()]
        if not isinstance(state, dict) or not state.get("id"):
            return events + [SlotSet(s.AWAITING, s.NOTHING)]
        checkin = self.followups.get(int(state["id"]))
        if checkin is None:
            return events + [SlotSet(s.AWAITING, s.NOTHING)]
        self.followups.mark_answered(checkin.id)
        plans.save_with_checkin(self.records, tracker.sender_id, checkin, self.followups.clock())
        dispatcher.utter_message(text="Thank you: I've added how it went to your plan (say \"show my plan\"; on the "
                                      "web page you can download it again). If you have been measuring, send me the "
                                      "numbers and I'll draw a run chart to show whether anything has changed.",
                                 buttons=[render.draw_chart_button("Draw a run chart of my measure")])
        heard = sorted(readings.read_all(state.get("heard")), key=lambda r: -(r.confidence or 0))
        if heard:
            names = [self.store.get_barrier(r.id).in_short for r in heard[:2]]
            dispatcher.utter_message(
                text=f"From what you said, it sounds like **{render.join_words(names)}** is now the block. "
                     "Would you like strategies for that?",
                buttons=[render.button("Yes, please", "affirm"), render.button("No, thanks", "deny")])
            return events + [SlotSet(s.BARRIERS_PROPOSED, readings.as_dicts(heard[:2])),
                             SlotSet(s.AWAITING, s.BARRIER_CONFIRMATION)]
        dispatcher.utter_message(text="Is anything else getting in the way now? Tell me, and we'll look at it.")
        return events + [SlotSet(s.AWAITING, s.NOTHING)]


class ActionStopCheckins(CoachAction):
    """"Stop reminding me": cancel every check-in of this conversation (or, while the day is being
    chosen, the one about to be made)."""

    def name(self) -> str:
        return "action_stop_checkins"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        cancelled = self.followups.cancel(tracker.sender_id)
        if slot_list(tracker, s.COMMITTED) and not cancelled:  # stopped while choosing the day
            dispatcher.utter_message(text="OK: no check-in, then. Your plan is still here whenever you want it "
                                          "(\"show my plan\").")
        elif cancelled:
            dispatcher.utter_message(text="Done: I won't check in again. Your plan is still here whenever you want "
                                          "it (\"show my plan\").")
        else:
            dispatcher.utter_message(text="You have no check-ins coming up, so there's nothing to stop.")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(s.CHECKIN, None), SlotSet(s.COMMITTED, None),
                SlotSet(s.CHECKIN_DAY, None), *clear_checkin_answers(), SlotSet(s.AWAITING, s.NOTHING)]


class ActionRemindLater(CoachAction):
    """"Remind me later" (or "... next week"): ask again then, three days on if no day is named."""

    def name(self) -> str:
        return "action_remind_later"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        state = tracker.get_slot(s.CHECKIN)
        running = int(state["id"]) if isinstance(state, dict) and state.get("id") else None
        upcoming = self.followups.of_conversation(tracker.sender_id)
        target = running or (upcoming[0].id if upcoming else None)
        events: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(s.CHECKIN, None),
                                   *clear_checkin_answers(), SlotSet(s.AWAITING, s.NOTHING)]
        if target is None:
            dispatcher.utter_message(text="You have no check-ins coming up. After I suggest strategies, tell me "
                                          "which you'll try and I'll check in later.")
            return events
        now = self.followups.clock()
        try:
            when = read_when(tracker.latest_message.get("text") or "", now)
        except WhenError as error:
            dispatcher.utter_message(text=f"{error}")
            return events
        when = when or in_days(now, SNOOZE_DAYS)
        self.followups.snooze(target, when)
        dispatcher.utter_message(text=f"No problem: I'll ask again on {spoken(when)}.")
        return events

