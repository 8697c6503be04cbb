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

The end of the module reads the triage's other answers when they are typed rather than given
by a button: ``read_stage``, ``read_levels``, ``read_duration`` and ``read_tried``, each with
its rules in its docstring. Each returns the canonical value or None, and None makes the form
ask again: a reader never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from knowledge.repository import BarrierInfo, StoreError
from knowledge.schema import BARRIER_IDS, LEVEL_IDS, STAGE_IDS
from qi_coach.limits import MESSAGE_CHARS
from qi_coach.readings import BarrierReading, Origin

STAGE_WEIGHT = 1.15
MISSING_LEVEL_WEIGHT = 1.10
MIN_CONFIDENCE = 0.3  # a reading weaker than this is not evidence of the barrier


@dataclass(frozen=True)
class Priority:
    barrier_id: str
    score: float  # what ranks it
    confidence: float  # combined across answers, before the stage and level weights
    mentions: int  # in how many answers it was heard
    at_stage: bool  # typical of the user's stage
    missing_level: bool  # sits at a level the user has not involved

    @property
    def reading(self) -> BarrierReading:
        """What the triage heard of this barrier, as the plan ranks and the records keep it."""
        return BarrierReading(self.barrier_id, self.confidence, Origin.TRIAGE)


def prioritise(readings: Sequence[Sequence[BarrierReading | Mapping[str, object]]], barriers: Iterable[BarrierInfo],
               stage: str | None = None, levels: Iterable[str] = ()) -> list[Priority]:
    """Barriers heard in the answers, most pressing first.

    Args:
        readings: one list per answer, of the classifier's readings (or their dict form).
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
    unknown = involved - set(LEVEL_IDS)
    if unknown:
        raise StoreError(f"unknown level(s): {', '.join(sorted(unknown))}")
    info = {b.id: b for b in barriers}
    missing_chance: dict[str, float] = {}
    mentions: dict[str, int] = {}
    for answer in readings:
        best: dict[str, float] = {}
        for given in answer:
            try:
                reading = given if isinstance(given, BarrierReading) else BarrierReading.from_dict(given)
            except ValueError as exc:
                raise StoreError(str(exc)) from None
            if reading.weight >= MIN_CONFIDENCE:
                best[reading.id] = max(best.get(reading.id, 0.0), reading.weight)
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
    return [level for level in LEVEL_IDS if level not in involved]


# --- reading the triage's answers ------------------------------------------------------------
# Buttons send the canonical value; typed answers are read with the plain rules below, and an
# answer that fits none gets a re-prompt (the form asks again), never a guess. Every reader
# works on ``_clean`` text (lower case, straight apostrophes, hyphens as spaces) and finds its
# phrases as whole words with ``_find``: where two phrases overlap, the longer one wins, so a
# "clinical director" is a middle manager though a "director" alone is a senior leader, and
# "testing" in "haven't started testing" is still found as testing.

_WORD_START, _WORD_END = r"(?<![a-z0-9])", r"(?![a-z0-9])"
_BOUNDARY_WORDS = ("but", "and", "so", "then", "although", "though", "whereas", "while", "because", "however",
                   "which", "since", "after", "now")


def _clean(text: str) -> str:
    """Lower case, straight apostrophes, hyphens and dashes as spaces, single spaces."""
    text = str(text or "").lower()
    for curly in ("\u2019", "\u2018", "`"):
        text = text.replace(curly, "'")
    text = re.sub(r"[\u2010-\u2015-]+", " ", text)
    return " ".join(text.split())


def _compile(table: Mapping[str, Sequence[str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(key, re.compile(_WORD_START + pattern + _WORD_END)) for key, patterns in table.items()
            for pattern in patterns]


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    key: str


def _find(text: str, table: Sequence[tuple[str, re.Pattern[str]]]) -> list[_Mention]:
    """Every phrase of ``table`` in ``text``: the longest wins where two overlap; in text order."""
    found = [_Mention(m.start(), m.end(), key) for key, pattern in table for m in pattern.finditer(text)]
    found.sort(key=lambda m: (m.start - m.end, m.start))
    kept: list[_Mention] = []
    for mention in found:
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def _words(gap: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", gap)


def _crosses_clause(gap: str) -> bool:
    """Whether the text between two phrases ends one clause and starts another."""
    return bool(re.search(r"[,.;:!?()]", gap)) or any(w in _BOUNDARY_WORDS for w in _words(gap))


# --- the stage -------------------------------------------------------------------------------

_STAGE_PHRASES = _compile({
    "planning": (
        r"plan(?:s|ned|ning)?(?! to| on)", r"design(?:s|ed|ing)?", r"scop(?:e|es|ed|ing)",
        r"set(?:ting)? (?:it |things |this |the project )?up", r"(?:getting |just |only just )?start(?:s|ed|ing)?(?: out)?",
        r"early (?:days|stages?)", r"baselines?(?: data)?", r"beginning", r"prepar(?:e|es|ed|ing|ation)",
        r"(?:just )?an idea", r"idea stage", r"process mapp?(?:s|ing)?", r"root causes?", r"diagnostics?",
        r"(?:project )?charter", r"business case", r"stakeholder mapp?(?:s|ing)?",
    ),
    "testing": (
        r"test(?:s|ed|ing)?", r"(?:small )?tests? of change", r"pdsas?(?: cycles?)?", r"(?:first|second|third|next|few|"
        r"couple of|two|three|four|\d+) cycles?", r"pilot(?:s|ed|ing|led|ling)?", r"trial(?:s|ed|led|ing|ling)?",
        r"tr(?:y|ies|ying|ied) (?:it |them |this |that |things |changes |ideas |some things |a few things )?out",
        r"tr(?:y|ies|ying|ied) (?:a few |some |a couple of |the |different |new |small )?changes?",
        r"experiment(?:s|ed|ing)?",
    ),
    "spreading": (
        r"spread(?:s|ing)?", r"scal(?:e|es|ed|ing)(?: (?:it |them |this )?up)?", r"upscal(?:e|ed|ing)",
        r"roll(?:s|ed|ing)? (?:it |them |this |that |things |the changes? )?out", r"roll ?outs?",
        r"(?:other|more|all|all the|the other|the rest of the|another|a second|neighbouring) (?:wards?|teams?|sites?|"
        r"units?|practices|departments?|areas?|hospitals?|services?|clinics?|specialties|specialities|trusts?|"
        r"localities|surgeries)",
        r"(?:trust|organisation|organization|hospital|system|region|network|division|directorate) ?wide",
        r"across (?:the |our |all )?(?:trust|organisation|organization|hospital|division|directorate|system|region|"
        r"network|pcn|icb|ics|sites?|wards|teams|practices)",
        r"wider", r"widen(?:s|ed|ing)?", r"expand(?:s|ed|ing)?", r"extend(?:s|ed|ing)? (?:it |this |them )?(?:to|across)",
    ),
    "sustaining": (
        r"sustain(?:s|ed|ing|ability|able)?", r"embed(?:s|ded|ding)?",
        r"keep(?:s|ing)? (?:it|them|things|this|the (?:changes?|gains|improvements?|momentum)) (?:going|up)",
        r"maintain(?:s|ed|ing)?", r"maintenance", r"business as usual", r"bau", r"hand(?:s|ed|ing)? (?:it |this |them )?over",
        r"hand ?over", r"(?:go|goes|went|gone|going|been) live", r"(?:normal|standard|usual|routine|everyday) "
        r"(?:practice|care|work|process)", r"part of (?:the |our )?(?:routine|normal|day job|everyday|culture)",
        r"slip(?:s|ped|ping) back", r"(?:go|goes|gone|going|went|slid|sliding|slipped|drifted|drifting|reverted|"
        r"reverting|revert|fallen|falling|fell) back (?:in)?to (?:the |our |their )?old (?:ways?|habits?|practice|"
        r"system|process)", r"old habits", r"revert(?:s|ed|ing)?", r"(?:lost|losing|hold(?:ing)?(?: on to)?|keep(?:ing)?)"
        r" the gains", r"(?:gains|improvements?) (?:have |has )?(?:slipped|faded|tailed off|worn off|gone)",
    ),
})
# Said just before a stage, these put the project *before* it: it has not entered that stage yet.
_NOT_ENTERED = re.compile(
    r"(?<![a-z0-9'])(?:haven't|have not|hasn't|has not|hadn't|had not|didn't|did not|never|not yet|yet to|not been|not got (?:round )?to|"
    r"before (?:we|it|they|i)(?: could| can| get to| got to| had| even)?|want to|wanting to|wanted to|going to|gonna|"
    r"hoping to|hope to|plan to|planning to|planning on|about to|would like to|'d like to|ready to|preparing to|"
    r"aim to|aiming to|intend to|intending to|next step is to|next is to)"
    r"((?: [a-z0-9']+){0,4}) $")
_UNSURE_BETWEEN = re.compile(r"^ ?(?:,|/)? ?(?:or|or maybe|or perhaps|or possibly|or even|maybe|perhaps|/)(?: still| the| in)? ?$")


def read_stage(text: str) -> str | None:
    """``planning``, ``testing``, ``spreading`` or ``sustaining`` from an answer, if it says one.

    Rules, in order:

    1. A button's value (the stage's id) is itself.
    2. Each stage is heard in its words, in any tense: "designing it", "we've tested a couple of
       changes", "did two PDSA cycles", "rolling it out to other wards", "trying to embed it".
    3. The stage is the furthest one the project has actually *entered* (planning -> testing ->
       spreading -> sustaining): "we piloted it and are now rolling it out" is spreading.
    4. A stage said as not entered yet counts as the one before it: the negations "haven't",
       "didn't", "never", "not yet", "yet to", "before we could" and the intentions "want to",
       "going to", "planning to", "about to", "ready to" ("we tested it but haven't rolled it out",
       "we're about to start testing"). Struggling *with* a stage is being at it: "we can't get it
       to spread" is spreading.
    5. Running down says the project is stalled, not where: "fizzled out", "lost momentum",
       "ground to a halt" keep the stage reached. So **tested changes that fizzled out are at the
       testing stage, stalled there**: the changes never became routine. A project is sustaining
       only if the new way was in routine use ("went live", "standard practice", "embedded") or
       the answer says people slipped back to the old ways, which presupposes a new way adopted.
    6. Hesitation between two stages ("planning or testing?", "somewhere between testing and
       spreading"), no stage word at all ("it fizzled out", "idk") or nothing -> None.
    """
    cleaned = _clean(text)
    if cleaned in STAGE_IDS:
        return cleaned
    mentions = _find(cleaned, _STAGE_PHRASES)
    if not mentions:
        return None
    for before, after in zip(mentions, mentions[1:], strict=False):
        gap = cleaned[before.end:after.start]
        if before.key != after.key and (_UNSURE_BETWEEN.match(gap) or (
                gap.strip() == "and" and cleaned[:before.start].rstrip().endswith("between"))):
            return None
    reached = []
    for mention in mentions:
        index = STAGE_IDS.index(mention.key)
        negated = _NOT_ENTERED.search(cleaned[:mention.start])
        if (negated and not _crosses_clause(negated.group(1))) or re.search(r"(?:^| )no $", cleaned[:mention.start]):
            index = max(0, index - 1)  # "haven't rolled it out", "about to start testing", "no testing yet"
        reached.append(index)
    return STAGE_IDS[max(reached)]


# --- who is involved -------------------------------------------------------------------------
# The role names of knowledge/content/entities.yml with their levels (the NLU's entity extractor
# uses the same), plus everyday words for groups ("the band 5s", "the execs", "management").

_LEVEL_PHRASES = _compile({
    "front_line": (
        r"front ?lines?(?: staff)?", r"shop floor", r"floor staff", r"staff", r"colleagues?", r"nurs(?:e|es|ing)",
        r"staff nurses?", r"registered nurses?", r"rns?", r"sns?", r"band [2-6](?:s|'s)?", r"hcas?", r"health ?care assistants?",
        r"support workers?", r"nursing assistants?", r"junior doctors?", r"resident doctors?", r"f[12]s?", r"fy[12]s?",
        r"shos?", r"foundation doctors?", r"trainees?", r"registrars?", r"regs", r"house officers?", r"juniors",
        r"consultants?", r"senior doctors?", r"attendings?", r"doctors?", r"medics?", r"medical staff", r"physicians?",
        r"surgeons?", r"anaesthetists?", r"clinicians?", r"clinical staff", r"gps?", r"general practitioners?",
        r"gp partners?", r"salaried gps?", r"locums?(?: gps?)?", r"physios?", r"physiotherapists?", r"ots?",
        r"occupational therapists?", r"slts?", r"speech and language therapists?", r"dietitians?", r"radiographers?",
        r"podiatrists?", r"ahps?", r"allied health(?: professionals?)?", r"therapists?", r"therapy team",
        r"pharmacists?", r"pharmacy(?: team| technicians?)?", r"midwi(?:fe|ves)", r"paramedics?", r"ambulance crews?", r"emergency care assistants?",
        r"psychologists?", r"mental health nurses?", r"rmns?", r"care coordinators?", r"psychiatrists?", r"cpns?",
        r"district nurses?", r"community nurses?", r"practice nurses?", r"health visitors?", r"school nurses?",
        r"receptionists?", r"admin(?: staff| team)?", r"ward clerks?", r"porters?", r"teams?(?! player| spirit)", r"ward staff",
        r"mdts?", r"multi ?disciplinary teams?", r"me", r"myself", r"on my own",
        r"the ward", r"every(?:one|body) (?:on|in|from) (?:the |our |my )?(?:ward|unit|team|department|practice|clinic)",
    ),
    "middle_manager": (
        r"middle managers?", r"middle management", r"managers?", r"management", r"management team", r"matrons?",
        r"modern matrons?", r"lead nurses?", r"heads? of(?: nursing| department| service)?", r"senior nurses?",
        r"ward managers?", r"ward sisters?", r"sisters?", r"charge nurses?", r"nurses? in charge", r"unit managers?",
        r"department managers?", r"team leaders?", r"team leads?", r"team managers?", r"line managers?", r"my manager",
        r"deputy managers?", r"service managers?", r"general managers?", r"operational managers?", r"ops managers?",
        r"business managers?", r"directorate managers?", r"divisional managers?", r"clinical directors?",
        r"clinical leads?", r"divisional directors?", r"care group directors?", r"speciality leads?",
        r"specialty leads?", r"(?:clinical )?service leads?", r"practice managers?", r"pcn managers?",
        r"pcn clinical directors?", r"qi leads?", r"qi team", r"improvement leads?", r"improvement team", r"qi coach",
        r"improvement advisors?", r"quality improvement team", r"transformation team", r"band [78](?:a|b|c|d)?(?:s|'s)?",
    ),
    "senior_leader": (
        r"senior leaders?", r"senior leadership(?: team)?", r"senior management(?: team)?", r"senior team",
        r"top management", r"upper management", r"leadership(?: team)?", r"(?<!on )(?<!ward )(?<!patient )boards?(?! rounds?)",
        r"trust board", r"board members?", r"board level", r"non executive directors?", r"neds?",
        r"board of directors", r"execs?", r"executives?", r"executive team", r"exec team", r"chief executives?",
        r"ceos?", r"chief operating officers?", r"coos?", r"finance directors?", r"directors?", r"deputy directors?",
        r"director of nursing", r"medical directors?", r"chief nurses?", r"chief medical officers?",
        r"chief nursing officers?", r"cmos?", r"cnos?", r"chiefs?", r"commissioners?", r"icbs?",
        r"integrated care boards?", r"ccgs?", r"cqc", r"care quality commission", r"regulators?", r"nhs england",
        r"nhse", r"trust leads?", r"partners?", r"higher ups", r"top brass", r"powers that be",
    ),
    "all": (
        r"all three", r"all (?:the )?levels", r"every level", r"every(?:one|body)", r"all of (?:them|us)",
        r"(?:from )?ward to board", r"board to ward", r"top to bottom",
    ),
})
# Said just before a role, these mean it is *not* involved ("no one from management", "not the
# execs", "everyone except the board"); a few filler words may come between.
_LEVEL_NEGATOR = re.compile(
    r"(?<![a-z0-9'])(?:no|not(?! just| only)|nobody|no one|noone|none|neither|nor|without|never|except|excluding|"
    r"apart from|other than|not even|zero|lack of|lacking|haven't got|hasn't got|(?:don't|doesn't|do not|does not) have)"
    r"((?: (?:the|our|my|their|any|anyone|anybody|one|of|from|at|in|on|a|an|even|really|yet|got|get|have|had|"
    r"involved|engaged|interested|with|support|buy in|input|senior|else|actual|real))*) $")
# Said just after a role, these mean it is not involved ("the execs have no idea", "the board
# isn't interested", "consultants won't come"): a negation followed by a word about taking part,
# or a word that says it alone ("unaware", "in the dark").
_NEGATION = (r"(?:isn't|aren't|wasn't|weren't|hasn't|haven't|hadn't|don't|doesn't|didn't|won't|wouldn't|can't|"
             r"cannot|couldn't|ain't|not|never|no longer|(?:is|are|was|were|has|have|had|do|does|did|will|would) not)")
_TAKING_PART = (r"(?:involved|engaged|engage|engaging|interested|on board|onboard|aware|know(?! how)|knows|knew|care|"
                r"cares|bothered|support|supports|supporting|supportive|back|backing|in the loop|signed up|sign up|"
                r"bought in|buy in|attend|attending|come|coming|came|turn up|turning up|turned up|show up|showing up|"
                r"help|helping|participate|participating|take part|taking part|part of|clue|idea|heard|told|"
                r"informed|seen|there|present|interest|involvement|behind it|keen|into it|listen|listening|joined|"
                r"joining)")
_LEVEL_NEGATED_AFTER = re.compile(
    r"^(?: (?!(?:but|and|or|so|although|though|whereas|while|because|however)\b)[a-z0-9']+){0,3}? (?:"
    rf"{_NEGATION}(?: [a-z0-9']+){{0,3}}? {_TAKING_PART}(?![a-z0-9])"
    rf"|{_NEGATION}(?: (?:at all|really|either|yet))? ?(?:$|[,.;!?]| (?:but|and|though|although|yet)\b)"
    r"|(?:have|has|had|show|shows|showed|take|takes|took|with) (?:no|zero|little|not much) (?:idea|clue|interest|"
    r"involvement|input|say|knowledge|buy in|part)"
    r"|(?:know|knows|knew|care|cares|cared) (?:nothing|little)"
    r"|(?:are |is |were |was |seem |seems )?(?:unaware|oblivious|clueless|absent|missing|uninterested|disinterested|"
    r"disengaged|nowhere to be seen|in the dark|couldn't care less|out of the loop|none the wiser)"
    r"|(?:have|has) nothing to do with it)")
_JOINED = re.compile(r"^(?:[ ,&/+]|and|or|nor|the|our|my|their|both|also|plus|as well as)*$")


def read_levels(text: str, extracted: Iterable[str] = ()) -> list[str] | None:
    """The levels an answer says are involved (with any the NLU found from roles), or None.

    A role counts for its level (the role-to-level map of ``knowledge/content/entities.yml``:
    consultants and GPs are front line, matrons and clinical directors middle managers, the
    board, execs, directors and the ICB senior leaders). "Everyone", "all three" or "ward to
    board" is every level.

    **Negation.** A role said not to be involved does not count, however the NLU read it:
    "no one from management", "not the execs", "everyone except the board" (a negation just
    before the role), "the execs have no idea", "the board isn't interested", "consultants
    won't come" (a negation of taking part just after it). A negation just after a role also
    covers the roles joined to it ("the matron and the execs aren't involved"), never a role in
    another clause ("the ward sister is on board but the execs have no idea": the ward sister
    is involved, the execs are not). A level is involved when at least one role of it is said
    without negation; a level the NLU found (``extracted``) counts unless the answer negates it
    and nowhere affirms it. Being busy is not a negation: "the nurses don't have time" still
    involves the nurses.

    "Me" ("just me", "me and a couple of the band 5s", "myself") is the front line: the person
    answering is taken to run the project from there, as before. Nothing involved -> None
    (re-prompt).
    """
    cleaned = _clean(text.replace("+", " and ") if isinstance(text, str) else "")
    parts = [p.strip() for p in cleaned.replace(" ", "").split(",")]
    if cleaned and all(p in LEVEL_IDS for p in parts):  # a button
        return [level for level in LEVEL_IDS if level in parts]
    mentions = _find(cleaned, _LEVEL_PHRASES)
    negated = [False] * len(mentions)
    for i, mention in enumerate(mentions):
        before = _LEVEL_NEGATOR.search(cleaned[:mention.start])
        previous_end = mentions[i - 1].end if i else 0
        if before and before.start() >= previous_end:
            negated[i] = True
        elif i and negated[i - 1] and re.fullmatch(r" ?(?:or|nor|/) ?(?:the |any |our )?",
                                                   cleaned[previous_end:mention.start]):
            negated[i] = True  # "no managers or execs"
    for i, mention in enumerate(mentions):
        following = mentions[i + 1].start if i + 1 < len(mentions) else len(cleaned)
        if not _LEVEL_NEGATED_AFTER.match(cleaned[mention.end:following]):
            continue
        j = i
        negated[j] = True
        while j and _JOINED.match(cleaned[mentions[j - 1].end:mentions[j].start]):
            j -= 1
            negated[j] = True  # "the matron and the execs aren't involved"
    said = {m.key for m, neg in zip(mentions, negated, strict=True) if not neg}
    denied = {m.key for m, neg in zip(mentions, negated, strict=True) if neg} - said
    if "all" in said:
        said |= set(LEVEL_IDS) - denied
    said |= {level for level in extracted if level in LEVEL_IDS and level not in denied}
    return [level for level in LEVEL_IDS if level in said] or None


# --- how long it has been stuck --------------------------------------------------------------

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18, "twenty": 20,
            "twenty four": 24, "thirty": 30, "a couple of": 2, "a couple": 2, "couple of": 2, "couple": 2}
_VAGUE = {"a few": "a few", "few": "a few", "a good few": "several", "quite a few": "several", "a fair few": "several",
          "several": "several", "a number of": "several", "a handful of": "a few", "some": "some", "many": "many"}
_UNIT = {"day": "day", "days": "day", "week": "week", "weeks": "week", "wk": "week", "wks": "week", "month": "month",
         "months": "month", "mth": "month", "mths": "month", "mo": "month", "mos": "month", "year": "year",
         "years": "year", "yr": "year", "yrs": "year"}
_UNIT_RE = r"(days?|weeks?|wks?|months?|mths?|mos?|years?|yrs?)"
_AMOUNT_RE = (r"(\d+(?:\.\d+)?|twenty four|" + "|".join(sorted((k for k in _NUMBERS if k != "twenty four"), key=len,
                                                              reverse=True)) + r")")
_MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
           "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
           "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
_SEASONS = {"spring": 4, "summer": 7, "autumn": 10, "fall": 10, "winter": 1}  # the middle month of each (UK)
_ANCHOR = r"(?:since|from|in|this|about|around|roughly|approximately|circa|early|mid|late|end of|start of|" \
          r"beginning of|middle of|back in|over|during|the)"
_WHEN = re.compile(
    rf"(?<![a-z0-9])(?:(?P<anchor>{_ANCHOR}) )?(?:(?:{_ANCHOR}) )*(?P<last>last )?(?P<name>"
    + "|".join(sorted(list(_MONTHS) + list(_SEASONS), key=len, reverse=True))
    + r")(?![a-z0-9])(?: (?:(?P<year>(?:19|20)\d\d)|'(?P<short>\d\d)|(?P<rel>last|this) year))?")
_EVENT = re.compile(r"(?<![a-z0-9])(?:ever )?(?:since|after|following) (?!then\b|that\b|when\b|last\b)"
                    r"(?P<phrase>[a-z0-9'][a-z0-9' ]*)")


def read_duration(text: str, today: date | None = None) -> str | None:
    """How long the project has been stuck, as a short phrase, or None.

    ``today`` (default: the day it is called) anchors dates such as "since March".

    Rules, first that fits:

    1. Bounds: "under a month", "over 6 months", "more than a year" keep their bound.
    2. An amount of time keeps its unit: "about 6 weeks" -> "about 6 weeks", "18 months" ->
       "about 18 months", "a year and a half" -> "about 18 months", "half a year" -> "about 6
       months", "2-3 months" -> "about 2 to 3 months". Vague amounts stay vague: "a few
       weeks", "a good few months" -> "several months".
    3. A month ("since about March", "from last October", "since sept", "March 2024") or a
       season ("last spring", "since the summer"; spring = April, summer = July, autumn =
       October, winter = January, their middle months) is counted back from ``today``:
       a month later in the year than today's is last year's ("since October" said in June
       2025 means October 2024); today's own month is this month ("under a month") unless it is
       "last March" said in March, a year ago; otherwise "last" means the most recent one, as a
       bare month does. A year, or "last year", after the month is used as said. The answer
       keeps what it was counted from: "about 3 months (since March 2025)".
    4. "Since ..." an event keeps the event, not a guess at its date: "since the merger",
       "since the new EPR went live", "since covid", "since before Christmas" (a "before" makes
       a date a bound, so it is kept as said too). "After the merger" reads the same.
    5. Relative words: "last week", "last month", "recently", "not long" (-> "a few weeks"),
       "for a while now" (-> "a while"), "months" (-> "several months"), "years" (-> "over a
       year"), "ages", "forever", "a long time" (-> "a long time"), "since the start",
       "from day one" (-> "since the start").
    6. Anything else ("idk", "not sure", "banana", "") -> None.
    """
    today = today or date.today()
    original = " ".join(str(text or "").replace("\u2019", "'").split())
    cleaned = re.sub(r"(\d)\s*[-\u2013\u2014]\s*(\d)", r"\1 to \2", original.lower())
    cleaned = _clean(cleaned)
    if not cleaned:
        return None
    for reader in (_read_bound, _read_amount):
        phrase = reader(cleaned)
        if phrase:
            return phrase
    before = re.search(r"(?<![a-z0-9])(?:since )?before (?P<what>[a-z0-9' ]+)", cleaned)
    if before:
        return "since before " + _said(original, before.group("what"))
    phrase = _read_month_or_season(cleaned, today)
    if phrase:
        return phrase
    event = _EVENT.search(cleaned)
    if event:
        what = re.split(r"[,.;:!?]| (?:but|so|and so|which|when|i think|really|or so)(?![a-z0-9])",
                        event.group("phrase"))[0].strip()
        what = re.sub(r"^(?:about|around|roughly)\s+", "", what)
        if what and len(what.split()) <= 8 and what not in ("then", "that", "it", "ever"):
            return "since " + _said(original, what)
    return _read_relative(cleaned)


def _said(original: str, cleaned_part: str) -> str:
    """``cleaned_part`` as the user wrote it (their capitals: "EPR", "Christmas"), if it can be found."""
    pattern = r"[\s\-]+".join(re.escape(word) for word in cleaned_part.split())
    found = re.search(pattern, original, re.IGNORECASE)
    return (found.group(0) if found else cleaned_part).strip(" .!?,")


def _read_bound(cleaned: str) -> str | None:
    match = re.search(r"(?<![a-z0-9])(?:under|less than|not even|not quite|within) (?:a|one|1) (week|month|year)"
                      r"(?![a-z0-9])", cleaned)
    if match:
        return f"under a {match.group(1)}"
    match = re.search(rf"(?<![a-z0-9])(?:over|more than|longer than|upwards of|well over|at least) {_AMOUNT_RE} "
                      rf"{_UNIT_RE}(?![a-z0-9])", cleaned)
    if match:
        return "over " + _amount_phrase(match.group(1), match.group(2))
    return None


def _read_amount(cleaned: str) -> str | None:
    units = r"(?:days?|weeks?|wks?|months?|mths?|mos?|years?|yrs?)"
    match = re.search(rf"(?<![a-z0-9])(?:a|an|one) ({units}) and a half(?![a-z0-9])", cleaned)
    if match:
        return _about(1.5, _UNIT[match.group(1)])
    match = re.search(rf"(?<![a-z0-9]){_AMOUNT_RE} and a half ({units})(?![a-z0-9])", cleaned)
    if match:
        return _about(_number(match.group(1)) + 0.5, _UNIT[match.group(2)])
    match = re.search(rf"(?<![a-z0-9])half (?:a|an) ({units})(?![a-z0-9])", cleaned)
    if match:
        return _about(0.5, _UNIT[match.group(1)])
    match = re.search(r"(?<![a-z0-9])(?:a )?fortnight(?![a-z0-9])", cleaned)
    if match:
        return "about 2 weeks"
    match = re.search(rf"(?<![a-z0-9])(\d+) (?:to|or) (\d+) {_UNIT_RE}(?![a-z0-9])", cleaned)
    if match:
        return f"about {match.group(1)} to {match.group(2)} {_UNIT[match.group(3)]}s"
    vague = "|".join(sorted(_VAGUE, key=len, reverse=True))
    match = re.search(rf"(?<![a-z0-9])({vague}) (?:more )?{_UNIT_RE}(?![a-z0-9])", cleaned)
    if match and _UNIT[match.group(2)] != "day":
        return f"{_VAGUE[match.group(1)]} {_UNIT[match.group(2)]}s"
    match = re.search(rf"(?<![a-z0-9]){_AMOUNT_RE} (?:or so |odd |more |long )?{_UNIT_RE}(?![a-z0-9])", cleaned)
    if match:
        return "about " + _amount_phrase(match.group(1), match.group(2))
    return None


def _number(amount: str) -> float:
    return float(amount) if amount[0].isdigit() else float(_NUMBERS[amount])


def _amount_phrase(amount: str, unit: str) -> str:
    return _about(_number(amount), _UNIT[unit]).removeprefix("about ")


def _about(number: float, unit: str) -> str:
    """"about 6 weeks", "about a month", "about 18 months" (1.5 years are said in months)."""
    if unit == "year" and number != int(number) and number < 2:
        number, unit = number * 12, "month"
    if unit == "month" and number != int(number) and number < 1:
        number, unit = number * 4, "week"
    if number == 1:
        return f"about a {unit}"
    shown = f"{number:g}"
    return f"about {shown} {unit}s"


def _read_month_or_season(cleaned: str, today: date) -> str | None:
    for match in _WHEN.finditer(cleaned):
        name = match.group("name")
        anchored = match.group("anchor") or match.group("last") or match.group("year") or match.group("rel")
        if name in ("may", "mar", "fall", "sep", "jan") and not (anchored or cleaned in (name, f"about {name}")):
            continue  # "it may be", "fall apart": a month only where a date is meant
        if not anchored and cleaned != name and name in _SEASONS:
            continue
        month = _MONTHS.get(name) or _SEASONS[name]
        if match.group("year"):
            year = int(match.group("year"))
        elif match.group("short"):
            year = 2000 + int(match.group("short"))
        elif match.group("rel"):
            year = today.year - (1 if match.group("rel") == "last" else 0)
        else:
            year = today.year if month < today.month or (month == today.month and not match.group("last")) \
                else today.year - 1
        if name == "winter" and (match.group("year") or match.group("short")):
            year += 1  # "winter 2024" is the winter of 2024-25; its middle month is January 2025
        months = (today.year - year) * 12 + today.month - month
        if months < 0:
            continue  # a date still to come is not how long it has been stuck
        when = (f"{name} {year}" if name in _SEASONS else f"{_MONTH_NAMES[month - 1]} {year}")
        if name == "winter":
            when = f"winter {year - 1}-{str(year)[2:]}"
        return f"{_months_phrase(months)} (since {when})"
    return None


def _read_relative(cleaned: str) -> str | None:
    def has(*phrases: str) -> bool:
        return any(re.search(rf"(?<![a-z0-9']){re.escape(p)}(?![a-z0-9'])", cleaned) for p in phrases)

    if has("ages", "forever", "a long time", "long time", "too long", "donkey's years", "yonks", "an age", "eternity"):
        return "a long time"
    if has("last week", "this week", "a week ago"):
        return "about a week"
    if has("last month", "a month ago"):
        return "about a month"
    if has("since the start", "from the start", "since the beginning", "from the beginning", "from day one",
           "since day one", "from the off", "always been", "never got going", "never really got going"):
        return "since the start"
    if has("last year"):
        return "since last year"
    if has("just started", "only just", "recently", "a little while", "not long", "not very long", "a short while",
           "not that long", "weeks"):
        return "a few weeks"
    if has("a while", "quite a while", "a good while", "some time", "for a bit", "a bit now"):
        return "a while"
    if has("months"):
        return "several months"
    if has("years"):
        return "over a year"
    return None


def _months_phrase(months: int) -> str:
    """A whole number of months since a date: "under a month", "about 3 months", "about a year", "about 2.5 years"."""
    if months <= 0:
        return "under a month"
    if months == 1:
        return "about a month"
    if months < 12:
        return f"about {months} months"
    if months == 12:
        return "about a year"
    if months < 24:
        return f"about {months} months"
    return f"about {round(months / 6) / 2:g} years"


# --- what has been tried ---------------------------------------------------------------------

TRIED_NOTHING = "nothing yet"
TRIED_UNSURE = "not sure"
TRIED_LOTS = "lots of things"
TRIED_SOME = "a few things"
TRIED_A_LITTLE = "not much"
UNNAMED_TRIED = (TRIED_NOTHING, TRIED_UNSURE, TRIED_LOTS, TRIED_SOME, TRIED_A_LITTLE)  # nothing to look up
_FILLER = {"we", "i", "we've", "i've", "weve", "ive", "have", "has", "had", "tried", "try", "trying", "done", "did",
           "really", "honestly", "so", "far", "yet", "already", "just", "well", "um", "erm", "er", "hmm", "lol",
           "of", "a", "the", "it", "to", "be", "yes", "yeah", "yep", "oh", "things", "thing", "stuff", "that",
           "this", "you", "name", "can", "could", "think", "about", "at", "all", "and", "bits", "pieces", "bit",
           "kind", "kinds", "sort", "sorts", "ideas", "anything", "everything", "nothing", "lots", "loads", "load",
           "lot", "tons", "ton", "many", "much", "various", "different", "every", "approach", "approaches",
           "under", "sun", "both", "few", "some", "couple", "number", "plenty", "quite", "go", "goes",
           "gone", "not", "no", "nope", "none", "n/a", "na", "nada", "zilch", "formal", "properly", "more",
           "less", "than", "little", "very", "idk", "dunno", "sure", "know", "don't", "dont", "remember",
           "unsure", "clue", "idea", "haven't", "havent", "hasn't", "anyone", "anybody", "us",
           "been", "there", "thats", "that's", "is", "was", "several", "whatever", "handful", "odd"}


def read_tried(text: str) -> str | None:
    """What has been tried already: the answer itself, or a plain summary when it names nothing.

    - Empty -> None (re-prompt).
    - "nothing", "nothing yet", "not really", "no", "nope", "none", "not yet", "we haven't
      tried anything" -> ``"nothing yet"``.
    - "not much", "not a lot", "very little" -> ``"not much"``.
    - "idk", "not sure", "don't know", "can't remember" -> ``"not sure"``.
    - "loads of things", "lots", "everything", "all sorts" (and nothing more specific) ->
      ``"lots of things"``; "a few things", "a couple of things", "bits and pieces" -> ``"a few
      things"``.
    - Otherwise the answer as said (at most ``MESSAGE_CHARS``): "we tried a poster campaign and
      some teaching sessions" is kept whole, for the plan to look up the strategies it names.

    The summaries are in ``UNNAMED_TRIED``: there is nothing in them to look up.
    """
    said = " ".join(str(text or "").split())
    cleaned = _clean(said).strip(" .!?")
    if not cleaned:
        return None
    words = re.findall(r"[a-z0-9'/]+", cleaned)
    if [w for w in words if w not in _FILLER]:
        return said[:MESSAGE_CHARS]
    flat = " ".join(words)

    def has(*phrases: str) -> bool:
        return any(re.search(rf"(?<![a-z0-9']){re.escape(p)}(?![a-z0-9'])", flat) for p in phrases)

    if has("idk", "dunno", "not sure", "unsure", "don't know", "dont know", "no idea", "no clue", "remember"):
        return TRIED_UNSURE
    if has("not much", "not a lot", "very little", "a little", "not a great deal"):
        return TRIED_A_LITTLE
    if has("loads", "load", "lots", "lot", "everything", "all sorts", "all kinds", "tons", "many", "various",
           "plenty", "you name it", "quite a few", "a good few", "a fair few", "several", "a number of"):
        return TRIED_LOTS
    if has("few", "some", "couple", "bits and pieces", "bit of", "one or two", "handful", "odd"):
        return TRIED_SOME
    if has("nothing", "not really", "no", "nope", "none", "not yet", "n/a", "na", "nada", "zilch", "not",
           "haven't", "havent", "anything"):
        return TRIED_NOTHING
    return said[:MESSAGE_CHARS]
