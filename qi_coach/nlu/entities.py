"""Roles, settings and QI tools as entities, and the organisational levels a message mentions.

The project's spaCy pipeline (``en_qi_coach``) has already matched the knowledge store's
names on lemmas; this component turns its spans into Rasa entities whose value is the
canonical id ("the Consultants" -> role ``consultant``; "PDSAs" -> qi_tool ``pdsa_cycle``)
and sets ``levels``: the organisational levels of the roles mentioned (seed 002's model of
alignment), in a fixed order. The role-to-level map is taken from the knowledge store when
the model is trained and saved with it, so a running bot needs no content files.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from qi_coach import readings
from qi_coach.readings import LEVELS

ENTITY_LABELS = ("role", "setting", "qi_tool")  # "ignore" spans are dropped
SPACY_DOC = "text_spacy_doc"  # where Rasa's SpacyNLP keeps the parsed doc


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class KnowledgeEntityExtractor(GraphComponent):
    """Entities from the knowledge store's names, and the levels they imply."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [SpacyNLP]

    def __init__(self, model_storage: ModelStorage, resource: Resource, role_levels: dict[str, str]):
        self._model_storage = model_storage
        self._resource = resource
        self.role_levels = role_levels

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> KnowledgeEntityExtractor:
        return cls(model_storage, resource, {})

    def train(self, training_data: TrainingData) -> Resource:
        from knowledge.validate import check_content

        self.role_levels = {role.id: role.level.value for role in check_content().roles}
        with self._model_storage.write_to(self._resource) as folder:
            (folder / "role_levels.json").write_text(json.dumps(self.role_levels, sort_keys=True))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> KnowledgeEntityExtractor:
        with model_storage.read_from(resource) as folder:
            role_levels = json.loads((folder / "role_levels.json").read_text())
        return cls(model_storage, resource, role_levels)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # entities are matched, not learnt

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            doc = message.get(SPACY_DOC)
            found, levels = [], set()
            for span in (doc.ents if doc is not None else ()):
                if span.label_ not in ENTITY_LABELS:
                    continue
                found.append({
                    ENTITY_ATTRIBUTE_TYPE: span.label_,
                    ENTITY_ATTRIBUTE_VALUE: span.ent_id_,
                    ENTITY_ATTRIBUTE_START: span.start_char,
                    ENTITY_ATTRIBUTE_END: span.end_char,
                    ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                    EXTRACTOR: self.__class__.__name__,
                })
                if span.label_ == "role" and span.ent_id_ in self.role_levels:
                    levels.add(self.role_levels[span.ent_id_])
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
            message.set(LEVELS, readings.levels(levels), add_to_output=True)
        return messages
