"""Turn the guided triage's answers into a prioritised list of barriers.

Each free-text answer ("what is getting in the way?", possibly several) has been read by the
barrier classifier. Here those readings are combined with what else the user said:

- *Evidence across answers.* A barrier's confidences from separate answers combine as
  independent signals, ``1 - (1 - c1)(1 - c2)...``: mentioned twice, it rises, never past 1.
- *Stage.* A barrier that typically stalls projects at the user's stage (``stages`` in
  ``knowledge/content/barriers.yml``) is weighed up by ``STAGE_WEIGHT``.
- *Levels.* The model of alignment (seed 002) says a project stalls when a level it needs is not
  aligned with it. A barrier that sits at a level the user has *not* involved is weighed up by
  ``MISSING_LEVEL_WEIGHT``: no one is there to deal with it.

The weights are small on purpose: what the user said comes first, and the stage and levels only
reorder barriers that were heard with similar confidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from knowledge.repository import BarrierInfo, StoreError
from knowledge.schema import BARRIER_IDS, STAGE_IDS

STAGE_WEIGHT = 1.15
MISSING_LEVEL_WEIGHT = 1.10
MIN_CONFIDENCE = 0.3  # a reading weaker than this is not evidence of the barrier
LEVELS = ("front_line", "middle_manager", "senior_leader")


@dataclass(frozen=True)
class Priority:
    barrier_id: str
    score: float  # what ranks it
    confidence: float  # combined across answers, before the stage and level weights
    mentions: int  # in how many answers it was heard
    at_stage: bool  # typical of the user's stage
    missing_level: bool  # sits at a level the user has not involved


def prioritise(readings: Sequence[Sequence[Mapping[str, object]]], barriers: Iterable[BarrierInfo],
               stage: str | None = None, levels: Iterable[str] = ()) -> list[Priority]:
    """Barriers heard in the answers, most pressing first.

    Args:
        readings: one list per answer, of the classifier's ``{"id", "confidence"}``.
        barriers: the taxonomy's barriers (from ``KnowledgeStore.barriers()``): their levels
            and stages.
        stage: ``planning``, ``testing``, ``spreading``, ``sustaining`` or None (skipped).
        levels: the levels the user said are involved (empty if skipped).

    Raises:
        StoreError: an unknown barrier id, stage or level, or a confidence outside [0, 1].
    """
    if stage is not None and stage not in STAGE_IDS:
        raise StoreError(f"unknown stage '{stage}' (expected one of {', '.join(STAGE_IDS)})")
    involved = set(levels)
    unknown = involved - set(LEVELS)
    if unknown:
        raise StoreError(f"unknown level(s): {', '.join(sorted(unknown))}")
    info = {b.id: b for b in barriers}
    missing_chance: dict[str, float] = {}
    mentions: dict[str, int] = {}
    for answer in readings:
        best: dict[str, float] = {}
        for reading in answer:
            barrier, confidence = str(reading.get("id")), reading.get("confidence")
            if barrier not in BARRIER_IDS:
                raise StoreError(f"unknown barrier id '{barrier}'")
            if not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
                raise StoreError(f"confidence for '{barrier}' must be between 0 and 1, not {confidence!r}")
            if confidence >= MIN_CONFIDENCE:
                best[barrier] = max(best.get(barrier, 0.0), float(confidence))
        for barrier, confidence in best.items():  # once per answer, however it was read
            missing_chance[barrier] = missing_chance.get(barrier, 1.0) * (1.0 - confidence)
            mentions[barrier] = mentions.get(barrier, 0) + 1
    out = []
    for barrier, chance in missing_chance.items():
        combined = 1.0 - chance
        known = info.get(barrier)
        at_stage = bool(stage and known and stage in known.stages)
        missing_level = bool(involved and known and any(level not in involved for level in known.levels))
        score = combined * (STAGE_WEIGHT if at_stage else 1.0) * (MISSING_LEVEL_WEIGHT if missing_level else 1.0)
        out.append(Priority(barrier, round(score, 6), round(combined, 6), mentions[barrier], at_stage, missing_level))
    return sorted(out, key=lambda p: (-p.score, -p.mentions, BARRIER_IDS.index(p.barrier_id)))


def missing_levels(levels: Iterable[str]) -> list[str]:
    """The levels of the model of alignment the user has not involved, in order."""
    involved = set(levels)
    return [level for level in LEVELS if level not in involved]
