"""Asking why a project stalled, through the shipped model as the bot runs it, on phrasings
written apart from the training data (none is in ``data/nlu/review.yml``).

Looking back ("why did it stall?") is ``review_stall``; asking for help with a project stuck now
is the triage, a question about a tool is ``ask_tool``, and describing what went wrong is a
barrier to classify, not a request for the review.
"""

from __future__ import annotations

import pytest

from tests.nlu.intents import shipped_intents

ASKS = ["why did our falls project go nowhere", "what happened to make our last project fail?",
        "help me look back at why the discharge work stalled", "can you review why our project died",
        "I'd like a post-mortem of our improvement project", "why did my QI project stop working",
        "where did we lose people on the project, looking back?", "why do our projects always run out of steam"]
NOT_ASKS = {"my project is stuck, can you walk me through some questions": "start_triage",
            "what is a driver diagram": "ask_tool",
            "the consultants stopped coming to the meetings after the first month": "describe_problem",
            "show my plan": "show_plan"}
#: The same author wrote the training examples and these, so this flatters the model.
FLOOR = 0.75


@pytest.fixture(scope="module")
def intents() -> dict[str, str]:
    return shipped_intents([*ASKS, *NOT_ASKS])


@pytest.mark.model
def test_asking_why_it_stalled_is_read_as_the_review(intents):
    missed = {t: intents[t] for t in ASKS if intents[t] != "review_stall"}
    assert (len(ASKS) - len(missed)) / len(ASKS) >= FLOOR, missed


@pytest.mark.model
def test_near_misses_keep_their_own_intent(intents):
    assert {t: intents[t] for t in NOT_ASKS} == NOT_ASKS
