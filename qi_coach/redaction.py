"""Take identifying details out of what someone typed before it is kept, logged or reused.

NHS staff paste NHS numbers, phone numbers, email addresses, postcodes, dates of birth and
names into chat however often they are asked not to. Every channel passes each message
through ``redact`` before anything else sees it (``qi_coach.channels.intake``), so the
classifier, the tracker store, the records and the logs only ever hold the redacted text.
Each detail becomes a typed placeholder ("[NHS number]"), which keeps the sentence readable
and shows the person what was removed.

Where a maintained library does the job, it does it here:
- NHS numbers: python-stdnum's ``gb.nhs`` (ten digits with a valid Modulus 11 check digit),
  so ten digits that fail the check (an order number) are left alone;
- phone numbers: Google's libphonenumber (``phonenumbers``) finds the number in the text, and
  only UK numbers (a leading 0, +44 or 0044) are taken, so a run of figures is not a phone.
Email addresses, postcodes (the government's postcode pattern) and dates of birth (a date
after "DOB", "born" or "date of birth") are patterns. Names have no offline recogniser that
fits this project (spaCy's English NER pipelines are not on PyPI for the spaCy Rasa 3.6 pins),
so a name is caught when something marks it as one: a title ("Mrs Patel", "Dr Jo Hill"), or
"called", "named", "my name is", "patient" before capitalised words. docs/privacy.md lists
what this misses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from stdnum.gb import nhs

NHS_NUMBER = "[NHS number]"
PHONE = "[phone number]"
EMAIL = "[email address]"
POSTCODE = "[postcode]"
DATE_OF_BIRTH = "[date of birth]"
NAME = "[name]"
#: Each placeholder as a person would say it ("I've taken an NHS number out").
SPOKEN = {NHS_NUMBER: "an NHS number", PHONE: "a phone number", EMAIL: "an email address",
          POSTCODE: "a postcode", DATE_OF_BIRTH: "a date of birth", NAME: "a name"}
PLACEHOLDERS = tuple(SPOKEN)

_NHS = re.compile(r"(?<![\d+])\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
_EMAIL = re.compile(r"\b[\w.%+-]+@[\w-]+(?:\.[\w-]+)+\b")
_UK_PREFIX = re.compile(r"^(?:\+44|0044|\(?0)")
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
_DATE = r"\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4}"
_DOB = re.compile(rf"\b(?:d\.?o\.?b\.?|date of birth|born(?: on)?)\s*[:\-]?\s*(?:{_DATE})", re.IGNORECASE)

# A capitalised word that can be part of a name: "Patel", "O'Neill", "Smith-Jones", "McDonald".
_NAME_WORD = r"[A-Z][a-z]*(?:['’-][A-Z]?[a-z]+)*"
# Case matters: "MS Teams" is not a title, and lower-case "miss" is a verb.
_TITLE = r"(?:Mrs|Mr|Ms|Miss|Mx|Dr|Prof|Professor|mrs|mr|ms|dr)\.?"
# Words that follow "patient" in the names of services rather than people.
_NOT_NAMES = {"Safety", "Experience", "Flow", "Liaison", "Advice", "Advocacy", "Partners", "Panel", "Council",
              "Forum", "Group", "Team", "Leaders", "Participation", "Voice", "Voices", "Reported", "Care",
              "Records", "Record", "Outcomes", "Outcome", "Information", "Services", "Service", "First"}
_TITLED_NAME = re.compile(rf"\b{_TITLE} (?:{_NAME_WORD} )?{_NAME_WORD}\b")
_CALLED_NAME = re.compile(rf"\b(?i:called|named|my name is|my name's)\s+((?:{_NAME_WORD})(?: {_NAME_WORD})?)")
# "patient: Jo Hill", "pt. Jo Hill"; never across a full stop ("...for a patient. So the project").
_PATIENT_NAME = re.compile(rf"\b(?:(?i:patient)|(?i:pt)\.?):?[ \t]+({_NAME_WORD}(?: {_NAME_WORD})?)")


@dataclass(frozen=True)
class Redacted:
    text: str
    removed: tuple[str, ...]  # the placeholders used, each once, in the order they appear

    @property
    def changed(self) -> bool:
        return bool(self.removed)


_ANY_PLACEHOLDER = re.compile(r"\s*(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS) + r")")


def without_placeholders(text: str) -> str:
    """What the models read of a redacted message: the placeholders dropped. They were never in
    the training data, and "[NHS number]" says nothing about why a project is stuck, so left in
    they only dilute the reading (0.96 to 0.78 on one pasted description, 0.98 without them)."""
    return _ANY_PLACEHOLDER.sub("", text).strip()


def is_nhs_number(digits: str) -> bool:
    """Ten digits (spaces and hyphens allowed) with a valid Modulus 11 check digit."""
    return nhs.is_valid(digits)


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Where UK phone numbers are: libphonenumber finds candidates, and only those written as
    UK numbers with at least ten digits count (a bleep or extension is not identifying)."""
    spans = []
    for match in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
        digits = sum(c.isdigit() for c in match.raw_string)
        if _UK_PREFIX.match(match.raw_string) and digits >= 10:
            spans.append((match.start, match.end))
    return spans


def _names(text: str, swap: Callable[[str], str]) -> str:
    text = _TITLED_NAME.sub(lambda m: swap(NAME), text)

    def named(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.split()[0] in _NOT_NAMES or name == name.upper():  # a service, or an acronym ("I'm NHS")
            return match.group(0)
        return match.group(0)[: match.start(1) - match.start(0)] + swap(NAME)

    text = _CALLED_NAME.sub(named, text)
    return _PATIENT_NAME.sub(named, text)


def redact(text: str) -> Redacted:
    """``text`` with NHS numbers, dates of birth, email addresses, phone numbers, UK postcodes
    and marked names replaced by placeholders."""
    removed: list[str] = []

    def swap(placeholder: str) -> str:
        if placeholder not in removed:
            removed.append(placeholder)
        return placeholder

    text = _NHS.sub(lambda m: swap(NHS_NUMBER) if is_nhs_number(m.group(0)) else m.group(0), text)
    text = _DOB.sub(lambda m: swap(DATE_OF_BIRTH), text)
    text = _EMAIL.sub(lambda m: swap(EMAIL), text)
    for start, end in reversed(_phone_spans(text)):
        text = text[:start] + swap(PHONE) + text[end:]
    text = _POSTCODE.sub(lambda m: swap(POSTCODE), text)
    text = _names(text, swap)
    return Redacted(text, tuple(sorted(removed, key=text.find)))
