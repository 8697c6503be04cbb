"""Handle each inbound channel event once, even when the platform retries it, and never lose
one because it was marked done before it was handled.

Slack resends an event it thinks was not acknowledged in time, with the same ``event_id``;
the Bot Framework can resend a Teams activity with the same ``id``. An event is *claimed*
(a row inserted into ``channel_events``; primary key: channel and event id) before it is
handled and *completed* after. A retry finds the row: a completed event, or one claimed
moments ago and still being handled, is acknowledged without being handled again; a claim
older than ``STALE_AFTER`` that never completed (the server stopped mid-way) is taken over,
so the retry is handled. Kept in the project's database rather than in memory, so it holds
across restarts and across several Rasa servers behind a load balancer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, DateTime, String, and_, delete, insert, inspect, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import declarative_base

from knowledge.db import TablesOnFirstUse

logger = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=1)  # platforms retry within minutes; a day is plenty
#: A claim this old that never completed was lost with its server: a retry takes it over.
STALE_AFTER = timedelta(seconds=30)

Base: Any = declarative_base()  # a Column-style base; SQLAlchemy 1.4 gives mypy no class to check


class ChannelEvent(Base):
    """An inbound event a channel has claimed, and when it finished handling it."""

    __tablename__ = "channel_events"
    channel = Column(String(40), primary_key=True)
    event_id = Column(String(255), primary_key=True)
    received_at = Column(DateTime(timezone=True), nullable=False, index=True)
    completed_at = Column(DateTime(timezone=True))


def create_tables(engine: Engine) -> None:
    try:
        Base.metadata.create_all(engine)
    except DBAPIError:
        if not inspect(engine).has_table(ChannelEvent.__tablename__):  # not another server making it
            raise
    if "completed_at" not in {c["name"] for c in inspect(engine).get_columns("channel_events")}:
        with engine.begin() as conn:  # a database made before claims had an end
            conn.execute(text("ALTER TABLE channel_events ADD COLUMN completed_at TIMESTAMP"))


class ProcessedEvents(TablesOnFirstUse):
    def __init__(self, channel: str, engine: Engine | None = None, clock: Callable[[], datetime] | None = None):
        super().__init__(engine)
        self.channel = channel
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def make_tables(self, engine: Engine) -> None:
        create_tables(engine)

    def claim(self, event_id: str) -> bool:
        """True when this server should handle the event now: the first delivery, or a retry of
        one whose handler was lost. False for a retry of one handled or being handled."""
        now, key = self.clock(), event_id[:255]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ChannelEvent).values(channel=self.channel, event_id=key, received_at=now))
            self.purge()  # the table stays a day's events long
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:  # take over a stale claim, atomically: one retry wins
            taken = conn.execute(update(ChannelEvent).where(and_(
                ChannelEvent.channel == self.channel, ChannelEvent.event_id == key,
                ChannelEvent.completed_at.is_(None), ChannelEvent.received_at < now - STALE_AFTER,
            )).values(received_at=now)).rowcount
        return taken == 1

    def complete(self, event_id: str) -> None:
        """Mark a claimed event handled. Called after the turn, so a database error here is
        logged, not raised: the worst it leads to is a late retry being handled again."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(ChannelEvent).where(ChannelEvent.channel == self.channel,
                                                        ChannelEvent.event_id == event_id[:255])
                             .values(completed_at=self.clock()))
        except SQLAlchemyError:
            logger.exception("%s: could not mark an event handled", self.channel)

    def purge(self) -> int:
        """Forget events older than ``KEEP_FOR``, of every channel; how many."""
        with self.engine.begin() as conn:
            return conn.execute(delete(ChannelEvent).where(ChannelEvent.received_at < self.clock() - KEEP_FOR)
                                ).rowcount
