"""The follow-up intents on phrasings written apart from the training data (none of these is in
``data/nlu/followup.yml``), through the shipped model as the bot runs it.

Where a question is asked (which strategies, when, how it went), the forms read any answer, so
these intents matter most where nothing is asked: "I'll try 1 and 3" after the strategies,
"remind me later" or "stop reminding me" in the middle of a check-in (which, if missed, is read
as an answer and asked again, not acted on).
"""

from __future__ import annotations

import pytest

from tests.nlu.intents import shipped_intents

HELD_OUT = {
    "commit_strategies": ["ok we'll have a go at the first two", "I think we could manage number three",
                          "let's try the huddle one", "we're going to do option 1",
                          "happy to give all of those a try", "I'll take the second suggestion to my team",
                          "we'll try 2 and 3", "the first one sounds doable, we'll try it",
                          "sign me up for the third one", "I'll give it a go"],
    "stop_checkins": ["please stop checking in on me", "I don't want reminders anymore", "no more follow-ups please",
                      "can you turn the check-ins off", "stop messaging me about the project",
                      "I'd rather not get any reminders", "cancel all reminders",
                      "the project is over, no need to check in"],
    "remind_later": ["can we do this later", "I'm on shift, ask me tomorrow", "bit busy right now",
                     "try me again next week", "could you remind me on Friday", "not a good moment", "maybe later",
                     "ask me another day"],
}
#: The share of held-out phrasings each intent must be read as. Measured (commit, stop, remind
#: later): 1.00, 0.88 and 1.00; 0.80, 0.88 and 0.50 before a second round of training examples.
#: The same author wrote both, so these flatter the model; the forms read any answer regardless.
FLOOR = 0.75


@pytest.fixture(scope="module")
def intents() -> dict[str, str]:
    return shipped_intents([t for phrases in HELD_OUT.values() for t in phrases])


@pytest.mark.model
@pytest.mark.parametrize("intent", sorted(HELD_OUT))
def test_held_out_phrasings_are_read_as_their_intent(intents, intent):
    phrases = HELD_OUT[intent]
    missed = {t: intents[t] for t in phrases if intents[t] != intent}
    assert (len(phrases) - len(missed)) / len(phrases) >= FLOOR, missed
