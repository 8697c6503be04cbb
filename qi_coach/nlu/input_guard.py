"""Two components that keep bad input from reaching (or confusing) the models.

``InputNormaliser`` runs first: it drops redaction's placeholders ("[NHS number]"), cleans the
text, cuts very long messages to ``limits.MESSAGE_CHARS``, spells out "IT", keeps only the meant
half of a short correction ("more the IT than the consultants": see ``corrections``) and records
``input_quality`` in the parse result.
``InputGuard`` runs last: when there was nothing it could read (empty, emoji only, not
English) it sets the intent to ``unreadable_input`` and clears barriers, so the dialogue
answers with a helpful message instead of guessing. And a message read as ``cancel`` that tells
of something cancelled, in which the barrier classifier heard a barrier ("the meeting kept
getting cancelled"), is a description, not a request to stop: the words for the two share a
lemma, and stopping a triage or a check-in on a description would lose the person's answers.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from qi_coach import limits
from qi_coach.nlu import corrections, text_checks
from qi_coach.readings import BARRIER_ASSESSMENT, BARRIER_CANDIDATES, BARRIERS, INPUT_QUALITY, Assessment
from qi_coach.redaction import without_placeholders
from qi_coach.runcharts.measure import looks_like_measure

UNREADABLE_INTENT = "unreadable_input"
MEASURE_INTENT = "give_measure"
MEASURE_DATA = "measure_data"  # set by the normaliser: the raw text is a list of numbers
DESCRIPTION_INTENT = "describe_problem"
CANCELLATION = re.compile(r"\b(?:cancell?ed|cancell?ing|called off)\b", re.IGNORECASE)
UNREADABLE = {text_checks.EMPTY, text_checks.NO_WORDS, text_checks.NOT_ENGLISH}
#: What the featurizers see instead of nothing: Rasa's LogisticRegressionClassifier fails on a
#: message with no features at all (an empty or emoji-only text). InputGuard overrides the
#: intent afterwards, so the word itself decides nothing.
PLACEHOLDER = "unreadable"


class _Stateless(GraphComponent):
    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:  # pragma: no cover - abstract
        raise NotImplementedError


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class InputNormaliser(_Stateless):
    """Clean and cut the text before the tokenizer sees it; note what was done."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            raw = without_placeholders(message.get(TEXT) or "")  # a message of placeholders alone is empty
            quality = text_checks.quality(raw)
            message.set(INPUT_QUALITY, quality, add_to_output=True)
            message.set(MEASURE_DATA, looks_like_measure(raw))
            cleaned = limits.truncate(text_checks.spell_out(text_checks.clean(raw)))
            cleaned = corrections.favoured_part(cleaned) or cleaned
            message.set(TEXT, PLACEHOLDER if quality in (text_checks.EMPTY, text_checks.NO_WORDS) else cleaned)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputGuard(_Stateless):
    """Route unreadable input to its own intent (runs after every classifier)."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # training examples are readable by construction

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if _tells_of_a_cancellation(message):
                heard = max(float(b.get("confidence") or 0.0) for b in message.get(BARRIERS))
                described = {"name": DESCRIPTION_INTENT, "confidence": heard}
                message.set(INTENT, described, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [described, *[r for r in message.get(INTENT_RANKING_KEY) or []
                                                              if r.get("name") != DESCRIPTION_INTENT]],
                            add_to_output=True)
            if message.get(MEASURE_DATA):
                measure = {"name": MEASURE_INTENT, "confidence": 1.0}
                message.set(INTENT, measure, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [measure], add_to_output=True)
                message.set(BARRIERS, [], add_to_output=True)
                message.set(BARRIER_CANDIDATES, [], add_to_output=True)
                message.set(BARRIER_ASSESSMENT, Assessment.NONE.value, add_to_output=True)
            elif message.get(INPUT_QUALITY) in UNREADABLE:
                message.set(INTENT, {"name": UNREADABLE_INTENT, "confidence": 1.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [{"name": UNREADABLE_INTENT, "confidence": 1.0}],
                            add_to_output=True)
                message.set(BARRIERS, [], add_to_output=True)
                message.set(BARRIER_CANDIDATES, [], add_to_output=True)
                message.set(BARRIER_ASSESSMENT, Assessment.NONE.value, add_to_output=True)
        return messages


def _tells_of_a_cancellation(message: Message) -> bool:
    """Read as ``cancel``, but telling of something cancelled, with a barrier heard in it."""
    return ((message.get(INTENT) or {}).get("name") == "cancel" and bool(message.get(BARRIERS))
            and bool(CANCELLATION.search(message.get(TEXT) or "")))
