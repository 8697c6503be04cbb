"""Handle each inbound channel event once, even when the platform retries it.

Slack resends an event it thinks was not acknowledged in time, with the same ``event_id``.
The first delivery wins an insert into ``channel_events`` (primary key: channel and event
id); a retry finds the row and is acknowledged without being handled again. Kept in the
project's database rather than in memory, so it holds across restarts and across several
Rasa servers behind a load balancer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, DateTime, String, delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from knowledge.db import TablesOnFirstUse, utcnow

KEEP_FOR = timedelta(days=1)  # Slack retries within minutes; a day is plenty

Base: Any = declarative_base()  # a Column-style base; SQLAlchemy 1.4 gives mypy no class to check


class ChannelEvent(Base):
    """An inbound event a channel has already handled (Slack retries carry the same
    ``event_id``), so a retry is answered but not handled twice, whichever server gets it."""

    __tablename__ = "channel_events"
    channel = Column(String(40), primary_key=True)
    event_id = Column(String(255), primary_key=True)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


def create_tables(engine: Engine) -> None:
    Base.metadata.create_all(engine)


class ProcessedEvents(TablesOnFirstUse):
    def __init__(self, channel: str, engine: Engine | None = None):
        super().__init__(engine)
        self.channel = channel

    def make_tables(self, engine: Engine) -> None:
        create_tables(engine)

    def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen on this channel, False for a retry."""
        now = datetime.now(timezone.utc)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ChannelEvent).values(channel=self.channel, event_id=event_id[:255],
                                                                received_at=now))
        except IntegrityError:
            return False
        with self.engine.begin() as conn:
            conn.execute(delete(ChannelEvent).where(ChannelEvent.received_at < now - KEEP_FOR))
        return True
