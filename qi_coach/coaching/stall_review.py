"""The stalled-project review: the model of alignment used after the fact.

Pannick, Sevdalis and Athanasiou (2016, seed 002) built the model to plan an intervention and
note that it also explains, looking back, how one went: a project moves when it serves the
priorities of front-line staff, middle managers and senior leaders, and in their own trial the
lasting fixes came only once front-line staff and middle managers agreed that change was needed.
The review asks, for each level, whether the project served what that level cares about, then
says which levels it never reached and what to ask of each. What each level cares about, the
question and the barriers to work on come from ``knowledge/content/levels.yml``; this module
only reads the answers and puts the review into words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from knowledge.repository import LevelGuideInfo, Recommendation, SourceRef
from knowledge.schema import LEVEL_IDS

YES, PARTLY, NO, UNSURE = "yes", "partly", "no", "unsure"
ANSWERS = (YES, PARTLY, NO, UNSURE)
ANSWER_BUTTONS = (("Yes", YES), ("Partly", PARTLY), ("No", NO), ("Not sure", UNSURE))

#: Phrases read as each answer, tried in this order (so "not sure" is not read as "no",
#: and "not really" is not read as "really").
_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (UNSURE, ("not sure", "unsure", "don't know", "dont know", "do not know", "no idea", "can't say", "cant say",
              "hard to say", "no clue", "not certain", "dunno", "maybe", "unclear")),
    (PARTLY, ("partly", "partially", "sort of", "kind of", "a bit", "a little", "somewhat", "some of", "some were",
              "some did", "to begin with", "at first", "at the start", "not fully", "mixed", "half", "in part",
              "one or two", "a few", "not entirely", "not completely", "mostly")),
    (NO, ("no", "nope", "not really", "never", "not at all", "didn't", "did not", "wasn't", "was not", "weren't",
          "none", "nobody", "no one", "hardly", "nah", "they weren't", "not reached", "not involved")),
    (YES, ("yes", "yeah", "yep", "definitely", "absolutely", "they did", "it did", "very much", "fully", "totally",
           "of course", "certainly", "completely", "on board", "they were", "it was", "y")),
)


def read_answer(text: str) -> str | None:
    """"Yes", "partly", "no" or "unsure" from a button or a few words; ``None`` if it is none
    of these (then the question is asked again)."""
    words = " " + " ".join(re.findall(r"[a-z']+", (text or "").lower().replace("\u2019", "'"))) + " "
    if words.strip() in ANSWERS:
        return words.strip()
    for answer, phrases in _PHRASES:
        if any(f" {phrase} " in words for phrase in phrases):
            return answer
    return None


@dataclass(frozen=True)
class LevelVerdict:
    guide: LevelGuideInfo
    answer: str  # yes | partly | no | unsure


@dataclass(frozen=True)
class StallReview:
    """What the answers say: the levels served, served in part, never reached, and not known."""

    verdicts: tuple[LevelVerdict, ...]
    #: Strategies to start with for each level the project did not reach (or reached in part).
    strategies: Mapping[str, Sequence[Recommendation]] = field(default_factory=dict)

    def levels(self, *answers: str) -> list[LevelGuideInfo]:
        return [v.guide for v in self.verdicts if v.answer in answers]

    @property
    def to_work_on(self) -> list[LevelGuideInfo]:
        """The levels whose priorities the project did not (fully) serve, front line first."""
        return self.levels(NO, PARTLY)

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        seen: dict[str, SourceRef] = {}
        for verdict in self.verdicts:
            for source in verdict.guide.sources:
                seen.setdefault(source.id, source)
        return tuple(seen.values())


def review(answers: Mapping[str, str], guides: Sequence[LevelGuideInfo]) -> StallReview:
    """The review of the answers given (``{level id: answer}``), in the model's order."""
    by_level = {g.id: g for g in guides}
    verdicts = tuple(LevelVerdict(by_level[level], answers.get(level) or UNSURE)
                     for level in LEVEL_IDS if level in by_level)
    return StallReview(verdicts)


_VERDICT_WORDS = {YES: "served its priorities", PARTLY: "served them in part", NO: "never reached",
                  UNSURE: "not known yet"}


def _names(guides: Sequence[LevelGuideInfo]) -> str:
    names = [g.name[0].lower() + g.name[1:] for g in guides]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def headline(result: StallReview) -> str:
    """One or two sentences: where the project lost alignment, in plain words."""
    served, unreached = result.levels(YES), result.levels(NO)
    partly, unknown = result.levels(PARTLY), result.levels(UNSURE)
    if not unreached and not partly:
        if unknown:
            return (f"Nothing you said shows a level the project lost, but you're not sure about {_names(unknown)}. "
                    "Finding out what they make of it is the first step: ask them.")
        return ("It served the priorities of every level, so misalignment is probably not what stalled it. "
                "The barriers are worth a closer look instead.")
    parts = []
    if served:
        parts.append(f"It served the priorities of {_names(served)}")
    if unreached:
        parts.append(f"it never reached {_names(unreached)}")
    if partly:
        parts.append(f"it only partly served {_names(partly)}")
    sentence = ", but ".join(parts[:2]) + (f", and {parts[2]}" if len(parts) > 2 else "")
    sentence = sentence[0].upper() + sentence[1:] + "."
    ids = {g.id for g in unreached + partly}
    if ids & {"front_line", "middle_manager"}:
        sentence += (" In the trial behind this model, lasting fixes came only once front-line staff and middle "
                     "managers agreed that something had to change; how serious a problem was mattered less than "
                     "that agreement.")
    elif "senior_leader" in ids:
        sentence += (" Without senior backing, a team can test a change but struggles to find the resources to keep "
                     "or spread it.")
    return sentence


def review_markdown(result: StallReview, source_link) -> str:
    """The review as a person reads it: verdict per level, why it matters, what to ask of each
    level not reached, and strategies to start with. ``source_link`` renders a citation."""
    lines = ["**Why it stalled, level by level** (the model of alignment)"]
    for verdict in result.verdicts:
        lines.append(f"- **{verdict.guide.name}**: {_VERDICT_WORDS[verdict.answer]}.")
    lines.append(headline(result))
    to_work_on = result.to_work_on
    if to_work_on:
        lines.append("**What to ask of each level**")
        for guide in to_work_on:
            lines.append(f"*{guide.name}* (they care about {guide.priorities}):")
            lines += [f"- {ask}" for ask in guide.asks]
        picks = [(guide, rec) for guide in to_work_on for rec in result.strategies.get(guide.id, ())]
        if picks:
            lines.append("**Strategies to start with**")
            for guide, rec in picks:
                lines.append(f"- **{rec.title}** ({guide.name.lower()}): {rec.first_step}")
    unknown = result.levels(UNSURE)
    if unknown and to_work_on:
        lines.append(f"You weren't sure about {_names(unknown)}: a short conversation with one of them would tell you.")
    lines.append("*Sources:* " + "; ".join(source_link(s) for s in result.sources))
    return "\n".join(lines)
