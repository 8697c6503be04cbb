"""Find a tool or strategy from what a person types: "bullet-proofing", "stakeholder map",
"PDSA", "we already tried protected time".

Names and aliases are normalised once, at load time (``normalise``), and kept in the
``search_terms`` table. A query is scored against every term of its kind; the best term
decides an item's score (0-100):

- 100: the query, normalised, is the term ("pdsa" = "PDSA");
- 80-100: one contains the other as whole words ("what is a driver diagram" contains
  "driver diagram"), higher the more of the longer one the shorter covers;
- otherwise the fuzzy similarity of rapidfuzz (typos: "bulet proofing"), counted only
  from ``FUZZY_FLOOR`` up.

Items scoring ``MATCH_THRESHOLD`` or more are returned, best first; ties go to the longer
(more specific) term, then the id, so the order is deterministic.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

MATCH_THRESHOLD = 80.0
#: When the best two matches are closer than this, the text could mean either: ask, don't guess.
AMBIGUITY_GAP = 5.0
#: Only the start of a long message is searched: a name is never longer than this.
MAX_QUERY_CHARS = 500
FUZZY_FLOOR = 85.0

#: Words that carry no name: question frames and "we tried" talk around the name itself.
FILLER = frozenset(
    """
    a an the and or of for to in on at with about is are was were be been being it its this that
    what whats which who how do does did done use using used can could should would we i you our
    my me us they them their have has had already tried try trying tell explain show give more
    info information please any some just also like something thing called know about whether
    been doing did ve re s d ll there here is anything help with on
    """.split()
)


def normalise(text: str) -> str:
    """Lower-case words of letters and digits only, single-spaced ("Bullet-Proofing!" ->
    "bullet proofing"); accents are folded, apostrophes dropped ("what's" -> "whats") and
    plain plurals made singular, the same way for queries and for the terms they meet."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"['\u2019`]", "", text)
    return " ".join(_singular(word) for word in re.findall(r"[a-z0-9]+", text))


def _singular(word: str) -> str:
    """Fold a plain plural ("champions" -> "champion"); "analysis", "process" stay whole."""
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return word[:-1]
    return word


def content_words(normalised: str) -> str:
    """The normalised text without filler words ("we tried protected time" -> "protected time")."""
    return " ".join(word for word in normalised.split() if word not in FILLER)


def _contains_words(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def score(query: str, term: str) -> float:
    """How well a normalised ``query`` names a normalised ``term`` (0-100)."""
    if not query or not term:
        return 0.0
    if query == term:
        return 100.0
    core = content_words(query) or query
    if core == term:
        return 99.0
    best = 0.0
    for candidate in {query, core}:
        longer, shorter = (candidate, term) if len(candidate) >= len(term) else (term, candidate)
        # A short one-word fragment ("time") must not name everything that mentions it.
        specific = shorter == term or " " in shorter or len(shorter) >= 6
        if len(shorter) >= 4 and specific and _contains_words(longer, shorter):
            best = max(best, 80.0 + 20.0 * len(shorter) / len(longer))
    similarity = fuzz.ratio(core, term)
    if len(term) >= 6:
        similarity = max(similarity, fuzz.partial_ratio(term, core) - 5.0 if len(core) > len(term) else 0.0)
    if similarity >= FUZZY_FLOOR:
        best = max(best, similarity * 0.95)
    return round(best, 1)
