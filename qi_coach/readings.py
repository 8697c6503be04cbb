"""A barrier reading: which barrier, how sure, and who said so. One type from parse to plan.

The NLU writes readings into the parse result under the keys below; the actions read them
back with ``from_parse`` (the one place a reading from outside is checked) and keep them in
slots as plain dicts (``as_dict``); the triage combines them; the records store them; and the
ranking weighs strategies by ``weight``. So what is recorded and what is ranked are the
same fact: a barrier the person picked by hand has no classifier confidence and counts fully.

Dependency-light on purpose: the action server imports it without Rasa.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from knowledge.schema import BARRIER_IDS, LEVEL_IDS

# --- the parse result's keys (written by the components in qi_coach/nlu) -----------------------
BARRIERS = "barriers"  # the barriers the message is about: [{"id", "confidence"}]
BARRIER_CANDIDATES = "barrier_candidates"  # the likeliest three, for a clarifying question
BARRIER_ASSESSMENT = "barrier_assessment"  # one of Assessment
INPUT_QUALITY = "input_quality"  # one of qi_coach.nlu.text_checks' qualities
LEVELS = "levels"  # organisational levels the message names, in LEVEL_IDS order


class Assessment(str, Enum):
    """How sure the classifier is that it heard barriers."""

    CONFIDENT = "confident"  # reflect them back and ask to confirm
    UNSURE = "unsure"  # ask which one, with the candidates as buttons
    NONE = "none"  # nothing heard: ask for more


class Origin(str, Enum):
    """Where a reading came from."""

    CLASSIFIER = "classifier"  # the NLU heard it in a message
    USER = "user"  # the person picked it (a button, or a correction)
    TRIAGE = "triage"  # combined over the triage's answers


@dataclass(frozen=True)
class BarrierReading:
    """One barrier, the classifier's confidence in it (None when the person named it
    themselves) and where it came from."""

    id: str
    confidence: float | None
    origin: Origin

    def __post_init__(self) -> None:
        if self.id not in BARRIER_IDS:
            raise ValueError(f"unknown barrier id {self.id!r}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence for {self.id!r} must be between 0 and 1, not {self.confidence!r}")

    @property
    def weight(self) -> float:
        """What the barrier counts for when strategies are ranked: the confidence, or 1.0
        for a barrier the person named (they are sure of it)."""
        return 1.0 if self.confidence is None else self.confidence

    def as_dict(self) -> dict[str, Any]:
        """The form kept in a slot (slots hold JSON)."""
        return {"id": self.id, "confidence": self.confidence, "origin": self.origin.value}

    @classmethod
    def picked(cls, barrier_id: str) -> BarrierReading:
        return cls(barrier_id, None, Origin.USER)

    @classmethod
    def from_dict(cls, value: Any, origin: Origin = Origin.CLASSIFIER) -> BarrierReading:
        """A reading from its dict form (a parse result or a slot); ``origin`` unless the dict
        says. Raises ValueError, saying what is wrong, for anything that is not a reading."""
        if not isinstance(value, Mapping):
            raise ValueError(f"a barrier reading is {{'id': ..., 'confidence': ...}}, not {value!r}")
        confidence = value.get("confidence")
        if isinstance(confidence, bool) or not (confidence is None or isinstance(confidence, (int, float))):
            raise ValueError(f"confidence for {value.get('id')!r} must be between 0 and 1, not {confidence!r}")
        kept = Origin(value["origin"]) if value.get("origin") is not None else origin
        return cls(str(value.get("id")), None if confidence is None else float(confidence), kept)


def read(value: Any, origin: Origin = Origin.CLASSIFIER) -> BarrierReading | None:
    """A reading from a parse result or a slot, or None if it is not one (an unknown id, a
    confidence that is not a number in [0, 1]): what comes from outside is never trusted.
    A bare id (an entity value, or a slot written before readings kept their confidence)
    reads as a reading with no confidence."""
    if isinstance(value, str):
        value = {"id": value}
    try:
        return BarrierReading.from_dict(value, origin)
    except ValueError:
        return None


def read_all(values: Any, origin: Origin = Origin.CLASSIFIER) -> list[BarrierReading]:
    """Every valid reading of ``values`` (a list from a parse result or a slot), each barrier
    once (its first reading), in order."""
    out: dict[str, BarrierReading] = {}
    for value in values if isinstance(values, list) else []:
        reading = read(value, origin)
        if reading is not None and reading.id not in out:
            out[reading.id] = reading
    return list(out.values())


def merged(earlier: Iterable[BarrierReading], later: Iterable[BarrierReading]) -> list[BarrierReading]:
    """``earlier`` then ``later``, each barrier once: a later reading of a barrier replaces
    the earlier one in its place (the person's pick outweighs what the classifier heard)."""
    out = {r.id: r for r in earlier}
    out.update({r.id: r for r in later})
    return list(out.values())


def from_parse(parse: Mapping[str, Any], key: str = BARRIERS) -> list[BarrierReading]:
    """The classifier's readings of a message (``key`` is BARRIERS or BARRIER_CANDIDATES)."""
    return read_all(parse.get(key), Origin.CLASSIFIER)


def assessment(parse: Mapping[str, Any]) -> Assessment:
    try:
        return Assessment(parse.get(BARRIER_ASSESSMENT))
    except ValueError:
        return Assessment.NONE


def levels(values: Any) -> list[str]:
    """The known levels among ``values``, in the taxonomy's order."""
    given = set(values) if isinstance(values, (list, tuple, set)) else set()
    return [level for level in LEVEL_IDS if level in given]


def as_dicts(readings: Iterable[BarrierReading]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in readings]


def ids(readings: Iterable[BarrierReading]) -> list[str]:
    return [r.id for r in readings]


def weights(readings: Iterable[BarrierReading]) -> dict[str, float]:
    """``{barrier id: weight}``: what the ranking takes."""
    return {r.id: r.weight for r in readings}
