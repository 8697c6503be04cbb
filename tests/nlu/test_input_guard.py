"""``InputGuard``, the last step of the NLU pipeline, on hand-made parse results."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from qi_coach.nlu.input_guard import InputGuard
from qi_coach.readings import BARRIERS


def guarded(text: str, intent: str, barriers: list[dict]) -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.7},
                            "intent_ranking": [{"name": intent, "confidence": 0.7}], BARRIERS: barriers})
    guard = InputGuard.__new__(InputGuard)  # no state: process() needs nothing from the constructor
    return guard.process([message])[0]


HEARD = [{"id": "time_pressure", "confidence": 0.68, "origin": "classifier"}]


@pytest.mark.parametrize("text, barriers, intent", [
    ("the meeting kept getting cancelled", HEARD, "describe_problem"),  # a description: the triage goes on
    ("our clinics were canceled so we couldn't test it", HEARD, "describe_problem"),
    ("cancel", [], "cancel"),  # a request to stop stays one
    ("cancel the triage please", [], "cancel"),
    ("I cancelled it", [], "cancel"),  # nothing heard: not a description of a barrier
])
def test_a_cancellation_told_is_a_description_and_a_request_to_cancel_is_not(text, barriers, intent):
    message = guarded(text, "cancel", barriers)
    assert message.get("intent")["name"] == intent
    if intent == "describe_problem":
        assert message.get("intent")["confidence"] == 0.68
        assert [r["name"] for r in message.get("intent_ranking")] == ["describe_problem", "cancel"]
