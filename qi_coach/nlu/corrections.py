"""The side of a short contrast that a person means: "more the IT than the consultants".

When the bot is unsure it offers three barriers and invites a correction in the person's own
words. Such corrections are short and often name two things, one to keep and one to drop
("more the IT than the consultants", "the rota rather than the money", "not the consultants,
it's the IT"). Read whole, both halves pull on the classifier and the dropped one can win.
``favoured_part`` returns the half the person means, and the input normaliser gives only that
half to the featurizers, the same way in training and at run time.

Only short messages whose whole shape is a contrast are read this way: in a longer
description "it takes more time than we have" is not a correction, and is left alone.
"""

from __future__ import annotations

import re

#: Corrections are short; a longer message is a description and is read whole.
MAX_WORDS = 14
#: Each half names one thing ("the IT", "the rota on nights"), not a clause.
MAX_HALF_WORDS = 6

_LEAD = r"(?:(?:no|nah|well|actually|honestly|tbh|hmm+|i'?d say|i think|probably|really|so)[,.!\s]+)*"
_IT_IS = r"(?:(?:it'?s|it is|it was|thats|that'?s|its)\s+)?"
_MORE = r"(?:more|mainly|mostly|much more|a lot more)\s+(?:(?:about|to do with|down to|like)\s+)?"
_LESS = r"(?:less|not so much|not)\s+(?:(?:about|to do with|down to)\s+)?"
# Both halves name a thing ("the IT", "our manager"): "more templates than tests of change" compares
# amounts and is a complaint in itself, not a correction.
_THING = r"(?:the|our|my|their|his|her|this|that|these|those)\s+[^.?!;]+?"
_KEEP, _DROP = rf"(?P<keep>{_THING})", rf"(?P<drop>{_THING})"

_PATTERNS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    # "more the IT than the consultants", "it's mostly the rota rather than the money"
    rf"^{_LEAD}{_IT_IS}{_MORE}{_KEEP}\s*,?\s+(?:rather\s+)?than\s+{_DROP}$",
    # "less the money, more the rota", "not the consultants, it's more the IT", "not the money but the rota"
    rf"^{_LEAD}{_IT_IS}{_LESS}{_DROP}\s*(?:[,;]\s*(?:and\s+|but\s+)?|\s+(?:but|and)\s+){_IT_IS}(?:{_MORE})?{_KEEP}$",
    # "the IT rather than the consultants", "the IT more than the consultants", "the IT, not the consultants"
    rf"^{_LEAD}{_IT_IS}{_KEEP}\s*(?:,?\s+(?:rather than|more than)|,\s*not)\s+{_DROP}$",
)]


def favoured_part(text: str) -> str | None:
    """The half of a short contrast the person means, or None when the text is not one."""
    stripped = text.strip().rstrip(".!?")
    if not stripped or len(stripped.split()) > MAX_WORDS:
        return None
    for pattern in _PATTERNS:
        match = pattern.match(stripped)
        if match and all(len(match[half].split()) <= MAX_HALF_WORDS for half in ("keep", "drop")):
            return match["keep"].strip(" ,;")
    return None

