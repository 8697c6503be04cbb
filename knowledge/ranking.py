"""Which strategies to suggest, and in what order: the ranking policy, with no SQL in it.

``KnowledgeStore.recommend`` reads the facts (``Candidate``) from the database and asks
``rank`` for the order; the conversation and the action plan both go through it, so they
weigh barriers the same way and top up the same way.

The policy, in one place:

- A strategy scores the sum, over the user's barriers it addresses, of the barrier's weight
  times 1.0 for a primary link or 0.5 for a secondary one (as the CFIR-ERIC matching tool
  ranks strategies by the barriers they were endorsed for). So a strategy that serves two of
  the user's barriers can outrank one that serves a single barrier more directly.
- Ties go, in turn, to the strategy covering more of the user's barriers, stronger evidence
  (trial, then evaluation, then expert opinion), lower effort, then the id: the order is
  deterministic.
- Strategies the user tried or has been shown are left out.
- Situations: when we know what the person said, it is compared with each strategy's curated
  situations by cosine similarity of the classifier's sentence vectors, two ways that count
  equally: the gist (the mean of their sentences' vectors against the mean of the strategy's
  fits), so the whole story counts, and the closest pair (one sentence of theirs, one fit), so
  one telling detail ("the consultants are retiring") is not averaged away. That fit, above
  ``SITUATION_FLOOR``, adds ``SITUATION_WEIGHT`` times its margin to the score; the strategy's
  does-not-fit situations, measured the same way, take off the margin by which they come
  closer. So among strategies for the same barriers, the one whose circumstances match what the
  person described comes first, and the closest pair, when close enough (``QUOTE_FROM``), is the
  reason the reply gives in their own words. With nothing said, the score is the barrier score.
- Reported outcomes: people who tried a strategy say at their check-in whether it helped (a
  rating of 4 or 5 out of 5 counts as helped). Per barrier, once at least ``MIN_REPORTS``
  people tried it for that barrier, the share who said it helped moves the score. The share is
  shrunk towards what the curated evidence leads us to expect (``EXPECTED_HELPED``: trial 0.7,
  evaluation 0.6, a single case study 0.55, expert opinion 0.5) as if ``PRIOR_REPORTS`` people had already reported that:
  ``(helped + PRIOR_REPORTS x expected) / (tried + PRIOR_REPORTS)``. The score gains
  ``OUTCOME_WEIGHT`` x the barrier's weight x (that share - expected): up when people find it
  helps more often than its evidence suggests, down when less. Five reports can move a strategy
  at most 0.23 x the weight (all five saying it did not help, for a trial-backed strategy):
  less than half of what a primary link is worth over a secondary one (0.5 x the weight). So a
  handful of reports reorders close strategies but cannot overturn the curated evidence, and
  many reports can.
- Levels: strategies acting at the user's levels come first; when they are fewer than asked
  for, the best of the others top the answer up (``top_up``), else nothing else is offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from knowledge.schema import BARRIER_IDS, LEVEL_IDS, Evidence

STRENGTH_WEIGHT = {"primary": 1.0, "secondary": 0.5}
EVIDENCE_RANK = {level.value: rank for rank, level in enumerate(Evidence)}  # strongest first
EFFORT_RANK = {"low": 0, "medium": 1, "high": 2}

#: Similarity below which what was said and a strategy's situations share no more than being
#: about QI at all (unrelated sentences in this domain sit around 0.2-0.35).
SITUATION_FLOOR = 0.3
#: How much fitting the situation counts against fitting the barriers. The fit of a description
#: to the strategies for its barriers spreads over about 0.3 to 0.6; across that spread the
#: situation can add 0.6, more than the gap between a primary and a secondary link to a barrier
#: read at 0.9 (0.45): fitting what the person described outranks fitting the label better.
SITUATION_WEIGHT = 2.0
#: A sentence of theirs and one situation this close (cosine) are close enough to quote
#: ("you said ...") as the reason; looser pairs are often about the same topic, not the same
#: circumstance. Sentences shorter than ``QUOTE_MIN_WORDS`` are not quoted.
QUOTE_FROM = 0.6
QUOTE_MIN_WORDS = 6
#: Reports needed, for one strategy and barrier, before they count or are shown.
MIN_REPORTS = 5
#: How many reports the curated evidence is worth (see the module docstring).
PRIOR_REPORTS = 10
#: The share of people we expect to say a strategy helped, from its curated evidence.
EXPECTED_HELPED = {Evidence.trial.value: 0.7, Evidence.evaluation.value: 0.6, Evidence.case_study.value: 0.55,
                   Evidence.expert_opinion.value: 0.5}
OUTCOME_WEIGHT = 1.0


class RankingError(ValueError):
    """The ranking was asked something it cannot answer (unknown id or level, bad weight)."""


def gist(vectors: np.ndarray) -> np.ndarray | None:
    """The unit-length mean of unit vectors (one row each): what they say as a whole."""
    if len(vectors) == 0:
        return None
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


@dataclass(frozen=True, eq=False)
class Situations:
    """A strategy's curated situations with their unit-length sentence vectors (one row each)."""

    fits: tuple[str, ...]
    fit_vectors: np.ndarray
    misfit_vectors: np.ndarray
    fit_gist: np.ndarray | None = field(init=False, repr=False)
    misfit_gist: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fit_gist", gist(self.fit_vectors))
        object.__setattr__(self, "misfit_gist", gist(self.misfit_vectors))


@dataclass(frozen=True, eq=False)
class Said:
    """What the person said in this conversation (redacted), one sentence per row, with the
    unit-length vector of each from the same sentence encoder."""

    sentences: tuple[str, ...]
    vectors: np.ndarray
    gist: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.sentences):
            raise RankingError(f"{len(self.sentences)} sentences need as many vectors, got {self.vectors.shape}")
        object.__setattr__(self, "gist", gist(self.vectors))


@dataclass(frozen=True)
class Reports:
    """What people reported at their check-ins about one strategy for one barrier."""

    tried: int  # said they did it, fully or partly
    helped: int  # of those, rated it 4 or 5 out of 5

    @property
    def enough(self) -> bool:
        """Enough reports to count in the ranking and to show beside the strategy."""
        return self.tried >= MIN_REPORTS

    def shrunk_share(self, evidence: str) -> float:
        """The share who said it helped, shrunk towards what its evidence leads us to expect."""
        expected = EXPECTED_HELPED[evidence]
        return (self.helped + PRIOR_REPORTS * expected) / (self.tried + PRIOR_REPORTS)


@dataclass(frozen=True)
class Candidate:
    """What the ranking needs to know about one strategy."""

    strategy_id: str
    links: Mapping[str, str]  # the user's barriers it addresses -> "primary" | "secondary"
    levels: frozenset[str]
    evidence: str
    effort: str
    situations: Situations | None = field(default=None, compare=False)
    reports: Mapping[str, Reports] = field(default_factory=dict, compare=False)  # barrier id -> reports


@dataclass(frozen=True)
class SituationMatch:
    """How a strategy's situations matched what the person said."""

    fit: float  # half the gists' similarity, half the closest pair's: what was said, the fits
    against: float  # the same with its does-not-fits (-1 when it has none)
    contribution: float  # what this added to (or took off) the score
    sentence: str  # the person's sentence closest to one of the strategy's fits
    situation: str  # that fit
    similarity: float  # their cosine similarity

    @property
    def quotable(self) -> bool:
        """Close enough that the reply can say "you said ..." and be right."""
        return (self.contribution > 0 and self.similarity >= QUOTE_FROM
                and len(self.sentence.split()) >= QUOTE_MIN_WORDS)


@dataclass(frozen=True)
class Ranked:
    """A candidate with its score and, per barrier it serves, what that barrier added."""

    candidate: Candidate
    score: float
    contributions: Mapping[str, float]  # barrier id -> weight x strength weight
    situation: SituationMatch | None = None
    outcomes: float = 0.0  # what reported outcomes added (or took off)


def checked_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """``{barrier id: weight}`` with every id known and every weight a number in [0, 1];
    barriers of weight 0 are dropped (they cannot make a strategy fit)."""
    out: dict[str, float] = {}
    for barrier_id, weight in weights.items():
        if barrier_id not in BARRIER_IDS:
            raise RankingError(f"unknown barrier id '{barrier_id}'; known ids: {', '.join(BARRIER_IDS)}")
        try:
            value = float(weight)
        except (TypeError, ValueError):
            raise RankingError(f"confidence for '{barrier_id}' must be a number, got {weight!r}") from None
        if not 0.0 <= value <= 1.0:
            raise RankingError(f"confidence for '{barrier_id}' must be between 0 and 1, got {value}")
        if value > 0.0:
            out[barrier_id] = value
    return out


def checked_levels(levels: Iterable[str] | None) -> set[str]:
    chosen = set(levels or ())
    unknown = chosen - set(LEVEL_IDS)
    if unknown:
        raise RankingError(f"unknown level(s) {', '.join(sorted(unknown))}; known: {', '.join(LEVEL_IDS)}")
    return chosen


def rank(candidates: Iterable[Candidate], weights: Mapping[str, float], *, levels: Iterable[str] | None = None,
         exclude: Iterable[str] = (), limit: int | None = 3, top_up: bool = False,
         said: Said | None = None) -> list[Ranked]:
    """The best candidates for the user's barriers, best first.

    Args:
        candidates: strategies linked to at least one of the barriers in ``weights``.
        weights: ``{barrier id: weight}`` (a reading's ``weight``), each in [0, 1].
        levels: the user's levels; strategies acting at one of them come first.
        exclude: strategy ids to leave out (tried, or already shown).
        limit: how many to return; None for all.
        top_up: when fewer than ``limit`` act at ``levels``, fill up from the other levels;
            otherwise only strategies at ``levels`` are returned.
        said: what the person said; strategies whose situations match it move up.

    Raises:
        RankingError: an unknown barrier id or level, a weight outside [0, 1], a limit below 1.
    """
    wanted = checked_weights(weights)
    at_levels = checked_levels(levels)
    if limit is not None and limit < 1:
        raise RankingError("limit must be at least 1")
    excluded = set(exclude)
    scored = [_score(c, wanted, said) for c in candidates if c.strategy_id not in excluded]
    ordered = sorted((r for r in scored if r.contributions), key=_order)
    if not at_levels:
        return ordered[:limit]
    first = [r for r in ordered if r.candidate.levels & at_levels]
    rest = [r for r in ordered if not r.candidate.levels & at_levels] if top_up else []
    return (first + rest)[:limit]


def _score(candidate: Candidate, weights: Mapping[str, float], said: Said | None) -> Ranked:
    contributions = {b: round(weights[b] * STRENGTH_WEIGHT[strength], 6)
                     for b, strength in candidate.links.items() if b in weights}
    match = situation_match(candidate.situations, said) if contributions else None
    outcomes = outcome_adjustment(candidate, weights) if contributions else 0.0
    score = sum(contributions.values()) + (match.contribution if match else 0.0) + outcomes
    return Ranked(candidate, round(score, 6), contributions, match, round(outcomes, 6))


def outcome_adjustment(candidate: Candidate, weights: Mapping[str, float]) -> float:
    """What reported outcomes add to a strategy's score for the user's barriers (the rule is in
    the module docstring); 0 below ``MIN_REPORTS`` for every barrier."""
    expected = EXPECTED_HELPED[candidate.evidence]
    return sum(OUTCOME_WEIGHT * weights[b] * (r.shrunk_share(candidate.evidence) - expected)
               for b, r in candidate.reports.items() if b in weights and b in candidate.links and r.enough)


def situation_match(situations: Situations | None, said: Said | None) -> SituationMatch | None:
    """How well what the person said matches a strategy's situations (``None`` if either is
    missing): the fit, the misfit, what they add, and the closest (sentence, fit) pair."""
    if situations is None or said is None or said.gist is None or situations.fit_gist is None:
        return None
    pairs = said.vectors @ situations.fit_vectors.T  # sentences x fits
    sentence, situation = np.unravel_index(int(np.argmax(pairs)), pairs.shape)
    closest = float(pairs[sentence, situation])
    fit = (float(said.gist @ situations.fit_gist) + closest) / 2
    against = -1.0
    if situations.misfit_gist is not None:
        against = (float(said.gist @ situations.misfit_gist) + float((said.vectors @ situations.misfit_vectors.T).max())) / 2
    gain = max(0.0, fit - SITUATION_FLOOR)
    loss = max(0.0, against - max(fit, SITUATION_FLOOR))
    return SituationMatch(round(fit, 4), round(against, 4), round(SITUATION_WEIGHT * (gain - loss), 6),
                          said.sentences[sentence], situations.fits[situation], round(closest, 4))


def _order(ranked: Ranked) -> tuple:
    c = ranked.candidate
    return (-ranked.score, -len(ranked.contributions), EVIDENCE_RANK[c.evidence], EFFORT_RANK[c.effort],
            c.strategy_id)
