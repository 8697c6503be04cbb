"""When to check in, from what a person types: "next Friday", "in a month", "in 3 weeks",
"tomorrow", "18 December", "18/12".

A small English reader for the phrases people use to pick a day, against a given ``now`` (so
tests freeze the clock). A general date parser (dateparser, Duckling) reads far more, and
brings tens of megabytes of locale data or a server for it; the day of a check-in needs these
few forms, and anything else gets a clear question back instead of a guess. Days are
day-first, as in the UK ("3/4" is 3 April). A check-in is sent at ``SEND_AT`` (UTC) on the
chosen day, never in the past and never more than ``LATEST`` ahead (what is kept is purged
after the retention period, 90 days by default, and a check-in should find its plan still there).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone

DEFAULT_DAYS = 14
SEND_AT = time(9, 0, tzinfo=timezone.utc)
LATEST = timedelta(weeks=8)
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
WEEKDAYS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 4})
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3, "a few": 3, "a couple of": 2}
UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14}

_AMOUNT = r"(\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_IN = re.compile(rf"\b(?:in|after|within)\s+(?:about\s+|around\s+)?{_AMOUNT}\s+(day|week|fortnight|month)s?\b")
_BARE = re.compile(rf"\b{_AMOUNT}\s+(day|week|fortnight|month)s?\b")  # "two weeks is fine", "give it a month"
_WEEKDAY = re.compile(r"\b(?:(next|this|on|coming)\s+)?(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True))
                      + r")\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(sorted(MONTHS, key=len, reverse=True))
                        + r")\b")
_MONTH_DAY = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")


class WhenError(ValueError):
    """A day this reader will not use: past, impossible, or too far ahead."""


def read_when(text: str | None, now: datetime) -> datetime | None:
    """The moment a check-in asked for in ``text`` should be sent, or None when the text names
    no day. Raises ``WhenError`` for a day in the past, impossible, or over ``LATEST`` ahead."""
    phrase = " ".join((text or "").lower().replace(",", " ").split())
    day = _read_day(phrase, now.date())
    if day is None:
        return None
    if day <= now.date():
        raise WhenError("That day has already passed: pick a day from tomorrow on.")
    moment = datetime.combine(day, SEND_AT)
    if moment - now > LATEST:
        raise WhenError("That's more than eight weeks away. Stalled projects need a nudge sooner: "
                        "pick a day within the next eight weeks.")
    return moment


def without_days(text: str) -> str:
    """``text`` with every phrase naming a day taken out ("I'll try 1, ask me in 2 weeks" ->
    "I'll try 1, ask me"), so its other numbers can be read on their own."""
    phrase = text.lower()
    for pattern in (_IN, _BARE, _DAY_MONTH, _MONTH_DAY, _NUMERIC):
        phrase = pattern.sub(" ", phrase)
    return " ".join(phrase.split())


def in_days(now: datetime, days: int) -> datetime:
    """``days`` from today, at ``SEND_AT``."""
    return datetime.combine(now.date() + timedelta(days=days), SEND_AT)


def default_when(now: datetime) -> datetime:
    """Two weeks from today, at ``SEND_AT``."""
    return in_days(now, DEFAULT_DAYS)


def spoken(moment: datetime) -> str:
    """"Friday 18 December": how a reply names the day."""
    return f"{calendar.day_name[moment.weekday()]} {moment.day} {calendar.month_name[moment.month]}"


def _read_day(phrase: str, today: date) -> date | None:
    if not phrase:
        return None
    if re.search(r"\btomorrow\b", phrase):
        return today + timedelta(days=1)
    if re.search(r"\b(?:next|in a)\s+fortnight\b", phrase):
        return today + timedelta(days=14)
    if re.search(r"\bnext month\b", phrase):
        return _add_months(today, 1)
    if re.search(r"\bnext week\b", phrase):
        return today + timedelta(days=7)
    amount = _IN.search(phrase) or _BARE.search(phrase)
    if amount:
        count = int(amount.group(1)) if amount.group(1).isdigit() else NUMBERS[amount.group(1)]
        unit = amount.group(2)
        return _add_months(today, count) if unit == "month" else today + timedelta(days=count * UNIT_DAYS[unit])
    for finder in (_DAY_MONTH, _MONTH_DAY):
        found = finder.search(phrase)
        if found:
            day_text, month_text = found.groups() if finder is _DAY_MONTH else found.groups()[::-1]
            return _next_date(today, int(day_text), MONTHS[month_text])
    numeric = _NUMERIC.search(phrase)
    if numeric:
        day_number, month = int(numeric.group(1)), int(numeric.group(2))
        if numeric.group(3):
            year = int(numeric.group(3))
            return _checked_date(year + 2000 if year < 100 else year, month, day_number)
        return _next_date(today, day_number, month)
    weekday = _WEEKDAY.search(phrase)
    if weekday:
        ahead = (WEEKDAYS[weekday.group(2)] - today.weekday()) % 7 or 7
        if weekday.group(1) == "next" and ahead < 7 and today.weekday() < WEEKDAYS[weekday.group(2)]:
            # "next Friday" said on a Monday: UK speakers mostly mean the Friday of next week
            ahead += 7
        return today + timedelta(days=ahead)
    return None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _checked_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise WhenError("I couldn't read that date: try \"18 December\" or \"in two weeks\".") from None


def _next_date(today: date, day: int, month: int) -> date:
    """The next time this day and month come round (this year, or next)."""
    this_year = _checked_date(today.year, month, day) if month <= 12 else None
    if this_year is None:
        raise WhenError("I couldn't read that date: try \"18 December\" or \"in two weeks\".")
    return this_year if this_year > today else _checked_date(today.year + 1, month, day)
