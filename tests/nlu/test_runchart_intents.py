"""Run-chart requests and measures through the shipped model as the bot runs it, on phrasings
written apart from the training data (none is in ``data/nlu/runcharts.yml``).

A list of numbers is ``give_measure`` whatever the classifier thinks (the InputGuard reads the
raw text), so those must be exact. Asking for a chart is a classifier's call; the opposite
mistakes matter too: a question about run charts is ``ask_tool``, and a project that stalled
because nobody can read a run chart is a barrier, not a request to draw one.
"""

from __future__ import annotations

import pytest

from tests.nlu.intents import shipped_intents

ASKS = ["would you be able to chart our pressure ulcer numbers", "I've got a year of monthly data to plot",
        "can you see whether our falls have really gone down if I give you the figures",
        "make me a run chart please", "could I send you my audit results to chart",
        "plot our weekly DNA rates", "can you put my numbers on a graph",
        "I'd like to check my measure for a signal", "can you do me a chart of the last 20 weeks",
        "I want a run chart of time to antibiotics"]
MEASURES = ["falls 3 4 2 5 6 3 4", "12, 14, 9, 11, 13, 10", "ward 7 pressure ulcers: 2 0 1 3 1 0 2",
            "% on time: 61% 64% 70% 72% 69% 75%", "Week 1 12\nWeek 2 15\nWeek 3 11\nWeek 4 9\nWeek 5 14",
            "03/02/2025 12\n10/02/2025 15\n17/02/2025 11\n24/02/2025 9\n03/03/2025 14"]
NOT_ASKS = {"how do I read a run chart": "ask_tool",
            "what's the median line on a run chart for": "ask_tool",
            "nobody on the ward knows how to read a run chart so the data just sits there": "describe_problem",
            "we had 3 meetings in 2 weeks and nothing moved": "describe_problem"}
#: Measured on the model trained with this data: 10 of 10 asks. The same author wrote the training
#: examples and these, so this flatters the model.
FLOOR = 0.8


@pytest.fixture(scope="module")
def intents() -> dict[str, str]:
    return shipped_intents([*ASKS, *MEASURES, *NOT_ASKS])


@pytest.mark.model
def test_asking_for_a_chart_is_read_as_run_chart(intents):
    missed = {t: intents[t] for t in ASKS if intents[t] != "run_chart"}
    assert (len(ASKS) - len(missed)) / len(ASKS) >= FLOOR, missed


@pytest.mark.model
def test_a_list_of_numbers_is_always_a_measure(intents):
    assert {t: intents[t] for t in MEASURES if intents[t] != "give_measure"} == {}


@pytest.mark.model
def test_questions_and_problems_about_run_charts_are_not_requests_to_draw(intents):
    assert {t: intents[t] for t, want in NOT_ASKS.items() if intents[t] != want} == {}
