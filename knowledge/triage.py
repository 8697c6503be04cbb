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


# --- reading the triage's answers ------------------------------------------------------------
# Buttons send the canonical value; typed answers are read with a few plain rules, and an
# answer that fits none gets a re-prompt (the form asks again), never a guess.

_STAGE_WORDS = {
    "planning": ("plan", "planning", "design", "designing", "scoping", "scope", "set up", "setting up",
                 "getting started", "not started", "early", "start"),
    "testing": ("test", "testing", "pdsa", "pilot", "piloting", "trial", "trialling", "trying"),
    "spreading": ("spread", "spreading", "scale", "scaling", "roll out", "rolling out", "roll-out", "other wards",
                  "other teams", "other sites", "wider"),
    "sustaining": ("sustain", "sustaining", "embed", "embedding", "keep it going", "keeping it going", "maintain",
                   "business as usual", "bau", "handover", "hand over"),
}
_LEVEL_WORDS = {
    "front_line": ("front line", "front-line", "frontline", "staff", "nurse", "doctor", "clinician", "hca",
                   "therapist", "physio", "pharmacist", "midwife", "registrar", "consultant", "gp", "team"),
    "middle_manager": ("middle", "manager", "matron", "ward sister", "team lead", "service lead",
                       "clinical lead", "head of", "practice manager", "operational"),
    "senior_leader": ("senior leader", "board", "exec", "executive", "director", "chief", "trust lead",
                      "leadership team", "icb", "partners"),
}
_ALL_LEVELS = ("all three", "all levels", "everyone", "all of them", "every level")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a few": 3, "a couple of": 2,
                 "couple of": 2, "several": 4}
_UNITS = {"day": 1 / 30, "week": 0.25, "wk": 0.25, "month": 1.0, "mth": 1.0, "mo": 1.0, "year": 12.0, "yr": 12.0}


def _has(text: str, words: Iterable[str]) -> bool:
    import re

    return any(re.search(rf"(?<![a-z]){re.escape(w)}(?:e?s)?(?![a-z])", text) for w in words)  # plurals too


def read_stage(text: str) -> str | None:
    """``planning``, ``testing``, ``spreading`` or ``sustaining`` from an answer, if it says one."""
    lowered = " ".join(text.lower().split())
    if lowered in STAGE_IDS:
        return lowered
    found = [stage for stage, words in _STAGE_WORDS.items() if _has(lowered, words)]
    return found[0] if len(found) == 1 else None


def read_levels(text: str, extracted: Iterable[str] = ()) -> list[str] | None:
    """The levels an answer says are involved (with any the NLU found from roles), or None."""
    lowered = " ".join(text.lower().replace("+", " and ").split())
    if lowered.replace(" ", "").replace(",", "") and all(p.strip() in LEVELS for p in lowered.split(",")):
        return [level for level in LEVELS if level in {p.strip() for p in lowered.split(",")}]
    if _has(lowered, _ALL_LEVELS):
        return list(LEVELS)
    found = {level for level, words in _LEVEL_WORDS.items() if _has(lowered, words)}
    found |= {level for level in extracted if level in LEVELS}
    if not found and _has(lowered, ("just me", "only me", "me on my own", "on my own", "myself")):
        found = {"front_line"}
    return [level for level in LEVELS if level in found] or None


def read_duration(text: str) -> str | None:
    """How long the project has been stuck, as a short phrase ("about 3 months"), or None."""
    import re

    lowered = " ".join(text.lower().replace("-", " ").split())
    for phrase, months in (("under a month", 0.5), ("less than a month", 0.5), ("over a year", 13),
                           ("more than a year", 13), ("over 6 months", 7), ("over six months", 7)):
        if phrase in lowered:
            return _months_phrase(months)
    match = re.search(r"(\d+(?:\.\d+)?|a couple of|couple of|a few|several|an?|one|two|three|four|five|six|seven|"
                      r"eight|nine|ten|eleven|twelve)\s*(?:or so\s*)?(day|week|wk|month|mth|mo|year|yr)s?\b", lowered)
    if match:
        amount = match.group(1)
        number = float(amount) if amount[0].isdigit() else _NUMBER_WORDS[amount]
        return _months_phrase(number * _UNITS[match.group(2)])
    if _has(lowered, ("since christmas", "since the new year", "since spring", "since summer", "since the autumn",
                      "since winter", "since september", "since april", "since january")):
        return "since " + lowered.split("since", 1)[1].strip(" .!")
    if _has(lowered, ("just started", "only just", "recently", "a little while", "not long")):
        return "a few weeks"
    if _has(lowered, ("ages", "forever", "a long time", "long time")):
        return "a long time"
    return None


def _months_phrase(months: float) -> str:
    if months < 2:
        weeks = max(1, round(months * 4))
        return f"about {weeks} week{'s' if weeks != 1 else ''}"
    if months >= 12:
        years = round(months / 12, 1)
        return "over a year" if months > 12 and years < 1.5 else f"about {years:g} year{'s' if years != 1 else ''}"
    whole = round(months)
    return f"about {whole} month{'s' if whole != 1 else ''}"
