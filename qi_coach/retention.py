"""How long what people tell the coach is kept, and how it is deleted.

Two rules, one owner:
- **retention**: conversations, action plans, feedback and confirmed barriers older than
  ``retention_days()`` (``QI_COACH_RETENTION_DAYS``, default 90) are deleted by ``purge``,
  which ``qi-coach purge`` runs and ``qi-coach serve`` runs at every start;
- **the person's own choice**: ``forget`` deletes one conversation and everything recorded
  from it at once ("delete my data" in chat, the page's button).

Each store deletes its own rows (``stores`` the conversation events, ``records`` the
records, ``webchat_sessions`` the sessions); this module only decides what and when.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from qi_coach import stores
from qi_coach.channels.dedupe import ProcessedEvents
from qi_coach.channels.webchat_sessions import SESSION_PREFIX, WebChatSessions
from qi_coach.records import UserRecords

DEFAULT_DAYS = 90


def retention_days() -> int:
    raw = os.environ.get("QI_COACH_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"QI_COACH_RETENTION_DAYS must be a whole number of days, at least 1 (not {raw!r})")
    return int(raw)


@dataclass(frozen=True)
class Purged:
    before: datetime
    conversations: int
    events: int
    records: int
    sessions: int

    def summary(self) -> str:
        when = f"{self.before:%d %b %Y}"
        if not (self.conversations or self.records or self.sessions):
            return f"Retention: nothing from before {when} to delete."
        return (f"Retention: deleted what was from before {when}: {self.conversations} conversations "
                f"({self.events} events), {self.records} records (plans, feedback, confirmed barriers) and "
                f"{self.sessions} web chat sessions.")


def purge(days: int | None = None, now: datetime | None = None, records_engine: Engine | None = None,
          conversations_engine: Engine | None = None) -> Purged:
    """Delete everything older than ``days`` (default: the configured retention)."""
    before = (now or datetime.now(timezone.utc)) - timedelta(days=days or retention_days())
    conversations, events = stores.purge_conversations(before, conversations_engine)
    records = UserRecords(records_engine).purge(before)
    sessions = WebChatSessions(engine=records_engine).purge(before)
    ProcessedEvents("slack", records_engine).purge()
    return Purged(before, conversations, events, records, sessions)


@dataclass(frozen=True)
class Forgotten:
    events: int
    records: int


def forget(conversation_id: str, records_engine: Engine | None = None,
           conversations_engine: Engine | None = None) -> Forgotten:
    """Delete one conversation's events and everything recorded from it; a web chat session
    is revoked too, so its page starts a new one."""
    events = stores.delete_conversation(conversation_id, conversations_engine)
    records = UserRecords(records_engine).forget(conversation_id)
    if conversation_id.startswith(SESSION_PREFIX):
        WebChatSessions(engine=records_engine).revoke(conversation_id)
    return Forgotten(events, records)
