"""The conversation store stops a turn on a database error instead of resetting the conversation."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from qi_coach.stores import ConfiguredSQLTrackerStore, TrackerStoreFault


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "conversations.db"
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{path}")
    # wrapped as Rasa's Agent wraps every tracker store
    return FailSafeTrackerStore(ConfiguredSQLTrackerStore(Domain.empty())), path


def test_a_database_error_passes_rasas_fail_safe_wrapper_and_nothing_is_spliced(store):
    wrapped, path = store
    tracker = DialogueStateTracker.from_events("c1", [UserUttered("first"), UserUttered("second")])
    asyncio.run(wrapped.save(tracker))
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE events RENAME TO events_offline")
    with pytest.raises(TrackerStoreFault, match="reading a conversation failed"):
        asyncio.run(wrapped.retrieve("c1"))
    with pytest.raises(TrackerStoreFault, match="saving a conversation failed"):
        asyncio.run(wrapped.save(DialogueStateTracker.from_events("c1", [UserUttered("a fresh start")])))
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE events_offline RENAME TO events")
    kept = asyncio.run(wrapped.retrieve("c1"))
    assert [e.text for e in kept.events if isinstance(e, UserUttered)] == ["first", "second"]
