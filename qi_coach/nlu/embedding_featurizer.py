"""Sentence embeddings as dense features for the classifiers after it.

Wraps :mod:`qi_coach.nlu.sentence_encoder` (all-MiniLM-L6-v2 on NumPy) as a Rasa dense
featurizer. It adds one sentence-level vector per message and no sequence features: the
classifiers in this pipeline (Rasa's LogisticRegressionClassifier and the project's
BarrierClassifier) read sentence features only, and a vector per token would triple the
work for nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from qi_coach.nlu.embedding_cache import EmbeddingCache
from qi_coach.nlu.sentence_encoder import shared_encoder

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """One all-MiniLM-L6-v2 vector per message, scaled by ``weight``."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # weight: how much the embedding counts beside the (L2-normalised) n-gram features;
        # cache_training_embeddings: keep training texts' vectors on disk (embedding_cache.py)
        return {**DenseFeaturizer.get_default_config(), "weight": 1.0, "cache_training_embeddings": True}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        weight = config.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or weight <= 0:
            raise ValueError(f"SentenceEmbeddingFeaturizer: weight must be a positive number, not {weight!r}")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEmbeddingFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.weight = float(self._config["weight"])
        self.encoder = shared_encoder()  # fails at load, loudly, if the model is missing

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        logger.info("Embedding %d training messages", len(examples))
        texts = [m.get(TEXT) for m in examples]
        if self._config["cache_training_embeddings"]:
            vectors = EmbeddingCache().encode(self.encoder, texts, _progress_log())
        else:
            vectors = self.encoder.encode(texts, _progress_log())
        self._add(examples, vectors)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        # what users type is embedded in memory only, never cached
        with_text = [m for m in messages if m.get(TEXT)]
        if with_text:
            self._add(with_text, self.encoder.encode([m.get(TEXT) for m in with_text]))
        return messages

    def _add(self, messages: list[Message], vectors: np.ndarray) -> None:
        vectors = vectors * np.float32(self.weight)
        for message, vector in zip(messages, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)


def _progress_log() -> Callable[[int, int], None]:
    """The longest step of training (minutes without the cache) says how far it has got: a
    line each time another tenth is done, which ``make``'s progress line shows."""
    logged = -1

    def log(done: int, total: int) -> None:
        nonlocal logged
        tenth = done * 10 // max(total, 1)
        if tenth != logged:
            logged = tenth
            logger.info("Embedding training messages: %d of %d", done, total)

    return log
