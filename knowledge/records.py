"""What users tell the assistant: confirmed barriers, feedback on strategies, action plans.

These rows sit beside the curated content in the same database but are never touched by a
content load, and refer to barriers and strategies by id only (see ``knowledge.models``).
They feed the follow-up check-ins and the recurring-barrier insights planned after the
open issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from knowledge import models
from knowledge.db import default_engine
from knowledge.repository import StoreError
from knowledge.schema import BARRIER_IDS


@dataclass(frozen=True)
class SavedPlan:
    conversation_id: str
    plan: dict[str, Any]
    markdown: str
    created_at: datetime


class UserRecords:
    """Write and read what users told the assistant, one conversation at a time."""

    def __init__(self, engine: Engine | None = None):
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = default_engine()
        return self._engine

    def confirm_barriers(
        self,
        conversation_id: str,
        barriers: Mapping[str, float | None],
        corrected: Iterable[str] = (),
    ) -> None:
        """Record the barriers a user confirmed.

        Args:
            conversation_id: the Rasa sender id.
            barriers: ``{barrier_id: classifier confidence}``; ``None`` where the user added
                a barrier the classifier had not proposed.
            corrected: the ids the user added or changed by correcting the bot.
        """
        _require_conversation(conversation_id)
        unknown = [b for b in barriers if b not in BARRIER_IDS]
        if unknown:
            raise StoreError(f"unknown barrier id(s): {', '.join(unknown)}")
        added = set(corrected)
        rows = [
            {"conversation_id": conversation_id, "barrier_id": b, "confidence": c, "corrected": b in added}
            for b, c in barriers.items()
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(models.ConfirmedBarrier), rows)

    def confirmed_barriers(self, conversation_id: str) -> list[str]:
        """Barrier ids confirmed in a conversation, oldest first, each once."""
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(models.ConfirmedBarrier.barrier_id)
                .where(models.ConfirmedBarrier.conversation_id == conversation_id)
                .order_by(models.ConfirmedBarrier.id)
            ).scalars()
            return list(dict.fromkeys(ids))

    def record_feedback(
        self, conversation_id: str, strategy_ids: Iterable[str], useful: bool, comment: str | None = None
    ) -> None:
        """Store the answer to "was this useful?" with the strategies it was about."""
        _require_conversation(conversation_id)
        ids = [s for s in strategy_ids if s]
        if not ids:
            raise StoreError("feedback must name the strategies it is about")
        with self.engine.begin() as conn:
            conn.execute(insert(models.StrategyFeedback).values(
                conversation_id=conversation_id, strategy_ids=ids, useful=bool(useful),
                comment=(comment or None) and comment[:2000],
            ))

    def feedback(self, conversation_id: str) -> list[tuple[list[str], bool]]:
        with self.engine.connect() as conn:
            return [
                (list(row.strategy_ids), row.useful)
                for row in conn.execute(
                    select(models.StrategyFeedback.strategy_ids, models.StrategyFeedback.useful)
                    .where(models.StrategyFeedback.conversation_id == conversation_id)
                    .order_by(models.StrategyFeedback.id)
                )
            ]

    def save_plan(self, conversation_id: str, plan: dict[str, Any], markdown: str) -> None:
        """Keep an action plan; the newest one per conversation is the one shown."""
        _require_conversation(conversation_id)
        with self.engine.begin() as conn:
            conn.execute(insert(models.ActionPlan).values(
                conversation_id=conversation_id, plan=plan, markdown=markdown
            ))

    def latest_plan(self, conversation_id: str) -> SavedPlan | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(models.ActionPlan)
                .where(models.ActionPlan.conversation_id == conversation_id)
                .order_by(models.ActionPlan.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return SavedPlan(row.conversation_id, row.plan, row.markdown, row.created_at)


def _require_conversation(conversation_id: str) -> None:
    if not conversation_id or not conversation_id.strip():
        raise StoreError("a conversation id is needed to record anything")
