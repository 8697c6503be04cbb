"""What kind of text a message is, before any model sees it.

Pure functions, so the rules are easy to test: is there anything to read, is it English
(the coach's content is English only), and how long may it be before features are made.
"""

from __future__ import annotations

import re
import unicodedata

# Longer messages are cut (at a word boundary) before features are made: a 20,000-character
# paste must not light up every barrier, and the first part of a story carries its gist.
from qi_coach.limits import MESSAGE_CHARS as MAX_CHARS

OK = "ok"
EMPTY = "empty"  # nothing but whitespace
NO_WORDS = "no_words"  # emoji, punctuation, symbols: nothing to read
NOT_ENGLISH = "not_english"
TRUNCATED = "truncated"  # readable, but cut to MAX_CHARS

_ENGLISH = frozenset(
    """the a an and or but to of in on at for with from by is are was were be been being it its
    this that these those we i you he she they them our my your their me us not no nobody
    can cant can't wont won't dont don't do does did have has had get got just so too very all
    any some there here what when why how who which if because as about into out up down over
    than then also only still even really more most much many few lot lots again never always
    would could should will shall may might must need want help stuck project team ward staff""".split()
)
_FOREIGN = frozenset(
    """el la los las de del que y en por para una uno est les des une et pour avec sont pas
    der die das und ist nicht mit ein eine zu auf il lo gli che di per non sono è da
    och att det som är inte een het niet zijn van voor""".split()
)


def clean(text: str) -> str:
    """Drop control characters and collapse runs of whitespace."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text or "")
    return re.sub(r"\s+", " ", text).strip()


def spell_out(text: str) -> str:
    """"IT" as "information technology": the featurizers lower-case every word, and "it" the
    pronoun says nothing about data and systems. A message in capitals is left as it is."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isupper() for ch in letters) > len(letters) / 2:
        return text
    return re.sub(r"\bIT\b", "information technology", text)



def quality(text: str) -> str:
    """One of OK, EMPTY, NO_WORDS, NOT_ENGLISH, TRUNCATED for a message's raw text."""
    cleaned = clean(text)
    if not cleaned:
        return EMPTY
    letters = [ch for ch in cleaned if ch.isalpha()]
    if not letters and not re.search(r"\d", cleaned):
        return NO_WORDS
    if letters and _mostly_non_latin(letters):
        return NOT_ENGLISH
    words = re.findall(r"[a-zà-ÿ']+", cleaned.lower())
    if len(words) >= 4:
        english = sum(w in _ENGLISH for w in words)
        foreign = sum(w in _FOREIGN for w in words)
        if foreign >= 2 and foreign > english:
            return NOT_ENGLISH
    return TRUNCATED if len(cleaned) > MAX_CHARS else OK


def _mostly_non_latin(letters: list[str]) -> bool:
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin < len(letters) / 2
