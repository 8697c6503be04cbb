"""Run-chart actions without a model or a server: the numbers in a message, an uploaded file, the
form's answer, and bad input, each giving the chart and the words, or a clear "send this instead"."""

from __future__ import annotations

import json
import uuid

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots as s
from actions.runcharts import ActionAskMeasure, ActionDrawRunChart, ActionLeaveRunChart, ValidateRunChartForm
from actions.strategies import ActionExplainStrategy
from qi_coach.runcharts.drawing import RunCharts
from tests.actions.conftest import entity, run_action

FALLS = "weekly falls: 12 15 11 9 14 10 13 12 8 7 9 6 5 7 8 6 changes after point 8"


@pytest.fixture
def sender() -> str:
    return f"chart-{uuid.uuid4().hex[:8]}"


def draw(store, records, **kwargs):
    return run_action(ActionDrawRunChart(store, records, charts=RunCharts(records)), **kwargs)


def test_numbers_in_the_message_give_the_chart_then_what_the_rules_find(store, records, sender):
    out = draw(store, records, text=FALLS, intent="give_measure", sender=sender)
    chart = out.messages[0]["custom"]["chart"]
    assert chart["url"] == f"charts/{chart['token']}.png" and chart["title"] == "weekly falls"
    assert chart["alt"].startswith("Run chart of weekly falls: 16 points")
    assert "**A shift:**" in out.texts[1] and "evidence the change made a difference" in out.texts[1]
    assert records.run_chart(chart["token"]).conversation_id == sender
    assert out.slot(s.MEASURE) is None and out.slot(s.AWAITING) == s.NOTHING


def test_the_forms_answer_is_drawn(store, records, sender):
    out = draw(store, records, text="ok", slots={s.MEASURE: "12 15 11 9 14 10 13 8 7 9 6 5"}, sender=sender)
    assert "chart" in out.messages[0]["custom"] and "12 points" in out.texts[1]


def test_an_uploaded_file_is_drawn_by_its_token(store, records, sender):
    token, _ = RunCharts(records).upload(sender, "date,value,change\n01/01/2026,5\n08/01/2026,6\n15/01/2026,4\n"
                                                 "22/01/2026,7\n29/01/2026,5\n05/02/2026,6\n12/02/2026,8,new sheet\n"
                                                 "19/02/2026,9\n26/02/2026,8\n05/03/2026,9\n")
    out = draw(store, records, text="/give_measure" + json.dumps({"run_chart": token}), intent="give_measure",
               entities=[entity("run_chart", token)], sender=sender)
    assert out.messages[0]["custom"]["chart"]["token"] == token
    assert records.run_chart(token).png is not None


@pytest.mark.parametrize("text, said", [
    ("can you plot my data", "number"),
    ("42", "at least"),
    ("1 2 " * 600, "500"),
])
def test_what_cannot_be_drawn_is_said_and_no_chart_sent(store, records, sender, text, said):
    out = draw(store, records, text=text, sender=sender)
    assert not any(m.get("custom") for m in out.messages)
    assert said in out.text
    assert out.payloads == ["/run_chart"]  # how to send the numbers
    assert records.forget(sender) == 0


def test_someone_elses_upload_is_not_drawn(store, records, sender):
    token, _ = RunCharts(records).upload("another-person", "5 6 4 7 5 6 8 9 8 9")
    out = draw(store, records, text="", entities=[entity("run_chart", token)], sender=sender)
    assert not any(m.get("custom") for m in out.messages) and "upload it again" in out.text


def test_the_form_asks_again_saying_why(store):
    validate = ValidateRunChartForm()
    tracker = Tracker("form", {}, {"text": "x"}, [], False, None, {"name": "run_chart_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert validate.validate_measure("let me find them", dispatcher, tracker, {}) == {s.MEASURE: None}
    assert "number" in dispatcher.messages[0]["text"]
    assert validate.validate_measure("3 4 5", CollectingDispatcher(), tracker, {}) == {s.MEASURE: "3 4 5"}


def test_the_numbers_are_asked_for_with_an_example_then_briefly_after_a_miss(store, records, sender):
    first = run_action(ActionAskMeasure(store, records), text="can you plot my data", intent="run_chart", sender=sender)
    assert "weekly falls: 12 15 11" in first.text and "Add data" in first.text and "/cancel" in first.payloads
    again = run_action(ActionAskMeasure(store, records), text="hang on", intent="nlu_fallback", sender=sender)
    assert again.text == 'Send the numbers when you have them, or say "not now".' and "/cancel" in again.payloads


def test_not_now_leaves_the_form(store, records, sender):
    out = run_action(ActionLeaveRunChart(store, records), text="not now", intent="cancel", sender=sender)
    assert out.slot("requested_slot") is None and "whenever you have them" in out.text


def test_a_strategy_that_uses_a_run_chart_offers_to_draw_one(store, records, sender):
    out = run_action(ActionExplainStrategy(store, records), intent="strategy_details",
                     entities=[entity("strategy", "measurement_help")], sender=sender)
    assert "/run_chart" in out.payloads
