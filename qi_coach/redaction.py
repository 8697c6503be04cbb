"""Take identifying details out of what someone typed before it is reused.

NHS staff paste NHS numbers, phone numbers, email addresses, postcodes and dates of birth
into chat however often they are asked not to. Anything the coach quotes back or compares
("you said the consultants are retiring") goes through ``redact`` first, so a detail typed
once is never repeated. Each detail becomes a typed placeholder ("[NHS number]"), which
keeps the sentence readable and shows the person what was removed.

An NHS number is ten digits whose last is a Modulus 11 check digit; ten digits that fail the
check (an order number, a bleep sequence) are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NHS_NUMBER = "[NHS number]"
PHONE = "[phone number]"
EMAIL = "[email address]"
POSTCODE = "[postcode]"
DATE_OF_BIRTH = "[date of birth]"

_NHS = re.compile(r"(?<![\d+])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"\b[\w.%+-]+@[\w-]+(?:\.[\w-]+)+\b")
# UK numbers: 0 or +44 / 0044, then 9-10 more digits in the usual groupings.
_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|0044\s?|0)(?:\d[\s-]?){8,9}\d(?!\d)")
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
_DATE = r"\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4}"
_DOB = re.compile(rf"\b(?:d\.?o\.?b\.?|date of birth|born(?: on)?)\s*[:\-]?\s*(?:{_DATE})", re.IGNORECASE)


@dataclass(frozen=True)
class Redacted:
    text: str
    removed: tuple[str, ...]  # the placeholders used, each once, in the order they appear

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def is_nhs_number(digits: str) -> bool:
    """Ten digits with a valid Modulus 11 check digit (NHS Digital's rule)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def redact(text: str) -> Redacted:
    """``text`` with NHS numbers, dates of birth, email addresses, phone numbers and UK
    postcodes replaced by placeholders."""
    removed: list[str] = []

    def swap(placeholder: str):
        def replace(match: re.Match[str]) -> str:
            if placeholder not in removed:
                removed.append(placeholder)
            return placeholder
        return replace

    def nhs(match: re.Match[str]) -> str:
        return swap(NHS_NUMBER)(match) if is_nhs_number("".join(match.groups())) else match.group(0)

    text = _NHS.sub(nhs, text)
    text = _DOB.sub(swap(DATE_OF_BIRTH), text)
    text = _EMAIL.sub(swap(EMAIL), text)
    text = _PHONE.sub(swap(PHONE), text)
    text = _POSTCODE.sub(swap(POSTCODE), text)
    return Redacted(text, tuple(sorted(removed, key=text.find)))
