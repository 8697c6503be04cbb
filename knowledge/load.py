"""Load the curated content into SQL: validate everything, then replace it in one transaction.

Either the whole new content is served or, on any error, the previous content stays as it
was: validation runs before the first write, and the writes share one transaction. Loading
the same content twice changes nothing (the content's hash is compared with the last load).
User tables are never touched here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from knowledge import models
from knowledge.matching import normalise
from knowledge.schema import Level
from knowledge.validate import CONTENT_DIR, Content, check_content

#: Bump when the curated tables change shape: the next load drops and recreates them (they
#: hold only content, rebuilt from YAML on every load; user tables are never touched).
SCHEMA_VERSION = "5"


@dataclass(frozen=True)
class LoadReport:
    changed: bool
    counts: dict[str, int]
    content_hash: str


def create_tables(engine: Engine) -> None:
    """Create any missing content table; existing ones are kept."""
    models.Base.metadata.create_all(engine)


Embed = Callable[[Sequence[str]], np.ndarray]


def embed_situations(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of the strategies' situations from the classifier's sentence encoder,
    through the on-disk cache (content, never user text), so a reload costs milliseconds."""
    from qi_coach.nlu.embedding_cache import EmbeddingCache  # noqa: PLC0415 - loads 90 MB of weights
    from qi_coach.nlu.sentence_encoder import shared_encoder  # noqa: PLC0415

    return EmbeddingCache().encode(shared_encoder(), texts)


def load_content(engine: Engine, root: Path = CONTENT_DIR, *, force: bool = False,
                 embed: Embed = embed_situations) -> LoadReport:
    """Validate the content under ``root`` and make it the content the database serves.

    Args:
        engine: the database to load into.
        root: the content folder (``knowledge/content`` by default).
        force: rewrite even when this exact content was the last one loaded.
        embed: turns situation texts into unit vectors (the classifier's encoder by default).

    Returns:
        What was loaded, and whether anything changed.

    Raises:
        ContentError: the content is invalid; the database was not touched.
    """
    content = check_content(root)
    content_hash = f"{SCHEMA_VERSION}:{content.digest}"
    create_tables(engine)
    with engine.begin() as conn:
        last = conn.execute(
            select(models.ContentLoad.content_hash).order_by(models.ContentLoad.id.desc()).limit(1)
        ).scalar()
        if last == content_hash and not force:
            return LoadReport(changed=False, counts=content.counts(), content_hash=content_hash)
        if last is not None and not last.startswith(f"{SCHEMA_VERSION}:"):
            # Curated tables of an older shape: they hold nothing but content, so rebuild them.
            for table in models.CURATED_TABLES:
                table.drop(conn, checkfirst=True)
            models.Base.metadata.create_all(conn, tables=models.CURATED_TABLES)
        for table in models.CURATED_TABLES:
            conn.execute(delete(table))
        _insert(conn, content, embed)
        conn.execute(
            insert(models.ContentLoad).values(content_hash=content_hash, counts=content.counts())
        )
    return LoadReport(changed=True, counts=content.counts(), content_hash=content_hash)


def _rows(conn: Connection, model: type, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(model), rows)


def _insert(conn: Connection, content: Content, embed: Embed) -> None:
    _rows(conn, models.Source, [
        {"id": s.id, "kind": s.kind.value, "title": s.title, "authors": s.authors, "year": s.year,
         "publisher": s.publisher, "file": s.file, "cite_as": s.cite_as, "details": s.details,
         "url": s.url}
        for s in content.sources
    ])
    _rows(conn, models.Barrier, [
        {"id": b.id, "position": i, "name": b.name, "in_short": b.in_short, "description": b.description,
         "cues": b.cues, "stages": [s.value for s in b.stages]}
        for i, b in enumerate(content.barriers)
    ])
    _rows(conn, models.LevelGuide, [
        {"id": g.id, "position": i, "name": g.name, "role": g.role, "asks": g.asks, "priorities": g.priorities,
         "review_question": g.review_question, "barriers_when_unreached": g.barriers_when_unreached,
         "source_ids": g.sources}
        for i, g in enumerate(sorted(content.levels, key=lambda g: [lv.value for lv in Level].index(g.id)))
    ])
    _rows(conn, models.BarrierLevel, [
        {"barrier_id": b.id, "level": level.value} for b in content.barriers for level in b.levels
    ])
    _rows(conn, models.BarrierSource, [
        {"barrier_id": b.id, "source_id": src, "position": i}
        for b in content.barriers for i, src in enumerate(b.sources)
    ])
    _rows(conn, models.Strategy, [
        {"id": s.id, "title": s.title, "summary": s.summary, "why_it_works": s.why_it_works,
         "steps": s.steps, "effort": s.effort.value, "evidence": s.evidence.value,
         "cautions": s.cautions, "content_file": content.file_of("strategies", s.id)}
        for s in content.strategies
    ])
    _rows(conn, models.StrategyReplacement, [
        {"old_id": old, "strategy_id": s.id} for s in content.strategies for old in s.replaces
    ])
    _rows(conn, models.StrategyBarrier, [
        {"strategy_id": s.id, "barrier_id": link.id, "strength": link.strength.value}
        for s in content.strategies for link in s.barriers
    ])
    _rows(conn, models.StrategyLevel, [
        {"strategy_id": s.id, "level": level.value} for s in content.strategies for level in set(s.levels)
    ])
    situations = [(s.id, fits, i, text) for s in content.strategies
                  for fits, texts in ((True, s.situations.fits), (False, s.situations.does_not_fit))
                  for i, text in enumerate(texts)]
    vectors = np.asarray(embed([text for *_, text in situations]), dtype=np.float32)
    _rows(conn, models.StrategySituation, [
        {"strategy_id": sid, "fits": fits, "position": i, "text": text, "vector": vector.tobytes()}
        for (sid, fits, i, text), vector in zip(situations, vectors, strict=True)
    ])
    _rows(conn, models.Tool, [
        {"id": t.id, "name": t.name, "category": t.category.value, "what_it_is": t.what_it_is,
         "when_to_use": t.when_to_use, "how_to_use": t.how_to_use, "time_needed": t.time_needed,
         "who_to_involve": t.who_to_involve}
        for t in content.tools
    ])
    # One link table for both directions: a strategy's own tools keep its order; tools that
    # name a strategy the strategy did not name come after them.
    links: dict[tuple[str, str], int] = {}
    for s in content.strategies:
        for i, tool in enumerate(dict.fromkeys(s.tools)):
            links[(s.id, tool)] = i
    for t in content.tools:
        for strategy in t.related_strategies:
            links.setdefault((strategy, t.id), 100)
    _rows(conn, models.StrategyTool, [
        {"strategy_id": s, "tool_id": t, "position": pos} for (s, t), pos in links.items()
    ])
    _rows(conn, models.StrategySource, [
        {"strategy_id": s.id, "source_id": src, "position": i}
        for s in content.strategies for i, src in enumerate(dict.fromkeys(s.sources))
    ])
    _rows(conn, models.ToolSource, [
        {"tool_id": t.id, "source_id": src, "position": i}
        for t in content.tools for i, src in enumerate(dict.fromkeys(t.sources))
    ])
    _rows(conn, models.SearchTerm, _search_terms(content))
    _rows(conn, models.CoverageEntry, [
        {"seed_id": seed.seed, "name": entry.name, "kind": entry.kind, "covered_by": entry.covered_by}
        for seed in content.coverage for entry in seed.items
    ])


def _search_terms(content: Content) -> list[dict]:
    rows = []
    groups: tuple[tuple[str, list[Any]], ...] = (("tool", content.tools), ("strategy", content.strategies))
    for kind, items in groups:
        for item in items:
            names = [item.name if kind == "tool" else item.title, item.id.replace("_", " "), *item.aliases]
            seen = set()
            for term in names:
                norm = normalise(term)
                if norm and norm not in seen:
                    seen.add(norm)
                    rows.append({"kind": kind, "item_id": item.id, "term": term, "normalised": norm})
    return rows
