"""Retention: what is older than the period goes; a person can delete their own conversation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import insert, text

from qi_coach import retention
from qi_coach.channels.webchat_sessions import Check, SessionSigner, WebChatSessions
from qi_coach.readings import BarrierReading, Origin
from qi_coach.records import UserRecords
from tests.knowledge.conftest import BACKENDS, _make_engine, postgres_admin  # noqa: F401  (a fixture)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def engines(request, tmp_path):
    """The records and the conversations in one empty database, as DATABASE_URL alone gives
    (SQLite, and PostgreSQL for the production path), with Rasa's own events table."""
    for database in _make_engine(request.param, request, tmp_path):
        SQLTrackerStore.SQLEvent.__table__.create(database)
        yield database, database


def add_events(database, sender: str, *moments: datetime) -> None:
    with database.begin() as conn:
        for moment in moments:
            conn.execute(insert(SQLTrackerStore.SQLEvent.__table__).values(
                sender_id=sender, type_name="user", timestamp=moment.timestamp(), data=json.dumps({"text": "no time"})))


def senders(database) -> list[str]:
    with database.connect() as conn:
        return sorted(set(conn.execute(text("SELECT sender_id FROM events")).scalars()))


def test_purge_deletes_conversations_idle_past_the_period_and_keeps_those_in_use(engines):
    records, conversations = engines
    add_events(conversations, "old", NOW - timedelta(days=120), NOW - timedelta(days=95))
    add_events(conversations, "long-running", NOW - timedelta(days=200), NOW - timedelta(days=1))
    add_events(conversations, "new", NOW - timedelta(hours=2))
    purged = retention.purge(days=90, now=NOW, records_engine=records, conversations_engine=conversations)
    assert (purged.conversations, purged.events) == (1, 2)
    assert senders(conversations) == ["long-running", "new"]  # a conversation in use is kept whole


def test_purge_deletes_records_and_sessions_older_than_the_period(engines):
    records, conversations = engines
    store = UserRecords(records)
    store.save_plan("c1", {"barriers": []}, "# plan")
    store.record_feedback("c1", ["s1"], True)
    with records.begin() as conn:
        conn.execute(text("UPDATE action_plans SET created_at = :t"), {"t": NOW - timedelta(days=91)})
    sessions = WebChatSessions(SessionSigner(b"k" * 40), records, clock=lambda: NOW - timedelta(days=100))
    sessions.start()
    purged = retention.purge(days=90, now=NOW, records_engine=records, conversations_engine=conversations)
    assert (purged.records, purged.sessions) == (1, 1)
    assert store.latest_plan("c1") is None and store.feedback("c1") == [(["s1"], True)]
    assert "1 records" in purged.summary() and "1 web chat sessions" in purged.summary()


def test_forget_deletes_one_conversation_and_everything_recorded_from_it(engines):
    records, conversations = engines
    sessions = WebChatSessions(SessionSigner(b"k" * 40), records)
    mine, token = sessions.start()
    add_events(conversations, mine, NOW)
    add_events(conversations, "someone-else", NOW)
    store = UserRecords(records)
    for who in (mine, "someone-else"):
        store.confirm_barriers(who, [BarrierReading("time_pressure", 0.9, Origin.CLASSIFIER)])
        store.save_plan(who, {"barriers": []}, "# plan")
        store.record_feedback(who, ["s1"], False, "not for us")
    forgotten = retention.forget(mine, records_engine=records, conversations_engine=conversations)
    assert (forgotten.events, forgotten.records) == (1, 3)
    assert senders(conversations) == ["someone-else"]
    assert store.latest_plan(mine) is None and store.confirmed_barriers(mine) == [] and store.feedback(mine) == []
    assert store.latest_plan("someone-else") is not None
    assert sessions.check(token).check is Check.REVOKED  # the page starts a new session


def test_the_retention_period_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv("QI_COACH_RETENTION_DAYS", raising=False)
    assert retention.retention_days() == 90
    monkeypatch.setenv("QI_COACH_RETENTION_DAYS", "30")
    assert retention.retention_days() == 30
    for bad in ("0", "-3", "ninety", "1.5"):
        monkeypatch.setenv("QI_COACH_RETENTION_DAYS", bad)
        with pytest.raises(ValueError, match="whole number of days"):
            retention.retention_days()
