"""QI tools: explain one at any point, then pick the conversation up where it was."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.base import CoachAction, entity_values
from actions.resume import resume
from knowledge import StoreError

SOME_TOOLS = "PDSA cycles, driver diagrams, stakeholder analysis, process mapping or run charts"


class ActionExplainTool(CoachAction):
    """Explain the QI tool named by the ``qi_tool`` entity, or found in the text."""

    def name(self) -> str:
        return "action_explain_tool"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        named = entity_values(tracker, "qi_tool")
        tool = None
        if named:
            try:
                tool = self.store.get_tool(named[0])
            except StoreError:
                tool = None
        if tool is None:
            lookup = self.store.find_tool(tracker.latest_message.get("text") or "")
            if lookup.ambiguous:
                dispatcher.utter_message(text="Which tool did you mean?", buttons=[
                    render.button(m.name, "ask_tool", qi_tool=m.id) for m in lookup.matches[:4]])
                return []
            if lookup.best is not None:
                tool = self.store.get_tool(lookup.best.id)
        if tool is None:
            dispatcher.utter_message(text=f"I don't have that tool in my library. I can explain tools such as "
                                          f"{SOME_TOOLS}: just ask \"what is a driver diagram?\"")
        else:
            drawable = tool.id == render.RUN_CHART_TOOL and not tracker.active_loop_name
            dispatcher.utter_message(text=render.tool_card(tool),
                                     buttons=[render.draw_chart_button("Draw one from my numbers")] if drawable else [])
        resume(dispatcher, tracker, self.store)
        return []
