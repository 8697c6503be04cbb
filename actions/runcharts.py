"""Run charts in the conversation: ask for the measure, draw it, say what the rules find.

Thin: reading, the rules, the picture and the words live in ``qi_coach.runcharts``. The chart
goes out as a custom payload ``{"chart": {...}}`` that each channel shows its own way (an image
in the web chat, a file in Slack, an image attachment in Teams, a link in the terminal), with
the text alternative beside it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import render
from actions import slots as s
from actions.base import CoachAction, entity_values, latest_intent
from qi_coach.channels.charts import chart_payload
from qi_coach.runcharts.drawing import RunCharts
from qi_coach.runcharts.measure import MeasureError, read_measure

ASK = ("Send me your measure's numbers in time order, oldest first, and I'll draw a run chart and apply the "
       "run-chart rules. For example:\n\"weekly falls: 12 15 11 9 14 10 13 8 7 9 6 5\"\n"
       "Add the changes you made if you like (\"changes after point 8\"). On the web page you can also upload a "
       "CSV file with the *Add data* button.")
ASK_AGAIN = "Send the numbers when you have them, or say \"not now\"."


class ActionAskMeasure(CoachAction):
    """``run_chart_form``'s question: the numbers, and how to send them."""

    def name(self) -> str:
        return "action_ask_measure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        again = latest_intent(tracker) != "run_chart"  # the answer could not be read, and was said why
        dispatcher.utter_message(text=ASK_AGAIN if again else ASK, buttons=[render.button("Not now", "cancel")])
        return []


class ValidateRunChartForm(FormValidationAction):
    """Whatever is sent while the numbers are asked for is read as a measure; what cannot be is
    asked again, saying what was wrong and what to send."""

    def name(self) -> str:
        return "validate_run_chart_form"

    def validate_measure(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: dict) -> dict[str, Any]:
        try:
            read_measure(str(value or ""))
        except MeasureError as error:
            dispatcher.utter_message(text=str(error))
            return {s.MEASURE: None}
        return {s.MEASURE: str(value)}


class ActionDrawRunChart(CoachAction):
    """Draw the run chart of the measure in this message (or ``run_chart_form``'s answer, or the
    file uploaded on the web page, ``run_chart`` entity) and say what the rules find."""

    def __init__(self, *args: Any, charts: RunCharts | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.charts = charts or RunCharts(self.records)

    def name(self) -> str:
        return "action_draw_run_chart"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        uploaded = entity_values(tracker, "run_chart")
        text = tracker.get_slot(s.MEASURE) or tracker.latest_message.get("text")
        reset: list[EventType] = [SlotSet(s.MEASURE, None), SlotSet(s.AWAITING, s.NOTHING)]
        try:
            drawn = self.charts.draw(tracker.sender_id, text=None if uploaded else text,
                                     token=uploaded[0] if uploaded else None)
        except MeasureError as error:
            dispatcher.utter_message(text=str(error), buttons=[render.button("How do I send my data?", "run_chart")])
            return reset
        dispatcher.utter_message(json_message=chart_payload(drawn.token, drawn.title, drawn.alt))
        dispatcher.utter_message(text=drawn.reply)
        dispatcher.utter_message(text="Add more points any time and I'll redraw it.",
                                 buttons=[render.button("What is a run chart?", "ask_tool", qi_tool="run_chart"),
                                          render.button("Work out why the project is stuck", "start_triage")])
        return reset


class ActionLeaveRunChart(CoachAction):
    """"Not now" or "cancel" while the numbers are asked for."""

    def name(self) -> str:
        return "action_leave_run_chart"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="No problem. Send me the numbers whenever you have them.")
        return [ActiveLoop(None), SlotSet(s.MEASURE, None), SlotSet("requested_slot", None)]
