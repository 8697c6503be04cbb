"""Handle each inbound channel event once, even when the platform retries it.

Slack resends an event it thinks was not acknowledged in time, with the same ``event_id``.
The first delivery wins an insert into ``channel_events`` (primary key: channel and event
id); a retry finds the row and is acknowledged without being handled again. Kept in the
project's database rather than in memory, so it holds across restarts and across several
Rasa servers behind a load balancer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from knowledge import models
from knowledge.db import default_engine

KEEP_FOR = timedelta(days=1)  # Slack retries within minutes; a day is plenty


class ProcessedEvents:
    def __init__(self, channel: str, engine: Engine | None = None):
        self.channel = channel
        self._engine = engine
        self._table_checked = False

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = default_engine()
        if not self._table_checked:
            models.ChannelEvent.__table__.create(self._engine, checkfirst=True)
            self._table_checked = True
        return self._engine

    def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen on this channel, False for a retry."""
        now = datetime.now(timezone.utc)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(models.ChannelEvent).values(channel=self.channel, event_id=event_id[:255],
                                                                received_at=now))
        except IntegrityError:
            return False
        with self.engine.begin() as conn:
            conn.execute(delete(models.ChannelEvent).where(models.ChannelEvent.received_at < now - KEEP_FOR))
        return True
