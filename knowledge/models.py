"""Tables of the curated content, replaced as a whole by every ``qi-coach knowledge load``.

What users tell the assistant lives beside them in the same database, in tables owned by
``qi_coach.records`` (and channel plumbing in ``qi_coach.channels.dedupe``), which a load
never touches.

SQLAlchemy 2.0 style that 1.4 (pinned by Rasa 3.6) runs: ``declarative_base`` and
``Column``, no ``Mapped[]``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base

from knowledge.db import utcnow

Base: Any = declarative_base()  # a Column-style base; SQLAlchemy 1.4 gives mypy no class to check


# --- curated content --------------------------------------------------------------------


class Source(Base):
    __tablename__ = "sources"
    id = Column(String(60), primary_key=True)
    kind = Column(String(20), nullable=False)
    title = Column(Text, nullable=False)
    authors = Column(JSON, nullable=False)
    year = Column(Integer)
    publisher = Column(Text, nullable=False)
    file = Column(String(200))
    cite_as = Column(Text)
    details = Column(Text)
    url = Column(Text)


class Barrier(Base):
    __tablename__ = "barriers"
    id = Column(String(60), primary_key=True)
    position = Column(Integer, nullable=False)  # the taxonomy's order
    name = Column(Text, nullable=False)
    in_short = Column(Text, nullable=False)  # the barrier named inside a sentence
    description = Column(Text, nullable=False)
    cues = Column(JSON, nullable=False)
    stages = Column(JSON, nullable=False)  # where in a project it most often stalls work


class BarrierLevel(Base):
    __tablename__ = "barrier_levels"
    barrier_id = Column(ForeignKey("barriers.id"), primary_key=True)
    level = Column(String(20), primary_key=True)


class BarrierSource(Base):
    __tablename__ = "barrier_sources"
    barrier_id = Column(ForeignKey("barriers.id"), primary_key=True)
    source_id = Column(ForeignKey("sources.id"), primary_key=True)
    position = Column(Integer, nullable=False)


class Strategy(Base):
    __tablename__ = "strategies"
    id = Column(String(60), primary_key=True)
    title = Column(Text, nullable=False)
    summary = Column(Text, nullable=False)
    why_it_works = Column(Text, nullable=False)
    steps = Column(JSON, nullable=False)
    effort = Column(String(10), nullable=False)
    evidence = Column(String(20), nullable=False)
    cautions = Column(JSON, nullable=False)
    content_file = Column(String(200), nullable=False)


class StrategyBarrier(Base):
    __tablename__ = "strategy_barriers"
    strategy_id = Column(ForeignKey("strategies.id"), primary_key=True)
    barrier_id = Column(ForeignKey("barriers.id"), primary_key=True)
    strength = Column(String(10), nullable=False)
    __table_args__ = (Index("ix_strategy_barriers_barrier", "barrier_id"),)


class StrategyLevel(Base):
    __tablename__ = "strategy_levels"
    strategy_id = Column(ForeignKey("strategies.id"), primary_key=True)
    level = Column(String(20), primary_key=True)


class StrategySituation(Base):
    """A circumstance a strategy fits (or does not), with its sentence vector: float32 bytes
    from the encoder the classifier uses, computed once at load so ranking never embeds
    content while a user waits."""

    __tablename__ = "strategy_situations"
    strategy_id = Column(ForeignKey("strategies.id"), primary_key=True)
    fits = Column(Boolean, primary_key=True)
    position = Column(Integer, primary_key=True)
    text = Column(Text, nullable=False)
    vector = Column(LargeBinary, nullable=False)


class Tool(Base):
    __tablename__ = "tools"
    id = Column(String(60), primary_key=True)
    name = Column(Text, nullable=False)
    category = Column(String(40), nullable=False)
    what_it_is = Column(Text, nullable=False)
    when_to_use = Column(Text, nullable=False)
    how_to_use = Column(JSON, nullable=False)
    time_needed = Column(Text, nullable=False)
    who_to_involve = Column(Text, nullable=False)


class StrategyTool(Base):
    """Which tools serve which strategies: the union of both files' lists."""

    __tablename__ = "strategy_tools"
    strategy_id = Column(ForeignKey("strategies.id"), primary_key=True)
    tool_id = Column(ForeignKey("tools.id"), primary_key=True)
    position = Column(Integer, nullable=False)  # order within the strategy's own list


class StrategySource(Base):
    __tablename__ = "strategy_sources"
    strategy_id = Column(ForeignKey("strategies.id"), primary_key=True)
    source_id = Column(ForeignKey("sources.id"), primary_key=True)
    position = Column(Integer, nullable=False)


class ToolSource(Base):
    __tablename__ = "tool_sources"
    tool_id = Column(ForeignKey("tools.id"), primary_key=True)
    source_id = Column(ForeignKey("sources.id"), primary_key=True)
    position = Column(Integer, nullable=False)


class SearchTerm(Base):
    """Names and aliases of tools and strategies, normalised at load time for lookup."""

    __tablename__ = "search_terms"
    id = Column(Integer, primary_key=True, autoincrement=True)
    kind = Column(String(10), nullable=False)  # "tool" | "strategy"
    item_id = Column(String(60), nullable=False)
    term = Column(Text, nullable=False)
    normalised = Column(Text, nullable=False)
    __table_args__ = (Index("ix_search_terms_kind", "kind"),)


class CoverageEntry(Base):
    """What a seed names, and the ids that cover it (the checkable coverage map)."""

    __tablename__ = "coverage_entries"
    id = Column(Integer, primary_key=True, autoincrement=True)
    seed_id = Column(ForeignKey("sources.id"), nullable=False)
    name = Column(Text, nullable=False)
    kind = Column(String(20), nullable=False)
    covered_by = Column(JSON, nullable=False)


class LevelGuide(Base):
    """What each organisational level does in QI and what to ask of it (model of alignment)."""

    __tablename__ = "level_guides"
    id = Column(String(20), primary_key=True)
    position = Column(Integer, nullable=False)
    name = Column(Text, nullable=False)
    role = Column(Text, nullable=False)
    asks = Column(JSON, nullable=False)
    priorities = Column(Text, nullable=False)  # what the level cares about (the stall review)
    review_question = Column(Text, nullable=False)
    barriers_when_unreached = Column(JSON, nullable=False)
    source_ids = Column(JSON, nullable=False)


class StrategyReplacement(Base):
    """A retired strategy id and the strategy it was merged into, so records that name the old
    id (tried, suggested, planned) still mean something."""

    __tablename__ = "strategy_replacements"
    old_id = Column(String(60), primary_key=True)
    strategy_id = Column(ForeignKey("strategies.id"), nullable=False)


#: Replaced whole by a load, children before parents (the order deletes run in).
CURATED_TABLES = [
    StrategyReplacement.__table__,
    LevelGuide.__table__,
    SearchTerm.__table__,
    CoverageEntry.__table__,
    ToolSource.__table__,
    StrategySource.__table__,
    StrategyTool.__table__,
    StrategyLevel.__table__,
    StrategySituation.__table__,
    StrategyBarrier.__table__,
    BarrierSource.__table__,
    BarrierLevel.__table__,
    Tool.__table__,
    Strategy.__table__,
    Barrier.__table__,
    Source.__table__,
]


class ContentLoad(Base):
    """One row per load that changed the content: what was loaded, and when."""

    __tablename__ = "content_loads"
    id = Column(Integer, primary_key=True, autoincrement=True)
    content_hash = Column(String(80), nullable=False)  # "<schema version>:<sha256>"
    loaded_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    counts = Column(JSON, nullable=False)
