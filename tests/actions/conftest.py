"""Actions run against a real knowledge store (the shipped content in a temporary SQLite
file), with a readable helper instead of hand-built trackers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from knowledge import KnowledgeStore
from knowledge.db import create_engine_for
from knowledge.load import load_content
from qi_coach.records import UserRecords


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeStore:
    engine = create_engine_for(f"sqlite:///{tmp_path_factory.mktemp('actions') / 'kb.db'}")
    load_content(engine)
    return KnowledgeStore(engine)


@pytest.fixture
def records(store: KnowledgeStore) -> UserRecords:
    return UserRecords(store.engine)


@dataclass
class Outcome:
    messages: list[dict]
    events: list[dict]

    @property
    def texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.messages]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def buttons(self) -> list[dict]:
        return [b for m in self.messages for b in m.get("buttons") or []]

    @property
    def payloads(self) -> list[str]:
        return [b["payload"] for b in self.buttons]

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e.get("name") == name]
        assert values, f"slot {name!r} was not set; events: {self.events}"
        return values[-1]


def run_action(action, *, text: str = "", intent: str | None = None, entities: list[dict] | None = None,
               parse: dict | None = None, slots: dict | None = None, sender: str = "test-user",
               said: list[str | tuple[str, str]] = ()) -> Outcome:
    """Run one action as the action server would, after a user message; ``said`` is what the
    user typed earlier in the conversation (the tracker's user events): texts, or (text, intent)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0} if intent else {},
              "entities": entities or [], **(parse or {})}
    events = [_user_event(t) for t in [*said, text] if t]
    tracker = Tracker(sender, {"awaiting": "nothing", **(slots or {})}, latest, events, False, None, {},
                      "action_listen")
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    for event in events:
        assert isinstance(event, dict), event
    return Outcome(dispatcher.messages, events)


def _user_event(said: str | tuple[str, str]) -> dict:
    text, intent = (said, None) if isinstance(said, str) else said
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}} if intent else {}}


def entity(kind: str, value: str) -> dict:
    return {"entity": kind, "value": value}

