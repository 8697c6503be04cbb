"""Tool questions at any point, and input the coach cannot read."""

from __future__ import annotations

import pytest

from actions.tools import ActionExplainTool
from actions.unreadable import ActionHandleUnreadable
from tests.actions.conftest import entity, run_action


def test_a_tool_named_by_entity_is_explained_with_steps_and_sources(store):
    out = run_action(ActionExplainTool(store), text="what is a driver diagram?", intent="ask_tool",
                     entities=[entity("qi_tool", "driver_diagram")])
    tool = store.get_tool("driver_diagram")
    assert out.text.startswith(f"**{tool.name}**")
    assert all(step in out.text for step in tool.how_to_use)
    assert "*Sources:*" in out.text


def test_a_tool_is_found_from_the_words_when_no_entity_matched(store):
    out = run_action(ActionExplainTool(store), text="how do I do bulet proofing", intent="ask_tool")
    assert out.text.startswith("**Bullet proofing**")


def test_an_unknown_tool_is_said_plainly(store):
    out = run_action(ActionExplainTool(store), text="what is a flux capacitor", intent="ask_tool")
    assert "I don't have that tool in my library" in out.text


def test_the_open_question_is_asked_again_after_a_tool_answer(store):
    slots = {"awaiting": "barrier_confirmation",
             "barriers_proposed": [{"id": "time_pressure", "confidence": 0.9}]}
    out = run_action(ActionExplainTool(store), text="what's a PDSA?", intent="ask_tool",
                     entities=[entity("qi_tool", "pdsa_cycle")], slots=slots)
    assert out.texts[-1].startswith("Back to your project.")
    assert store.get_barrier("time_pressure").in_short in out.texts[-1]
    assert out.messages[-1]["buttons"][0]["payload"] == "/affirm"


@pytest.mark.parametrize("quality, expected", [
    ("empty", "didn't get any text"), ("no_words", "emoji"), ("not_english", "only help in English"),
])
def test_unreadable_input_gets_a_useful_reply(store, quality, expected):
    out = run_action(ActionHandleUnreadable(store), intent="unreadable_input", parse={"input_quality": quality})
    assert expected in out.text


def test_no_reply_has_a_blank_line_that_a_channel_would_split_into_bubbles(store):
    from actions import render

    texts = [render.tool_card(store.get_tool(t)) for t in ("driver_diagram", "pdsa_cycle", "hfmea")]
    texts += [render.strategy_details(store.get_strategy(s)) for s in ("co_design_with_clinicians", "springboard_team")]
    texts += [render.strategy_card(i, r) for i, r in enumerate(store.recommend({"team_working": 0.9}, limit=None), 1)]
    assert all("\n\n" not in t for t in texts)
