"""Where Rasa keeps conversations: an SQL tracker store configured from the environment.

``endpoints.yml`` cannot say ``${DATABASE_URL}``: Rasa 3.6 refuses to start when such a
variable is unset. This class reads the environment itself, so the same ``endpoints.yml``
works with nothing set (an SQLite file, ``var/conversations.db``) and in production
(``TRACKER_DATABASE_URL``, else ``DATABASE_URL``, e.g. PostgreSQL shared by several servers).
Conversations therefore survive a restart of the Rasa server.

A database error is never papered over. Rasa wraps every tracker store in a
``FailSafeTrackerStore`` that, when reading fails, hands the processor an empty conversation
(whose save then splices the new events into the stored ones) and, when saving fails, keeps
the conversation in memory. Here any database error is raised as ``TrackerStoreFault``, which
passes through that wrapper and stops the turn: the stored events stay as they were (each
save is one transaction), and the intake tells the person (``qi_coach.channels.intake``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import column, delete, func, inspect, select, table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from knowledge.db import configured_url, create_engine_for, make_sqlite_folder
from qi_coach.paths import VAR_DIR

DEFAULT_SQLITE = VAR_DIR / "conversations.db"

#: Rasa's events table, as much of it as deleting needs.
_EVENTS = table("events", column("sender_id"), column("timestamp"))


class TrackerStoreFault(BaseException):
    """The conversation store could not be read or written.

    A ``BaseException`` on purpose, like ``asyncio.CancelledError``: Rasa's
    ``FailSafeTrackerStore`` catches every ``Exception``, and this must get past it to stop the
    turn. The intake alone catches it."""


def conversations_url() -> str:
    return configured_url("TRACKER_DATABASE_URL", "DATABASE_URL", default=DEFAULT_SQLITE)


class ConfiguredSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` on the database the environment names (SQLite by default), whose
    faults stop the turn instead of resetting the conversation."""

    def __init__(self, domain: Any = None, host: str | None = None, event_broker: Any = None, **kwargs: Any):
        url = conversations_url()
        make_sqlite_folder(url)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await super().retrieve(sender_id)
        except SQLAlchemyError as error:
            raise TrackerStoreFault(f"reading a conversation failed: {type(error).__name__}") from error

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await super().retrieve_full_tracker(sender_id)
        except SQLAlchemyError as error:
            raise TrackerStoreFault(f"reading a conversation failed: {type(error).__name__}") from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)
        except SQLAlchemyError as error:
            raise TrackerStoreFault(f"saving a conversation failed: {type(error).__name__}") from error


def conversations_engine() -> Engine:
    """An engine for the conversation database (one per process and address, not per call)."""
    return _engine_for(conversations_url())


@cache
def _engine_for(url: str) -> Engine:
    return create_engine_for(url)


def delete_conversation(sender_id: str, engine: Engine | None = None) -> int:
    """Delete every stored event of one conversation; how many."""
    engine = engine or conversations_engine()
    if not _has_events_table(engine):
        return 0
    with engine.begin() as conn:
        return conn.execute(delete(_EVENTS).where(_EVENTS.c.sender_id == sender_id)).rowcount


def purge_conversations(before: datetime, engine: Engine | None = None) -> tuple[int, int]:
    """Delete the conversations whose latest event is older than ``before`` (a conversation still
    in use keeps all of it: deleting part of one would corrupt it); ``(conversations, events)``."""
    engine = engine or conversations_engine()
    if not _has_events_table(engine):
        return 0, 0
    latest = (select(_EVENTS.c.sender_id).group_by(_EVENTS.c.sender_id)
              .having(func.max(_EVENTS.c.timestamp) < before.timestamp()))
    with engine.begin() as conn:
        stale = list(conn.execute(latest).scalars())
        events = 0
        for start in range(0, len(stale), 500):
            chunk = stale[start:start + 500]
            events += conn.execute(delete(_EVENTS).where(_EVENTS.c.sender_id.in_(chunk))).rowcount
    return len(stale), events


def _has_events_table(engine: Engine) -> bool:
    return inspect(engine).has_table("events")
