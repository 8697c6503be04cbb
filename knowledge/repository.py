"""The knowledge store's query API: what the actions call.

``KnowledgeStore`` wraps an engine and answers in plain frozen dataclasses, so callers never
hold a session or an ORM object. Every call opens and closes its own connection: nothing
about a conversation lives in this process, and several Rasa servers can share one database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection, Engine

from knowledge import models, ranking
from knowledge.db import default_engine
from knowledge.matching import AMBIGUITY_GAP, MATCH_THRESHOLD, MAX_QUERY_CHARS, normalise, score
from knowledge.schema import BARRIER_IDS, LEVEL_IDS, Evidence

EVIDENCE_LABEL = {
    Evidence.trial.value: "trial evidence",
    Evidence.evaluation.value: "evaluation across several sites",
    Evidence.case_study.value: "a single case study",
    Evidence.expert_opinion.value: "expert opinion",
}


# Statements built once (with expanding IN parameters): building a select costs more than
# SQLite takes to run it, and ``recommend`` sits on every strategy reply.
_RANKING_ROWS = (
    select(models.StrategyBarrier.strategy_id, models.StrategyBarrier.barrier_id,
           models.StrategyBarrier.strength, models.Barrier.name.label("barrier_name"),
           models.Barrier.in_short.label("barrier_in_short"),
           models.Strategy.evidence, models.Strategy.effort, models.StrategyLevel.level)
    .join(models.Strategy, models.Strategy.id == models.StrategyBarrier.strategy_id)
    .join(models.Barrier, models.Barrier.id == models.StrategyBarrier.barrier_id)
    .join(models.StrategyLevel, models.StrategyLevel.strategy_id == models.StrategyBarrier.strategy_id)
    .where(models.StrategyBarrier.barrier_id.in_(bindparam("barrier_ids", expanding=True)))
)
_STRATEGY_TEXTS = (
    select(models.Strategy.id, models.Strategy.title, models.Strategy.summary,
           models.Strategy.why_it_works, models.Strategy.steps)
    .where(models.Strategy.id.in_(bindparam("ids", expanding=True)))
)
_SITUATIONS = (
    select(models.StrategySituation.strategy_id, models.StrategySituation.fits, models.StrategySituation.text,
           models.StrategySituation.vector)
    .order_by(models.StrategySituation.strategy_id, models.StrategySituation.fits.desc(),
              models.StrategySituation.position)
)
_LAST_LOAD = select(func.max(models.ContentLoad.id))
_STRATEGY_TOOLS = (
    select(models.StrategyTool.strategy_id, models.Tool.id, models.Tool.name)
    .join(models.Tool, models.Tool.id == models.StrategyTool.tool_id)
    .where(models.StrategyTool.strategy_id.in_(bindparam("ids", expanding=True)))
    .order_by(models.StrategyTool.strategy_id, models.StrategyTool.position, models.Tool.id)
)


class StoreError(ValueError):
    """A caller asked something the store cannot answer (unknown id, bad confidence...)."""


# --- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRef:
    id: str
    label: str  # who and when: "Pannick et al. 2016"
    citation: str  # the full reference: "Pannick S, Sevdalis N, Athanasiou T (2016). Beyond ..."
    file: str | None  # the seed's file name: kept for maintainers, never shown to users
    venue: str = ""  # the journal or publisher: "BMJ Quality & Safety"
    url: str | None = None  # where a reader can follow it (a DOI or the publisher's page)
    details: str | None = None

    @property
    def short(self) -> str:
        """How a reply names it: who, when and where ("Pannick et al. 2016, BMJ Quality & Safety")."""
        if not self.venue or _plain(self.venue) in _plain(self.label):
            return self.label
        return f"{self.label}, {self.venue}"


def _plain(text: str) -> str:
    text = text.lower()
    return text[4:] if text.startswith("the ") else text


@dataclass(frozen=True)
class ToolRef:
    id: str
    name: str


@dataclass(frozen=True)
class BarrierInfo:
    id: str
    name: str
    in_short: str  # "finding the time": how a sentence names it
    description: str
    cues: tuple[str, ...]
    levels: tuple[str, ...]
    sources: tuple[SourceRef, ...]
    stages: tuple[str, ...] = ()  # where in a project it most often stalls work


@dataclass(frozen=True)
class LevelGuideInfo:
    """An organisational level of the model of alignment, and what to ask of it."""

    id: str
    name: str
    role: str
    asks: tuple[str, ...]
    sources: tuple[SourceRef, ...]
    priorities: str = ""  # what the level cares about, for the stalled-project review
    review_question: str = ""
    barriers_when_unreached: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """One of the user's barriers that a recommended strategy addresses."""

    barrier_id: str
    barrier_name: str
    strength: str  # "primary" | "secondary"
    confidence: float
    contribution: float  # confidence x strength weight
    in_short: str = ""  # "finding the time": the barrier inside a sentence
    reports: ranking.Reports | None = None  # what people reported trying it for this barrier


@dataclass(frozen=True)
class Recommendation:
    strategy_id: str
    title: str
    summary: str
    why_it_works: str
    first_step: str
    effort: str
    evidence: str
    score: float
    reasons: tuple[Reason, ...]
    levels: tuple[str, ...]
    tools: tuple[ToolRef, ...]
    sources: tuple[SourceRef, ...]
    situation: ranking.SituationMatch | None = None  # how it matched what the person said

    @property
    def evidence_label(self) -> str:
        return EVIDENCE_LABEL[self.evidence]

    @property
    def because_you_said(self) -> str | None:
        """The person's own sentence this strategy fits, when the match is close enough to
        say so ("you said ..."); else None."""
        return self.situation.sentence if self.situation and self.situation.quotable else None

    @property
    def reported(self) -> str | None:
        """What people said at their check-ins, once there are enough reports: "7 of 9 teams who
        tried this for finding the time said it helped"; None before that."""
        counted = [r for r in self.reasons if r.reports is not None and r.reports.enough]
        if not counted:
            return None
        return "; ".join(f"{r.reports.helped} of {r.reports.tried} teams who tried this for {r.in_short} said it "
                         "helped" for r in counted if r.reports)

    @property
    def reason_text(self) -> str:
        """Plain words: "addresses no time for the project (directly) and ... (in part)"."""
        parts = [
            f"{r.barrier_name.lower()} ({'directly' if r.strength == 'primary' else 'in part'})"
            for r in self.reasons
        ]
        return "addresses " + (" and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts))


@dataclass(frozen=True)
class StrategyInfo:
    id: str
    title: str
    summary: str
    why_it_works: str
    steps: tuple[str, ...]
    cautions: tuple[str, ...]
    effort: str
    evidence: str
    barriers: tuple[tuple[str, str], ...]  # (barrier id, strength)
    levels: tuple[str, ...]
    tools: tuple[ToolRef, ...]
    sources: tuple[SourceRef, ...]

    @property
    def evidence_label(self) -> str:
        return EVIDENCE_LABEL[self.evidence]


@dataclass(frozen=True)
class ToolInfo:
    id: str
    name: str
    category: str
    what_it_is: str
    when_to_use: str
    how_to_use: tuple[str, ...]
    time_needed: str
    who_to_involve: str
    related_strategies: tuple[str, ...]
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True)
class Match:
    id: str
    name: str
    score: float
    matched_term: str


@dataclass(frozen=True)
class Lookup:
    """The answer to "which tool/strategy does this text mean?"."""

    query: str
    kind: str  # "tool" | "strategy"
    matches: tuple[Match, ...]

    @property
    def found(self) -> bool:
        return bool(self.matches)

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def ambiguous(self) -> bool:
        """The best two matches are too close to choose between: ask which was meant."""
        return len(self.matches) > 1 and self.matches[0].score - self.matches[1].score < AMBIGUITY_GAP

    @property
    def message(self) -> str:
        """One sentence for a person: what was found, or clearly that nothing was."""
        if not self.matches:
            return f"No {self.kind} in the library matches '{self.query.strip()}'."
        if not self.ambiguous:
            return f"'{self.query.strip()}' is {self.matches[0].name}."
        names = ", ".join(m.name for m in self.matches[:3])
        plural = "strategies" if self.kind == "strategy" else "tools"
        return f"'{self.query.strip()}' could mean several {plural}: {names}."


# --- the store -----------------------------------------------------------------------------


class KnowledgeStore:
    """Read access to the curated content, over any SQLAlchemy engine."""

    def __init__(self, engine: Engine | None = None):
        self._engine = engine
        self._situations: tuple[int | None, dict[str, ranking.Situations]] = (None, {})

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = default_engine()
        return self._engine

    # recommend -----------------------------------------------------------------------------

    def recommend(
        self,
        barriers: Mapping[str, float] | Iterable[Mapping[str, object]],
        levels: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        limit: int | None = 3,
        top_up: bool = False,
        said: ranking.Said | None = None,
        reports: Mapping[tuple[str, str], ranking.Reports] | None = None,
    ) -> list[Recommendation]:
        """Strategies for the user's barriers, best first, ranked by ``knowledge.ranking``
        (its docstring states the policy: scores, tie-breaks, levels and topping up).

        Args:
            barriers: ``{barrier_id: weight}`` (a reading's ``weight``), or a list of
                ``{"id": ..., "confidence": ...}``; each in [0, 1].
            levels: the user's levels (``front_line``, ``middle_manager``, ``senior_leader``):
                strategies acting at one of them come first.
            exclude: strategy ids to leave out (what the user already tried or saw).
            limit: how many to return; ``None`` for all.
            top_up: fill up from other levels when fewer than ``limit`` act at ``levels``
                (what the conversation and the plan do); otherwise only those at ``levels``.
            said: what the person said (``qi_coach.coaching.said``): strategies whose
                situations match it come first, and each answer keeps the match.
            reports: ``{(strategy id, barrier id): Reports}``, what people reported at their
                check-ins (``qi_coach.followup``); past ``ranking.MIN_REPORTS`` they move the
                ranking and are shown (``Recommendation.reported``).

        Returns:
            Up to ``limit`` recommendations, each with the reasons it was chosen, its first
            step, tools, sources and evidence level. Empty if nothing fits.

        Raises:
            StoreError: an unknown barrier id or level, or a confidence outside [0, 1].
        """
        try:
            weights = ranking.checked_weights(_barrier_weights(barriers))
            if not weights:
                ranking.rank((), weights, levels=levels, limit=limit)  # still refuses bad arguments
                return []
            with self.engine.connect() as conn:
                candidates, names = self._candidates(conn, list(weights))
                if reports:
                    candidates = [replace(c, reports={b: reports[c.strategy_id, b] for b in c.links
                                                      if (c.strategy_id, b) in reports}) for c in candidates]
                if said is not None:
                    situations = self._situations_of(conn)
                    candidates = [replace(c, situations=situations.get(c.strategy_id)) for c in candidates]
                excluded = list(exclude)
                excluded += self._current_ids(conn, excluded).values()  # merged away: the merge counts too
                ranked = ranking.rank(candidates, weights, levels=levels, exclude=excluded, limit=limit,
                                      top_up=top_up, said=said)
                ids = [r.candidate.strategy_id for r in ranked]
                if not ids:
                    return []
                texts = {row.id: row for row in conn.execute(_STRATEGY_TEXTS, {"ids": ids})}
                tools = self._tools_of(conn, ids)
                sources = self._sources(conn, models.StrategySource, models.StrategySource.strategy_id, ids)
        except ranking.RankingError as exc:
            raise StoreError(str(exc)) from None
        return [self._recommendation(r, texts[r.candidate.strategy_id], weights, names,
                                     tools[r.candidate.strategy_id], sources[r.candidate.strategy_id])
                for r in ranked]

    @staticmethod
    def _candidates(conn: Connection, barrier_ids: list[str]
                    ) -> tuple[list[ranking.Candidate], dict[str, tuple[str, str]]]:
        """The strategies linked to any of ``barrier_ids``, as the ranking sees them, and the
        barriers' names (``(name, in_short)``)."""
        links: dict[str, dict[str, str]] = defaultdict(dict)
        facts: dict[str, tuple[str, str]] = {}
        levels: dict[str, set[str]] = defaultdict(set)
        names: dict[str, tuple[str, str]] = {}
        for row in conn.execute(_RANKING_ROWS, {"barrier_ids": barrier_ids}):
            links[row.strategy_id][row.barrier_id] = row.strength
            facts[row.strategy_id] = (row.evidence, row.effort)
            levels[row.strategy_id].add(row.level)
            names[row.barrier_id] = (row.barrier_name, row.barrier_in_short)
        candidates = [ranking.Candidate(sid, links[sid], frozenset(levels[sid]), *facts[sid]) for sid in links]
        return candidates, names

    def _situations_of(self, conn: Connection) -> dict[str, ranking.Situations]:
        """Every strategy's situations with their vectors, read once per content load (the
        vectors are about 1 MB; the latest load's id is one indexed lookup per call)."""
        load_id = conn.execute(_LAST_LOAD).scalar()
        if self._situations[0] != load_id or load_id is None:
            rows: dict[str, dict[bool, list]] = defaultdict(lambda: {True: [], False: []})
            for row in conn.execute(_SITUATIONS):
                rows[row.strategy_id][bool(row.fits)].append(row)
            self._situations = (load_id, {
                sid: ranking.Situations(tuple(r.text for r in sides[True]), _vectors(sides[True]),
                                        _vectors(sides[False]))
                for sid, sides in rows.items()})
        return self._situations[1]

    @staticmethod
    def _recommendation(ranked: ranking.Ranked, text, weights: Mapping[str, float],
                        names: Mapping[str, tuple[str, str]], tools: tuple[ToolRef, ...],
                        sources: tuple[SourceRef, ...]) -> Recommendation:
        c = ranked.candidate
        reasons = (Reason(b, names[b][0], c.links[b], weights[b], contribution, names[b][1], c.reports.get(b))
                   for b, contribution in ranked.contributions.items())
        return Recommendation(
            strategy_id=c.strategy_id, title=text.title, summary=text.summary, why_it_works=text.why_it_works,
            first_step=text.steps[0], effort=c.effort, evidence=c.evidence, score=ranked.score,
            reasons=tuple(sorted(reasons, key=lambda r: (-r.contribution, r.barrier_id))),
            levels=tuple(sorted(c.levels, key=LEVEL_IDS.index)), tools=tools, sources=sources,
            situation=ranked.situation,
        )

    # lookups -------------------------------------------------------------------------------

    def find_tool(self, text: str, limit: int = 5) -> Lookup:
        """Tools that ``text`` names ("bullet-proofing", "stakeholder map", "PDSA"), best first.

        ``Lookup.found`` is False, and ``Lookup.message`` says so, when nothing matches.
        """
        return self._find("tool", text, limit)

    def find_strategies(self, text: str, limit: int = 5) -> Lookup:
        """Strategies that ``text`` names ("we tried protected time"), best first."""
        return self._find("strategy", text, limit)

    def _find(self, kind: str, text: str, limit: int) -> Lookup:
        query = normalise(text or "")[:MAX_QUERY_CHARS]
        if not query:
            return Lookup(text or "", kind, ())
        with self.engine.connect() as conn:
            terms = conn.execute(
                select(models.SearchTerm.item_id, models.SearchTerm.term, models.SearchTerm.normalised)
                .where(models.SearchTerm.kind == kind)
            ).all()
            # Per item, its best term: highest score, then the longer (more specific) term.
            best: dict[str, tuple[float, int, str]] = {}
            for row in terms:
                s = score(query, row.normalised)
                if s >= MATCH_THRESHOLD:
                    candidate = (s, len(row.normalised), row.term)
                    best[row.item_id] = max(best.get(row.item_id, candidate), candidate)
            if not best:
                return Lookup(text, kind, ())
            model = models.Tool if kind == "tool" else models.Strategy
            label = model.name if kind == "tool" else model.title
            names = dict(conn.execute(select(model.id, label).where(model.id.in_(best))).all())
        ordered = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return Lookup(text, kind, tuple(
            Match(item_id, names[item_id], s, term) for item_id, (s, _, term) in ordered[:limit]
        ))

    # details -------------------------------------------------------------------------------

    def get_strategy(self, strategy_id: str) -> StrategyInfo:
        """Everything about one strategy (a retired id gives the strategy it was merged into).
        Raises ``StoreError`` for an unknown id."""
        with self.engine.connect() as conn:
            current = self._current_ids(conn, [strategy_id]).get(strategy_id, strategy_id)
            found = self._strategy_infos(conn, [current])
        if current not in found:
            raise StoreError(f"no strategy has id '{strategy_id}'")
        return found[current]

    def current_strategy_ids(self, ids: Iterable[str]) -> list[str]:
        """``ids`` with each retired id replaced by the strategy it was merged into (order kept,
        no repeats): what was tried or suggested under an old id still counts."""
        ids = list(ids)
        with self.engine.connect() as conn:
            current = self._current_ids(conn, ids)
        return list(dict.fromkeys(current.get(i, i) for i in ids))

    @staticmethod
    def _current_ids(conn: Connection, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        return dict(conn.execute(
            select(models.StrategyReplacement.old_id, models.StrategyReplacement.strategy_id)
            .where(models.StrategyReplacement.old_id.in_(ids))).all())

    def get_tool(self, tool_id: str) -> ToolInfo:
        """Everything about one tool. Raises ``StoreError`` for an unknown id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(models.Tool).where(models.Tool.id == tool_id)).first()
            if row is None:
                raise StoreError(f"no tool has id '{tool_id}'")
            related = conn.execute(
                select(models.StrategyTool.strategy_id).where(models.StrategyTool.tool_id == tool_id)
                .order_by(models.StrategyTool.strategy_id)
            ).scalars().all()
            sources = self._sources(conn, models.ToolSource, models.ToolSource.tool_id, [tool_id])
        return ToolInfo(
            id=row.id, name=row.name, category=row.category, what_it_is=row.what_it_is,
            when_to_use=row.when_to_use, how_to_use=tuple(row.how_to_use),
            time_needed=row.time_needed, who_to_involve=row.who_to_involve,
            related_strategies=tuple(related), sources=sources[tool_id],
        )

    def get_barrier(self, barrier_id: str) -> BarrierInfo:
        """One barrier of the taxonomy. Raises ``StoreError`` for an unknown id."""
        found = self.barriers([barrier_id])
        if not found:
            raise StoreError(f"no barrier has id '{barrier_id}'")
        return found[0]

    def barriers(self, only: Iterable[str] | None = None) -> list[BarrierInfo]:
        """All barriers (or ``only`` these ids), in the taxonomy's order."""
        query = select(models.Barrier).order_by(models.Barrier.position)
        level_query = select(models.BarrierLevel.barrier_id, models.BarrierLevel.level)
        if only is not None:
            wanted = list(only)
            query = query.where(models.Barrier.id.in_(wanted))
            level_query = level_query.where(models.BarrierLevel.barrier_id.in_(wanted))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            levels = _grouped(conn.execute(level_query))
            ids = [r.id for r in rows]
            sources = self._sources(conn, models.BarrierSource, models.BarrierSource.barrier_id, ids)
        return [
            BarrierInfo(r.id, r.name, r.in_short, r.description, tuple(r.cues),
                        tuple(sorted(levels[r.id], key=LEVEL_IDS.index)), sources[r.id], tuple(r.stages or ()))
            for r in rows
        ]

    def level_guides(self) -> list[LevelGuideInfo]:
        """The three levels (front line, middle managers, senior leaders), in that order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(models.LevelGuide).order_by(models.LevelGuide.position)).all()
            wanted = sorted({s for r in rows for s in r.source_ids})
            found = {r.id: source_ref(r) for r in conn.execute(
                select(*_SOURCE_COLUMNS).where(models.Source.id.in_(wanted)))} if wanted else {}
        return [LevelGuideInfo(r.id, r.name, r.role, tuple(r.asks), tuple(found[s] for s in r.source_ids if s in found),
                               r.priorities, r.review_question, tuple(r.barriers_when_unreached))
                for r in rows]

    def sources(self) -> list[SourceRef]:
        """Every source the content cites, seeds first (the web chat's sources page lists them)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_SOURCE_COLUMNS).order_by(models.Source.file.is_(None), models.Source.id))
            return [source_ref(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many barriers, strategies, tools and sources are served."""
        with self.engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(model)).scalar_one()
                for name, model in (("barriers", models.Barrier), ("strategies", models.Strategy),
                                    ("tools", models.Tool), ("sources", models.Source))
            }

    def evidence_counts(self) -> dict[str, int]:
        """How many strategies carry each evidence level, strongest first."""
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(models.Strategy.evidence, func.count())
                                      .group_by(models.Strategy.evidence)).all())
        return {level.value: found.get(level.value, 0) for level in Evidence}

    def strategy_ids(self) -> list[str]:
        """Every strategy served, by id."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(models.Strategy.id).order_by(models.Strategy.id)).scalars())

    def strategies_per_barrier(self) -> dict[str, dict[str, int]]:
        """For each barrier: how many strategies address it, as primary and as secondary."""
        out = {b: {"primary": 0, "secondary": 0} for b in BARRIER_IDS}
        with self.engine.connect() as conn:
            for barrier_id, strength, n in conn.execute(
                select(models.StrategyBarrier.barrier_id, models.StrategyBarrier.strength, func.count())
                .group_by(models.StrategyBarrier.barrier_id, models.StrategyBarrier.strength)
            ):
                out.setdefault(barrier_id, {"primary": 0, "secondary": 0})[strength] = n
        return out

    # helpers -------------------------------------------------------------------------------

    def _strategy_infos(self, conn: Connection, ids: list[str]) -> dict[str, StrategyInfo]:
        if not ids:
            return {}
        rows = {r.id: r for r in conn.execute(select(models.Strategy).where(models.Strategy.id.in_(ids)))}
        levels = _grouped(conn.execute(
            select(models.StrategyLevel.strategy_id, models.StrategyLevel.level)
            .where(models.StrategyLevel.strategy_id.in_(ids))
        ))
        barriers = _grouped(conn.execute(
            select(models.StrategyBarrier.strategy_id,
                   models.StrategyBarrier.barrier_id, models.StrategyBarrier.strength)
            .where(models.StrategyBarrier.strategy_id.in_(ids))
        ), pairs=True)
        tools = self._tools_of(conn, ids)
        sources = self._sources(conn, models.StrategySource, models.StrategySource.strategy_id, ids)
        return {
            sid: StrategyInfo(
                id=r.id, title=r.title, summary=r.summary, why_it_works=r.why_it_works,
                steps=tuple(r.steps), cautions=tuple(r.cautions), effort=r.effort,
                evidence=r.evidence,
                barriers=tuple(sorted(barriers[sid], key=lambda b: (b[1] != "primary", BARRIER_IDS.index(b[0])))),
                levels=tuple(sorted(levels[sid], key=LEVEL_IDS.index)),
                tools=tuple(tools[sid]), sources=sources[sid],
            )
            for sid, r in rows.items()
        }

    @staticmethod
    def _tools_of(conn: Connection, ids: list[str]) -> dict[str, tuple[ToolRef, ...]]:
        out: dict[str, list[ToolRef]] = defaultdict(list)
        for row in conn.execute(_STRATEGY_TOOLS, {"ids": ids}):
            out[row.strategy_id].append(ToolRef(row.id, row.name))
        return defaultdict(tuple, {k: tuple(v) for k, v in out.items()})

    @staticmethod
    def _sources(conn: Connection, link: type, owner_column, ids: list[str]) -> dict[str, tuple[SourceRef, ...]]:
        out: dict[str, list[SourceRef]] = defaultdict(list)
        for row in conn.execute(_sources_statement(link, owner_column), {"ids": ids}):
            out[row.owner].append(source_ref(row))
        return defaultdict(tuple, {k: tuple(v) for k, v in out.items()})


_SOURCE_COLUMNS = (models.Source.id, models.Source.authors, models.Source.year, models.Source.title,
                   models.Source.publisher, models.Source.file, models.Source.cite_as, models.Source.url,
                   models.Source.details)


@cache
def _sources_statement(link: Any, owner_column: Any) -> Any:
    """The sources of barriers, strategies or tools (by their link table), in cited order."""
    return (
        select(owner_column.label("owner"), *_SOURCE_COLUMNS)
        .join(models.Source, models.Source.id == link.source_id)
        .where(owner_column.in_(bindparam("ids", expanding=True)))
        .order_by(owner_column, link.position)
    )


def _vectors(rows: list) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])


def source_ref(src) -> SourceRef:
    """A citation from a ``sources`` row (any object with its columns as attributes)."""
    year = src.year if src.year is not None else "n.d."
    title = src.title if src.title[-1] in ".?!" else src.title + "."
    citation = f"{', '.join(src.authors)} ({year}). {title} {src.publisher}."
    venue = src.publisher.split(",")[0].strip()
    return SourceRef(src.id, src.cite_as or _label(src.authors, year), citation, src.file, venue=venue,
                     url=src.url, details=src.details)


def _label(authors: list[str], year: object) -> str:
    """"Pannick et al. 2016", "Provost and Murray 2011", "Kotter 1996" (surname = first word)."""
    names = [a.split()[0] for a in authors]
    who = names[0] if len(names) == 1 else (f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al.")
    return f"{who} {year}"


def _grouped(rows, pairs: bool = False) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for row in rows:
        out[row[0]].append(tuple(row[1:]) if pairs else row[1])
    return out


def _barrier_weights(barriers) -> dict[str, float]:
    """``{id: weight}`` from a mapping, or from a list of ``{"id", "confidence"}`` (the highest
    confidence of a barrier named twice)."""
    if isinstance(barriers, Mapping):
        return dict(barriers)
    out: dict[str, float] = {}
    for entry in barriers:
        if not isinstance(entry, Mapping) or "id" not in entry:
            raise StoreError(f"each barrier must be {{'id': ..., 'confidence': ...}}, got {entry!r}")
        confidence = entry.get("confidence", 1.0)
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
            raise StoreError(f"confidence for '{entry['id']}' must be a number, got {confidence!r}")
        out[str(entry["id"])] = max(float(confidence), out.get(str(entry["id"]), float("-inf")))
    return out
