"""What users tell the assistant: confirmed barriers, the strategies suggested to them, feedback on
strategies, action plans, the strategies they chose to try, the check-ins that follow them up,
and the run charts drawn of their measures.

These tables sit beside the curated content in the same database but are never touched by
a content load, and refer to barriers and strategies by id without foreign keys: a strategy
retired from the content leaves its past feedback readable rather than blocking the reload or
deleting history. They feed the follow-up check-ins and the recurring-barrier insights.

SQLAlchemy 2.0 style that 1.4 (pinned by Rasa 3.6) runs: ``declarative_base`` and ``Column``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import declarative_base

from knowledge.db import TablesOnFirstUse, utcnow
from knowledge.repository import StoreError
from qi_coach.limits import MESSAGE_CHARS
from qi_coach.readings import BarrierReading, Origin

Base: Any = declarative_base()  # a Column-style base; SQLAlchemy 1.4 gives mypy no class to check


class _InConversation:
    """The columns every record shares: its own id, and the Rasa sender id it belongs to."""

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)


class ConfirmedBarrier(_InConversation, Base):
    """A barrier a user confirmed (or added by correcting the bot) in a conversation."""

    __tablename__ = "confirmed_barriers"
    barrier_id = Column(String(60), nullable=False, index=True)
    confidence = Column(Float)  # the classifier's (combined over the triage's answers), if it heard it
    corrected = Column(Boolean, nullable=False, default=False)  # the user named it themselves
    origin = Column(String(20))  # the reading's Origin (rows from before it was kept have none)
    levels = Column(JSON)  # the organisational levels the person named by then (none said: [] or None)
    confirmed_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class StrategySuggestion(_InConversation, Base):
    """A strategy shown to the person for a barrier (a suggestion or a plan): the denominator of
    "suggested, chosen, reported as helping" in the insights (``qi_coach.insights``)."""

    __tablename__ = "strategy_suggestions"
    strategy_id = Column(String(60), nullable=False, index=True)
    barrier_id = Column(String(60))
    rank = Column(Integer, nullable=False)  # 1 = shown first
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class StrategyFeedback(_InConversation, Base):
    """The user's answer to "was this useful?" about the strategies just shown."""

    __tablename__ = "strategy_feedback"
    strategy_ids = Column(JSON, nullable=False)
    useful = Column(Boolean, nullable=False)
    comment = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ActionPlan(_InConversation, Base):
    """A plan produced for a user: structured for follow-up, and as the text they saw."""

    __tablename__ = "action_plans"
    plan = Column(JSON, nullable=False)
    markdown = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Checkin(_InConversation, Base):
    """A follow-up the person asked for: when, and where to reach them (``qi_coach.followup``
    owns its states and the claim that sends it once)."""

    __tablename__ = "checkins"
    channel = Column(String(40), nullable=False)  # the channel they talked on: slack, teams, webchat, rest
    reply_to = Column(JSON, nullable=False)  # where that channel reaches them (ids only, no text)
    due_at = Column(DateTime(timezone=True), nullable=False, index=True)
    state = Column(String(20), nullable=False, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    claimed_by = Column(String(80))
    claimed_at = Column(DateTime(timezone=True))
    sent_at = Column(DateTime(timezone=True))
    answered_at = Column(DateTime(timezone=True))
    waiting = Column(JSON)  # replies for a channel that cannot push (REST), until fetched
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Commitment(_InConversation, Base):
    """A strategy the person said they would try, for a barrier, and how it went at the check-in:
    the reports that feed the ranking (``knowledge.ranking``)."""

    __tablename__ = "commitments"
    checkin_id = Column(Integer, nullable=False, index=True)
    strategy_id = Column(String(60), nullable=False, index=True)
    barrier_id = Column(String(60))  # the barrier it was chosen for (None: not known)
    title = Column(Text, nullable=False)
    progress = Column(String(20))  # done | partly | not_started, once reported
    helped = Column(Integer)  # 1-5, once reported (None for not started)
    obstacle = Column(Text)  # what got in the way, in their words (redacted by the intake)
    reported_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class RunChart(_InConversation, Base):
    """A run chart drawn of the person's measure: the series as read (``qi_coach.runcharts``) and
    the picture, fetched by its unguessable ``token`` (web chat image, Slack upload, Teams)."""

    __tablename__ = "run_charts"
    token = Column(String(64), nullable=False, unique=True)
    measure = Column(JSON, nullable=False)
    png = Column(LargeBinary)  # None until drawn (an uploaded CSV is read first, drawn next)
    alt = Column(Text)  # the picture in words, for screen readers and text-only channels
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


#: Columns added after their table first shipped: (table, column, SQL type). Added on start-up.
_ADDED_COLUMNS = (("confirmed_barriers", "origin", "VARCHAR(20)"),
                  ("confirmed_barriers", "levels", "JSON"))


def create_tables(engine: Engine) -> None:
    """Create the records' tables where missing, and add columns newer than a table
    (``qi-coach knowledge load`` does it before any server starts; a store used without that
    does it on first use). Nothing is ever dropped: these rows are people's history."""
    Base.metadata.create_all(engine)
    for table, column, sql_type in _ADDED_COLUMNS:
        if _has_column(engine, table, column):
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
        except DBAPIError:
            if not _has_column(engine, table, column):  # not another server adding it at the same moment
                raise


def _has_column(engine: Engine, table: str, column: str) -> bool:
    return column in {c["name"] for c in inspect(engine).get_columns(table)}


@dataclass(frozen=True)
class KeptRunChart:
    conversation_id: str
    measure: dict[str, Any]
    png: bytes | None
    alt: str | None


@dataclass(frozen=True)
class SavedPlan:
    conversation_id: str
    plan: dict[str, Any]
    markdown: str
    created_at: datetime


class UserRecords(TablesOnFirstUse):
    """Write and read what users told the assistant, one conversation at a time."""

    def make_tables(self, engine: Engine) -> None:
        create_tables(engine)

    def confirm_barriers(self, conversation_id: str, readings: Iterable[BarrierReading],
                         levels: Iterable[str] = ()) -> None:
        """Record the barriers a user confirmed, as the readings that were ranked: the
        confidence they had (None for a barrier the user named), whether the user named it, and
        the organisational levels they had named by then (for the insights by level)."""
        _require_conversation(conversation_id)
        named = sorted(set(levels))
        rows = [
            {"conversation_id": conversation_id, "barrier_id": r.id, "confidence": r.confidence,
             "corrected": r.origin is Origin.USER, "origin": r.origin.value, "levels": named}
            for r in readings
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(ConfirmedBarrier), rows)

    def confirmed_barriers(self, conversation_id: str) -> list[str]:
        """Barrier ids confirmed in a conversation, oldest first, each once."""
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(ConfirmedBarrier.barrier_id)
                .where(ConfirmedBarrier.conversation_id == conversation_id)
                .order_by(ConfirmedBarrier.id)
            ).scalars()
            return list(dict.fromkeys(ids))

    def confirmed_readings(self, conversation_id: str) -> list[BarrierReading]:
        """Every barrier confirmed in a conversation, oldest first, as it was ranked."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ConfirmedBarrier.barrier_id, ConfirmedBarrier.confidence, ConfirmedBarrier.corrected,
                       ConfirmedBarrier.origin)
                .where(ConfirmedBarrier.conversation_id == conversation_id)
                .order_by(ConfirmedBarrier.id)
            ).all()
        return [BarrierReading(row.barrier_id, row.confidence,
                               Origin(row.origin) if row.origin else (Origin.USER if row.corrected else Origin.CLASSIFIER))
                for row in rows]

    def record_suggestions(self, conversation_id: str, shown: Iterable[tuple[str, str | None]]) -> None:
        """Record the strategies shown, in order, each with the barrier it was shown for."""
        _require_conversation(conversation_id)
        rows = [{"conversation_id": conversation_id, "strategy_id": strategy_id, "barrier_id": barrier_id,
                 "rank": rank} for rank, (strategy_id, barrier_id) in enumerate(shown, 1)]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(StrategySuggestion), rows)

    def record_feedback(
        self, conversation_id: str, strategy_ids: Iterable[str], useful: bool, comment: str | None = None
    ) -> None:
        """Store the answer to "was this useful?" with the strategies it was about."""
        _require_conversation(conversation_id)
        ids = [s for s in strategy_ids if s]
        if not ids:
            raise StoreError("feedback must name the strategies it is about")
        with self.engine.begin() as conn:
            conn.execute(insert(StrategyFeedback).values(
                conversation_id=conversation_id, strategy_ids=ids, useful=bool(useful),
                comment=(comment or None) and comment[:MESSAGE_CHARS],
            ))

    def feedback(self, conversation_id: str) -> list[tuple[list[str], bool]]:
        with self.engine.connect() as conn:
            return [
                (list(row.strategy_ids), row.useful)
                for row in conn.execute(
                    select(StrategyFeedback.strategy_ids, StrategyFeedback.useful)
                    .where(StrategyFeedback.conversation_id == conversation_id)
                    .order_by(StrategyFeedback.id)
                )
            ]

    def save_plan(self, conversation_id: str, plan: dict[str, Any], markdown: str) -> None:
        """Keep an action plan; the newest one per conversation is the one shown."""
        _require_conversation(conversation_id)
        with self.engine.begin() as conn:
            conn.execute(insert(ActionPlan).values(
                conversation_id=conversation_id, plan=plan, markdown=markdown
            ))

    def latest_plan(self, conversation_id: str) -> SavedPlan | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ActionPlan)
                .where(ActionPlan.conversation_id == conversation_id)
                .order_by(ActionPlan.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return SavedPlan(row.conversation_id, row.plan, row.markdown, row.created_at)


    def keep_run_chart(self, conversation_id: str, measure: dict[str, Any], png: bytes | None = None,
                       alt: str | None = None) -> str:
        """Keep a measure (and its chart, once drawn) under a new unguessable token, returned."""
        _require_conversation(conversation_id)
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            conn.execute(insert(RunChart).values(conversation_id=conversation_id, token=token, measure=measure,
                                                 png=png, alt=alt))
        return token

    def set_run_chart_picture(self, token: str, png: bytes, alt: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(RunChart).where(RunChart.token == token).values(png=png, alt=alt))

    def run_chart(self, token: str) -> KeptRunChart | None:
        """The measure and chart kept under ``token``, or None (never kept, or deleted)."""
        if not token or len(token) > 64:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(RunChart.conversation_id, RunChart.measure, RunChart.png, RunChart.alt)
                               .where(RunChart.token == token)).first()
        return None if row is None else KeptRunChart(row.conversation_id, row.measure, row.png, row.alt)

    def forget(self, conversation_id: str) -> int:
        """Delete everything recorded for one conversation (the person asked); how many rows."""
        return self._delete(lambda table: table.conversation_id == conversation_id)

    def purge(self, before: datetime) -> int:
        """Delete every record made before ``before`` (the retention period); how many rows."""
        return self._delete(lambda table: _made_at(table) < before)

    def _delete(self, which) -> int:
        with self.engine.begin() as conn:
            return sum(conn.execute(delete(table).where(which(table))).rowcount for table in _TABLES)


_TABLES = (ConfirmedBarrier, StrategySuggestion, StrategyFeedback, ActionPlan, Checkin, Commitment, RunChart)


def _made_at(table: Any) -> Any:
    return table.confirmed_at if table is ConfirmedBarrier else table.created_at


def _require_conversation(conversation_id: str) -> None:
    if not conversation_id or not conversation_id.strip():
        raise StoreError("a conversation id is needed to record anything")
