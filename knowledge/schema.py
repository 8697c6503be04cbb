"""Schemas of the curated YAML files under ``knowledge/content/``.

One pydantic model per kind of item. They check shape and types (a missing field, a
list where a string belongs, an unknown level); cross-references between files
(a strategy naming a tool that does not exist) are checked in ``knowledge.validate``,
which needs every file at once.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Extra, conlist, constr, validator

#: The 13 barrier ids of ``shared/barrier-taxonomy.md``: the contract with the NLU.
BARRIER_IDS = (
    "time_pressure",
    "resources",
    "clinical_resistance",
    "change_fatigue",
    "management_support",
    "data_and_systems",
    "skills_and_capacity",
    "incentives_recognition",
    "staff_turnover",
    "ownership_and_fit",
    "process_burden",
    "organisational_turbulence",
    "team_working",
)

Identifier = constr(regex=r"^[a-z][a-z0-9_]*$", min_length=2, max_length=60)
Text = constr(strip_whitespace=True, min_length=3)
Name = constr(strip_whitespace=True, min_length=1, max_length=80)


class Level(str, Enum):
    """Where in the organisation a barrier sits or a strategy acts (seed 002)."""

    front_line = "front_line"
    middle_manager = "middle_manager"
    senior_leader = "senior_leader"


#: The levels in the model of alignment's order (front line first).
LEVEL_IDS = tuple(level.value for level in Level)


class Stage(str, Enum):
    """Where a project has got to (the triage asks): the usual phases of a QI project."""

    planning = "planning"
    testing = "testing"
    spreading = "spreading"
    sustaining = "sustaining"


STAGE_IDS = [s.value for s in Stage]


class Strength(str, Enum):
    primary = "primary"
    secondary = "secondary"


class Effort(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class Evidence(str, Enum):
    """How sure the advice is, strongest first."""

    trial = "trial"
    evaluation = "evaluation"
    case_study = "case_study"  # one case, one site: suggestive, below an evaluation across several
    expert_opinion = "expert_opinion"


class ToolCategory(str, Enum):
    engaging_people = "engaging_people"
    understanding_the_problem = "understanding_the_problem"
    planning_change = "planning_change"
    testing_change = "testing_change"
    measurement = "measurement"
    managing_risk = "managing_risk"
    project_management = "project_management"
    sustaining_change = "sustaining_change"


class SourceKind(str, Enum):
    seed = "seed"
    reference = "reference"


class Item(BaseModel):
    """Every item: an id, no unknown fields (a typo in a field name is an error)."""

    id: Identifier

    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class Barrier(Item):
    name: Text
    in_short: constr(strip_whitespace=True, min_length=3, max_length=50)
    description: Text
    cues: conlist(Text, min_items=3)
    levels: conlist(Level, min_items=1)
    # The project stages at which this barrier most often stalls work (editorial judgement,
    # informed by the seeds); the triage weighs a barrier up a little at those stages.
    stages: list[Stage] = []
    sources: conlist(Identifier, min_items=1)

    @validator("id")
    def _in_taxonomy(cls, value: str) -> str:
        if value not in BARRIER_IDS:
            raise ValueError(f"'{value}' is not one of the 13 barrier ids of the taxonomy")
        return value


class BarrierLink(BaseModel):
    id: Identifier
    strength: Strength

    class Config:
        extra = Extra.forbid


SituationText = constr(strip_whitespace=True, min_length=20, max_length=200)


class Situations(BaseModel):
    """Where a strategy helps and where it does not, each one situation as staff would describe
    it. ``knowledge.ranking`` matches what the person said against these, so a strategy for
    the right barrier that fits their circumstances comes before one that merely shares it."""

    fits: conlist(SituationText, min_items=3, max_items=12)
    does_not_fit: conlist(SituationText, min_items=1, max_items=4)

    class Config:
        extra = Extra.forbid


class Strategy(Item):
    title: Text
    summary: Text
    why_it_works: Text
    steps: conlist(Text, min_items=3, max_items=6)
    barriers: conlist(BarrierLink, min_items=1)
    levels: conlist(Level, min_items=1)
    effort: Effort
    tools: list[Identifier] = []
    cautions: conlist(Text, min_items=1)
    evidence: Evidence
    sources: conlist(Identifier, min_items=1)
    aliases: list[Text] = []
    situations: Situations
    # Ids of strategies merged into this one: plans and records that name them still resolve.
    replaces: list[Identifier] = []


class Tool(Item):
    name: Text
    aliases: list[Text] = []
    category: ToolCategory
    what_it_is: Text
    when_to_use: Text
    how_to_use: conlist(Text, min_items=3)
    time_needed: Text
    who_to_involve: Text
    related_strategies: list[Identifier] = []
    sources: conlist(Identifier, min_items=1)


class Source(Item):
    kind: SourceKind
    title: Text
    authors: conlist(Text, min_items=1)
    year: int | None
    publisher: Text
    file: str | None = None
    cite_as: str | None = None  # short label for chat when the authors are an organisation
    details: str | None = None
    url: str | None = None

    @validator("file", always=True)
    def _seed_has_file(cls, value: str | None, values: dict) -> str | None:
        if values.get("kind") == SourceKind.seed and not value:
            raise ValueError("a seed document needs the file name it is stored under")
        return value


class CoverageEntry(BaseModel):
    """One thing a seed names (a barrier, facilitator, strategy or tool) and what covers it.

    ``terms`` are the words that show an item really addresses the point: every item in
    ``covered_by`` must contain one of them (checked), so the map cannot point at an item that
    merely shares a barrier."""

    name: Text
    kind: constr(regex=r"^(barrier|facilitator|strategy|tool)$")
    covered_by: conlist(constr(regex=r"^(barrier|strategy|tool):[a-z][a-z0-9_]*$"), min_items=1)
    terms: conlist(constr(strip_whitespace=True, min_length=3), min_items=1)

    class Config:
        extra = Extra.forbid


class SeedCoverage(BaseModel):
    seed: Identifier
    items: conlist(CoverageEntry, min_items=1)

    class Config:
        extra = Extra.forbid


class LevelGuide(Item):
    """One organisational level of the model of alignment (seed 002): the part it plays in a
    QI project, and what a project team can ask of it when it is missing."""

    name: Name
    role: Text
    asks: conlist(Text, min_items=2, max_items=4)
    # The stalled-project review (seed 002's model used after the fact): what this level cares
    # about, the question that asks whether the project served it, and the barriers whose
    # strategies help when the project never reached this level.
    priorities: Text
    review_question: Text
    barriers_when_unreached: conlist(Identifier, min_items=1, max_items=3)
    sources: conlist(Identifier, min_items=1)

    @validator("id")
    def _a_level(cls, value: str) -> str:
        if value not in [level.value for level in Level]:
            raise ValueError(f"'{value}' is not a level ({', '.join(level.value for level in Level)})")
        return value


class Role(Item):
    """A kind of person users mention, and the organisational level they sit at."""

    level: Level
    names: conlist(Name, min_items=1)


class Setting(Item):
    """A kind of care setting users mention (ward, GP practice, theatre...)."""

    names: conlist(Name, min_items=1)


class IgnoredPhrases(Setting):
    """Phrases that contain an entity's name without meaning it ("on board")."""
