"""A team's measure, read from what a person types, pastes or uploads: the points of a run chart.

People send their numbers in whatever shape they have them, so this reads a few common shapes
and answers anything else with a ``MeasureError`` that says, in plain words, what to send
instead (a wrong chart drawn from a guess is worse than a question):

- typed in chat: ``weekly falls: 12 15 11 9 14``, ``falls per week 12, 15, 11``, ``12 15 11 9 14``,
  ``% discharged before noon: 18%, 22%, 25.5%``. The name is the words before the colon, or
  before the first number when there is no colon. Numbers are separated by spaces, commas,
  semicolons, tabs or new lines; "." is the only decimal point.
- a pasted column, one point per line, maybe under a header line, maybe with a date or a week
  in front: ``03/02/2025 12``, ``2025-02-03, 12``, ``Week 1  12``, ``Jan 2025 40``. Words after
  the number on such a line are a note marking a change there, as a CSV's change column does.
- CSV text (comma, semicolon or tab separated; header optional): a date column, the value
  column (the first column of numbers that is not dates, weeks or point numbers) and a
  "change" / "PDSA" / "note" column whose non-empty cells mark a change from that row on.
- changes typed on their own line (or after the numbers): ``changes: 01/03/2025, 15/04/2025``,
  ``change at week 8`` (week 8 is the first point after it), ``changes after point 8 and 14``
  (the line is drawn after points 8 and 14). Point numbers count from 1.

Dates are day-first, as in the UK (03/02/2025 is 3 February): dd/mm/yyyy, dd/mm/yy, ISO
yyyy-mm-dd, "3 Feb 2025", and months as "Jan 2025", "January 2025" or Excel's "Jan-25".

Commas: "1,234" could be one number or two. Commas separate numbers, except when the numbers
are separated by spaces and every comma sits in a thousands group ("1,234 1,456 1,502"), or
inside one cell of a semicolon- or tab-separated table. "12,5" is never twelve and a half.

Rows are numbered as lines of the text, header included, so they match a spreadsheet's rows.
Every pattern is anchored or bounded and the text is capped at ``MAX_CHARS`` first, so a
megabyte of anything is answered at once.
"""

from __future__ import annotations

import csv
import math
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import NamedTuple

MAX_POINTS = 500
#: Enough for 500 rows of a wide spreadsheet; anything longer is refused before it is read.
MAX_CHARS = 200_000
#: Below this many points the run-chart rules can say little (said in the "too few" message).
USEFUL_POINTS = 10
EXAMPLE = "weekly falls: 12 15 11 9 14"
KINDS = ("empty", "no_numbers", "too_few", "too_many", "mixed", "dates", "changes")

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_FULL = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december")
_MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_FULL)}
_MONTHS.update({name.lower(): i + 1 for i, name in enumerate(_MONTH_ABBR)})
_MONTHS["sept"] = 9
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))

_TIME = r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"  # "2025-02-03 00:00:00" from exports
_DATE_FORMS = (
    ("dmy", r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4}|[0-9]{2})" + _TIME),
    ("ymd", r"([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})" + _TIME),
    ("d_mon_y", rf"([0-9]{{1,2}})(?:st|nd|rd|th)?[ -]({_MONTH_WORD})\.?,?[ -]([0-9]{{4}}|[0-9]{{2}})"),
    ("mon_y", rf"({_MONTH_WORD})\.?,?[ -]?'?([0-9]{{4}}|[0-9]{{2}})"),
)
_DATE_PATTERNS = tuple((form, re.compile(pattern, re.I)) for form, pattern in _DATE_FORMS)
_ANY_DATE = "|".join(f"(?:{pattern})" for _, pattern in _DATE_FORMS)
_DAY_MONTH = re.compile(r"[0-9]{1,2}/[0-9]{1,2}")  # "18/12": a day, never a value
_WEEK_OF = re.compile(r"(?:w/[ce]|wc|week\s+(?:commencing|ending|beginning|starting))\.?:?\s*", re.I)

_PERIOD_WORDS = {"w": "Week", "wk": "Week", "wks": "Week", "week": "Week", "weeks": "Week",
                 "month": "Month", "months": "Month", "mth": "Month", "mths": "Month",
                 "point": "Point", "points": "Point", "pt": "Point", "pts": "Point",
                 "day": "Day", "days": "Day", "period": "Period", "periods": "Period",
                 "sample": "Sample", "samples": "Sample"}
_PERIOD_WORD = "|".join(sorted(_PERIOD_WORDS, key=len, reverse=True))
_PERIOD = re.compile(rf"({_PERIOD_WORD})\.?\s*(?:no\.?\s*|#\s*)?([0-9]{{1,4}})", re.I)

_NUMBER = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?)\s*(%?)")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?\s*%?")  # "1,234" and "12,345.5"
_SEPARATING_COMMA = re.compile(r"(?<![0-9]),|,(?![0-9]{3}(?![0-9]))")  # not inside "1,234"
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
_TOKEN = re.compile(r"[^\s,;，；、]+")
_SPACED_TOKEN = re.compile(r"\S+")
_WRAP = "'\"()[]{}!?*“”‘’<>"
_NUMBER_CHARS = 40  # longer than any measure; keeps float() and the messages small

_CHANGE_KEY = re.compile(
    r"(?<![^\s,;.(])(?:pdsa\s+cycles?|pdsas?|changes?)"
    r"(?:\s+(?:was|were|made|introduced|started|began|tested)){0,2}"
    r"\s*(?:(:)|\b(at|after|on|from|in|before)\b)", re.I)
_CHANGE_ITEM = re.compile(
    r"[\s,;&]*(?:(?:and|then)\b[\s,;&]*)?"
    rf"(?:(?:w/?c\s*)?(?P<date>{_ANY_DATE})"
    rf"|(?:(?P<unit>{_PERIOD_WORD})\.?\s*)?(?P<n>[0-9]{{1,4}})(?:st|nd|rd|th)?)"
    r"(?![0-9A-Za-z/])", re.I)
_CHANGE_LINE_CHARS = 400
_CHANGE_HEAD = re.compile(r"(?:changes?|pdsas?|notes?|comments?|interventions?|annotations?|events?)\b", re.I)
_MISSING = {"n/a", "na", "nil", "none", "tbc", "missing", "#n/a", "#div/0!", "#value!", "null", "nan", "inf", "-"}
_MARKS = {"x", "y", "yes", "1", "true", "*", "✓", "✔"}
_MARK = "\x00"  # a change cell marked without words ("x"): a change with no label (NULs are taken out first)
_TIME_HEAD = re.compile(
    r"(?:date|day|week|wk|month|mth|year|yr|quarter|qtr|period|point|sample|fy|financial year|w/[ce]|wc|#|n|no|id"
    r"|index|seq)(?:\s*(?:no|number|num|#|commencing|ending|beginning|starting))?\.?:?", re.I)
_HEAD_TIME_WORD = re.compile(
    r"(?:date|week(?:\s+(?:commencing|ending|beginning|starting|no\.?|number))?|w/[ce]|wc|month|period|day|point|#)"
    r"(?![^\W_])[\s:,|-]*", re.I)
_INDEX_WORDS = {"week": "Week", "wk": "Week", "month": "Month", "mth": "Month", "day": "Day", "period": "Period",
                "sample": "Sample", "point": "Point"}

_LOOK_CHARS = 20_000
_LABEL_WORDS = set(_PERIOD_WORDS) | {"pdsa", "change", "w/c", "w/e"}


@dataclass(frozen=True)
class Change:
    """A change the team made (a PDSA cycle): the chart draws a line before point ``index``."""

    index: int  # 0-based index of the first point AFTER the change (the line is drawn before this point)
    label: str | None  # e.g. "PDSA 1: new handover sheet", or None


@dataclass(frozen=True)
class Measure:
    """The points of a run chart, in time order, with what the person called them."""

    name: str | None
    values: tuple[float, ...]
    labels: tuple[str, ...] | None  # "3 Feb 2025" / "Feb 2025" / "Week 1" when the input had them
    dates: tuple[date, ...] | None  # when every point had a date
    changes: tuple[Change, ...]
    unit: str | None  # "%" or None


class MeasureError(ValueError):
    """Says, in words for the person, what is wrong and what to send instead."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.message = message
        self.kind = kind  # one of KINDS


def _refuse(kind: str, message: str) -> MeasureError:
    return MeasureError(message, kind)


class _Dated(NamedTuple):
    day: date | None  # None: shaped like a date but no such day ("31/02/2025")
    month_only: bool


class _Row(NamedTuple):
    line: int
    label: str
    value: str
    note: str


@dataclass(frozen=True)
class _Asked:
    """A change typed in words, before it is placed among the points."""

    after: bool
    number: int | None
    week: bool
    day: date | None
    text: str


@dataclass
class _Read:
    name: str | None
    values: list[float]
    percent: bool
    labels: list[str] | None = None
    dates: list[date] | None = None
    months: bool = False
    changes: list[Change] = field(default_factory=list)


def read_measure(text: str) -> Measure:
    """The measure in ``text`` (typed, pasted or a CSV file's text). Raises ``MeasureError``
    with a message for the person when it cannot be read as a run chart's points."""
    if text and len(text) > MAX_CHARS:
        raise _refuse("too_many", f"That's more than I can read at once. A run chart shows at most {MAX_POINTS} "
                                  f"points clearly: add your numbers up (or average them) by week or month, and "
                                  f"send those in time order.")
    text = (text or "").replace("\ufeff", "").replace("\x00", "").replace("\u2212", "-")
    if not text.strip():
        raise _refuse("empty", f"There's nothing here for me to read yet. Send your numbers in time order, like: "
                               f"{EXAMPLE}")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    asked: list[_Asked] = []
    if len(lines) > 1:
        kept = []
        for number, line in lines:
            clause = _change_clause(line, anywhere=False)
            if clause is None:
                kept.append((number, line))
            else:
                asked.extend(clause[1])
        lines = kept
    if len(lines) == 1:
        clause = _change_clause(lines[0][1], anywhere=True)
        if clause is not None:
            lines = [(lines[0][0], clause[0])] if clause[0].strip() else []
            asked.extend(clause[1])
    if not lines:
        raise _refuse("no_numbers", f"I can see the changes, but no numbers to chart. Send the numbers too, in "
                                    f"time order, like: {EXAMPLE}")
    read = _read_typed(lines[0][1]) if len(lines) == 1 else _read_lines(lines)
    _check_count(len(read.values))
    changes = {change.index: change for change in read.changes}
    for wish in asked:
        index = _place(wish, read)
        changes.setdefault(index, Change(index, None))
    percent = read.percent or bool(read.name and re.search(r"%|\bper ?cent", read.name, re.I))
    return Measure(name=read.name, values=tuple(read.values),
                   labels=tuple(read.labels) if read.labels is not None else None,
                   dates=tuple(read.dates) if read.dates is not None else None,
                   changes=tuple(changes[index] for index in sorted(changes)),
                   unit="%" if percent else None)


def looks_like_measure(text: str) -> bool:
    """Whether a message is mostly a list of at least 5 numbers ("weekly falls: 12 15 11 9 14"),
    so the NLU guard can send it here rather than read it as a sentence. Numbers in sentences
    ("we had 3 meetings in 2 weeks"), dates, week labels and numbered choices ("1 2 3 4 5") do
    not count: five numbers must follow one another with no words between."""
    if not text:
        return False
    numbers = words = run = 0
    found = counting = label_next = after_word = False
    for match in _TOKEN.finditer(text[:_LOOK_CHARS].replace("\u2212", "-")):
        token = match.group().strip(_WRAP).rstrip(".…:").strip(_WRAP)
        number = _number(token) if token else None
        was_label, label_next = label_next, False
        if number is not None and not was_label:
            numbers += 1
            run += 1
            counting = (run == 1 or counting) and number[0] == run
            found = found or (run >= 5 and not counting)
        elif token.lower() in _LABEL_WORDS and not after_word:
            label_next = True  # "Week 1 12": the 1 names the point ("falls per week 12": it does not)
        elif number is None and any(ch.isalnum() for ch in token) and not (
                _as_date(token) or _DAY_MONTH.fullmatch(token) or _PERIOD.fullmatch(token)
                or token.lower() in _MONTHS):
            words += 1
            run = 0
            after_word = True
            continue
        after_word = False
    return found and words <= numbers + 6


# --- typed text -------------------------------------------------------------------------------

def _read_typed(body: str, name: str | None = None, row_of: Callable[[int], int] | None = None) -> _Read:
    """Numbers in the order written. Without ``name`` the words before the first number (or the
    colon) name the measure; after that, and everywhere when ``name`` is given, only numbers."""
    named = name is not None
    if name is None:
        colon = _colon_name(body)
        if colon is not None:
            name, body = colon
            named = True
    spaced = _SPACED_TOKEN.findall(body)
    grouped = len(spaced) > 1 and "," in body and all(
        _GROUPED.fullmatch(token.rstrip(";").strip(_WRAP)) for token in spaced if "," in token)
    values: list[float] = []
    percent = False
    for match in (_SPACED_TOKEN if grouped else _TOKEN).finditer(body):
        token = match.group().rstrip(";") if grouped else match.group()
        token = token.strip(_WRAP).rstrip(".…:").strip(_WRAP)
        if not token or not any(ch.isalnum() or ch == "%" for ch in token):
            continue  # dashes, ellipses, emoji
        if token == "%":
            percent = True
            continue
        number = _number(token)
        if number is not None:
            if not values and not named:
                name = _name_from(body[:match.start()])
            values.append(_finite(number[0], token, row_of(match.start()) if row_of else None))
            percent = percent or number[1]
            continue
        if _as_date(token) or _DAY_MONTH.fullmatch(token):
            raise _refuse("dates", f"I found a date ({_quote(token)}) among the numbers. To give dates, send "
                                   f"one point per line, date first, like:\n03/02/2025 12\n10/02/2025 15")
        if values or named:
            raise _not_a_number(token, row_of(match.start()) if row_of else None, hint=name is not None)
    if not values:
        raise _no_numbers(table=row_of is not None)
    return _Read(name=name or None, values=values, percent=percent)


def _colon_name(line: str) -> tuple[str, str] | None:
    """("weekly falls", " 12 15") from "weekly falls: 12 15", when the words before the colon
    are a name (they have a letter, and no table separators)."""
    cut = min((at for at in (line.find(":"), line.find("：")) if at >= 0), default=-1)
    if cut < 0:
        return None
    before = line[:cut]
    if not any(ch.isalpha() for ch in before) or any(sep in before for sep in ",;\t"):
        return None
    name = _name_from(before)
    return (name, line[cut + 1:]) if name else None


def _name_from(text: str) -> str | None:
    name = " ".join(text.split()).strip(" -–—=:：|>,;")
    return name if any(ch.isalpha() for ch in name) else None


def _not_a_number(token: str, row: int | None, hint: bool = False) -> MeasureError:
    where = f"Row {row} has no number I can read ({_quote(token)})." if row else \
        f"I couldn't read {_quote(token)} as a number."
    lowered = token.lower()
    if _DECIMAL_COMMA.fullmatch(token):
        advice = f"Please write decimals with a point, like {token.replace(',', '.')}."
    elif lowered in ("change", "changes", "pdsa"):
        advice = "To mark a change, add a line like: change after point 8 (or: changes: 01/03/2025)."
    elif lowered in _PERIOD_WORDS or _PERIOD.fullmatch(token):
        advice = "To label points by week, send one per line, like:\nWeek 1 12\nWeek 2 15"
    elif row:
        advice = "Put a number there, or delete the row if there was no data then."
    elif hint:
        advice = "Put a colon after the name, then just the numbers, like: Ward 7 falls: 12 15 11 9 14"
    else:
        advice = f"Send just the numbers, separated by spaces or commas, like: {EXAMPLE}"
    return _refuse("mixed", f"{where} {advice}")


def _no_numbers(table: bool) -> MeasureError:
    if table:
        return _refuse("no_numbers", "I couldn't find a column of numbers in that. Send one number per row, "
                                     "oldest first, with a date beside each if you have them.")
    return _refuse("no_numbers", f"I couldn't find any numbers in that. Send your measure as numbers in time "
                                 f"order, like: {EXAMPLE}")


# --- pasted lines and CSV ---------------------------------------------------------------------

def _read_lines(lines: list[tuple[int, str]]) -> _Read:
    """More than one line: a pasted column (maybe dated) or a table, comma-, semicolon- or
    tab-separated (a delimiter counts when every line after the first has it)."""
    name = None
    first_number, first = lines[0]
    colon = _colon_name(first)
    if colon is not None:
        name, rest = colon
        lines = ([(first_number, rest)] if rest.strip() else []) + lines[1:]
    if not lines:
        raise _no_numbers(table=False)
    if len(lines) == 1:
        return _read_typed(lines[0][1], name)
    rest_lines = [line for _, line in lines[1:]]
    delimiter = next((sep for sep in ("\t", ";", ",") if all(sep in line for line in rest_lines) and (
        sep != "," or any(_SEPARATING_COMMA.search(line) for _, line in lines))), None)
    if delimiter is not None:
        return _read_table(lines, delimiter, name)
    return _read_column(lines, name)


def _read_column(lines: list[tuple[int, str]], name: str | None) -> _Read:
    """Lines separated by spaces: an optional header line, then a number on each line, each
    maybe after a date or "Week n" (anything after the number is a note marking a change)."""
    if _is_header_line(lines[0][1]):
        name = name or _header_name(lines[0][1])
        lines = lines[1:]
    if not lines:
        raise _no_numbers(table=True)
    labelled = [(number, _leading_label(line), line) for number, line in lines]
    if not any(label for _, label, _ in labelled):
        cells = [(number, line.split()) for number, line in lines]
        firsts = [_number(parts[0]) for _, parts in cells]
        if len(cells) >= 3 and all(len(parts) == 2 and _number(parts[1]) for _, parts in cells) and \
                _consecutive([number[0] if number else math.nan for number in firsts]):
            rows = [_Row(number, parts[0], parts[1], "") for number, parts in cells]
            return _assemble(rows, name, index_word="")
        body = "\n".join(line for _, line in lines)
        starts = [0]
        for _, line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        return _read_typed(body, name, lambda at: lines[bisect_right(starts, at) - 1][0])
    rows = []
    for number, label, line in labelled:
        label_text, rest = label if label else ("", line)
        rest = rest.lstrip(" \t,;:|")
        if rest[:2] in ("- ", "– ", "— "):
            rest = rest[2:]
        parts = rest.split(None, 1)
        value = parts[0].rstrip(",;") if parts else ""
        note = parts[1].strip(" \t,;-–—") if len(parts) > 1 else ""
        if note and not any(ch.isalpha() for ch in note):
            raise _refuse("mixed", f"Row {number} has more than one number ({_quote(rest)}). Send one number "
                                   f"per line, after its date or week, like:\nWeek 1 12\nWeek 2 15")
        rows.append(_Row(number, label_text, value, note))
    return _assemble(rows, name or None)


def _read_table(lines: list[tuple[int, str]], delimiter: str, name: str | None) -> _Read:
    """CSV text: the value column is the first column of numbers that is not dates, weeks or
    point numbers; labels come from a date (or week) column; a change/PDSA/note column marks
    changes. Headerless all-number rows are one list, read row by row."""
    reader = csv.reader((line for _, line in lines), delimiter=delimiter, skipinitialspace=True)
    rows: list[tuple[int, list[str]]] = []
    start = 0
    try:
        for cells in reader:
            rows.append((lines[start][0], [cell.strip() for cell in cells]))
            start = reader.line_num
    except csv.Error:
        raise _refuse("mixed", f"I couldn't read that as a table (row {lines[min(start, len(lines) - 1)][0]}). "
                               f"Save it as CSV from your spreadsheet, or paste the numbers in time order, "
                               f"like: {EXAMPLE}") from None
    rows = [(number, cells) for number, cells in rows if any(cells)]
    header: list[str] | None = None
    for _ in range(2):  # a title line, then the column names
        if len(rows) > 1 and _is_header(rows[0][1], [cells for _, cells in rows[1:]]):
            if header is not None:
                name = name or _name_from(" ".join(header))
            header = rows[0][1]
            rows = rows[1:]
    if not rows:
        raise _no_numbers(table=True)
    if header is None and any(_across(cells) > len(rows) for _, cells in rows):
        raise _refuse("mixed", f"It looks like your numbers run across the page. Put them down one column "
                               f"instead, oldest at the top (one row per week or month), or send them on one line, "
                               f"like: {EXAMPLE}")
    width = max(len(cells) for _, cells in rows)
    columns = [[cells[j] if j < len(cells) else "" for _, cells in rows] for j in range(width)]
    heads = [header[j] if header and j < len(header) else "" for j in range(width)]
    kinds = [_column_kind(column, head) for column, head in zip(columns, heads, strict=True)]
    named_columns = sum(1 for head in (header or []) if head)
    if named_columns <= 1 and all(kind in ("number", "empty") for kind in kinds) and \
            all(_number(cell) is not None for column in columns for cell in column if cell) and \
            not (width >= 2 and len(rows) >= 3 and _consecutive(_numbers_of(columns[0]))):
        if header:
            name = _name_from(" ".join(header)) or name
        flat = [(number, cell, _number(cell)) for number, row in rows for cell in row if cell]
        values = [_finite(read[0], cell, number) for number, cell, read in flat if read is not None]
        return _Read(name=name, values=values, percent=any(read[1] for _, _, read in flat if read is not None))
    if header is None and width >= 2 and kinds[0] == "number" and "number" in kinds[1:] and len(rows) >= 3 and \
            _consecutive(_numbers_of(columns[0])):
        kinds[0] = "index"
    if "number" not in kinds:
        raise _no_numbers(table=True)
    value_at = kinds.index("number")
    label_at = next((kinds.index(kind) for kind in ("date", "period", "time", "index") if kind in kinds), None)
    change_at = kinds.index("change") if "change" in kinds else None
    if header and heads[value_at]:
        name = heads[value_at]
    index_word = None
    if label_at is not None and kinds[label_at] in ("time", "index"):
        head = heads[label_at].strip().lower()
        index_word = next((word for key, word in _INDEX_WORDS.items() if head.startswith(key)), "")
    table_rows = []
    for position, (number, _) in enumerate(rows):
        note = columns[change_at][position] if change_at is not None else ""
        if note.lower() in _MISSING:
            note = ""  # "n/a" or "-" in a notes column: nothing happened
        elif note and _number(note) is not None and heads[change_at or 0]:
            note = f"{heads[change_at or 0].strip()} {note}"
        elif note.lower() in _MARKS:
            note = _MARK
        table_rows.append(_Row(number, columns[label_at][position] if label_at is not None else "",
                               columns[value_at][position], note))
    return _assemble(table_rows, name, index_word=index_word)


def _is_header(cells: list[str], rest: list[list[str]]) -> bool:
    """A row of names: words and no number, date or week; or a word above a column of dates or
    numbers ("Date,2024,2025"). "n/a" above numbers is a missing value, not a name."""
    def worded(cell: str) -> bool:
        return any(ch.isalpha() for ch in cell) and cell.lower() not in _MISSING and not _is_point(cell)

    if any(worded(cell) for cell in cells) and not any(_is_point(cell) for cell in cells if cell):
        return True
    for j, cell in enumerate(cells):
        below = [row[j] for row in rest if j < len(row) and row[j]]
        if worded(cell) and below and all(_is_point(other) for other in below):
            return True
    return False


def _across(cells: list[str]) -> int:
    """How many numbers follow a row's name ("Falls,12,15,11,9,14"): a table laid out sideways."""
    if not cells or not any(ch.isalpha() for ch in cells[0]) or _is_point(cells[0]):
        return 0
    count = sum(1 for cell in cells[1:] if _number(cell) is not None)
    return count if count >= 4 else 0


def _is_point(cell: str) -> bool:
    return _number(cell) is not None or _as_date(cell) is not None or _PERIOD.fullmatch(cell) is not None


def _is_header_line(line: str) -> bool:
    """A pasted column's first line names it when it starts with a word, unless numbers follow
    the words to the end of the line ("weekly falls 12 15 11" is the start of the list)."""
    if _leading_label(line) is not None or line.strip().lower() in _MISSING:
        return False
    tokens = [token.strip(_WRAP) for token in _TOKEN.findall(line)]
    numbers = [_number(token) is not None for token in tokens]
    if not tokens or numbers[0] or not any(ch.isalpha() or ch == "%" for ch in line):
        return False
    return not (sum(numbers) >= 2 and all(numbers[numbers.index(True):]))


def _column_kind(cells: list[str], head: str) -> str:
    filled = [cell for cell in cells if cell]
    if not filled:
        return "empty"
    numbers = sum(1 for cell in filled if _number(cell) is not None)
    if head and _CHANGE_HEAD.match(head.strip()) and not (len(filled) == len(cells) and numbers == len(filled)):
        return "change"
    if all(_as_date(cell) for cell in filled):
        return "date"
    if all(_PERIOD.fullmatch(cell) for cell in filled):
        return "period"
    if head and _TIME_HEAD.fullmatch(head.strip()):
        return "time"
    return "number" if numbers * 2 >= len(filled) else "text"


def _header_name(line: str) -> str | None:
    """The measure's name from a header line: "Week  Falls" names the falls."""
    name = line.strip()
    time_word = _HEAD_TIME_WORD.match(name)
    if time_word and any(ch.isalpha() for ch in name[time_word.end():]):
        name = name[time_word.end():]
    return _name_from(name.rstrip(":："))


def _leading_label(line: str) -> tuple[str, str] | None:
    """(label, rest) when a line starts with a date or "Week n", else None."""
    text = line.lstrip()
    week_of = _WEEK_OF.match(text)
    start = week_of.end() if week_of else 0
    for _, pattern in _DATE_PATTERNS:
        found = pattern.match(text, start)
        if found and _ends_cell(text, found.end()):
            return text[:found.end()], text[found.end():]
    found = _PERIOD.match(text)
    if found and _ends_cell(text, found.end()):
        return text[:found.end()], text[found.end():]
    return None


def _ends_cell(text: str, at: int) -> bool:
    return at == len(text) or text[at] in " \t,;:|"


def _assemble(rows: list[_Row], name: str | None, index_word: str | None = None) -> _Read:
    """Rows to points: blank values before the first number and after the last are skipped
    (spreadsheets lay out future weeks), a blank or unreadable one between them is refused."""
    filled = [position for position, row in enumerate(rows) if row.value]
    if not filled:
        raise _no_numbers(table=True)
    for row in rows[filled[0]:filled[-1] + 1]:
        if not row.value:
            raise _refuse("mixed", f"Row {row.line} has no number. Fill it in, or delete the row if there "
                                   f"was no data then.")
    rows = rows[filled[0]:filled[-1] + 1]
    _check_count(len(rows))
    values, percent = [], False
    for row in rows:
        number = _number(row.value)
        if number is None:
            raise _not_a_number(row.value, row.line)
        values.append(_finite(number[0], row.value, row.line))
        percent = percent or number[1]
    labels: list[str] = []
    dates: list[date | None] = []
    months = True
    for row in rows:
        text, day, month_only = _label(row, index_word)
        labels.append(text)
        dates.append(day)
        months = months and month_only
    dated = [(row, day) for row, day in zip(rows, dates, strict=True) if day is not None]
    _check_order(dated)
    changes = [Change(position, None if row.note == _MARK else row.note)
               for position, row in enumerate(rows) if row.note and position > 0]
    return _Read(name=name, values=values, percent=percent,
                 labels=labels if any(labels) else None,
                 dates=[day for day in dates if day is not None] if len(dated) == len(rows) else None,
                 months=months and bool(dated), changes=changes)


def _label(row: _Row, index_word: str | None) -> tuple[str, date | None, bool]:
    """The x-axis label of a row, its date if it has one, and whether that date is a month."""
    cell = row.label
    if not cell:
        return "", None, False
    if index_word is not None:
        number = _number(cell)
        if number is not None and number[0] == int(number[0]):
            return (f"{index_word} {int(number[0])}" if index_word else str(int(number[0]))), None, False
        return cell, None, False
    dated = _as_date(cell)
    if dated is not None:
        if dated.day is None:
            raise _refuse("dates", f"Row {row.line} has a date I can't read ({_quote(cell)}). I read dates "
                                   f"day first, as in the UK: 03/02/2025 is 3 February 2025.")
        return _spoken(dated), dated.day, dated.month_only
    period = _PERIOD.fullmatch(cell)
    if period:
        return f"{_PERIOD_WORDS[period.group(1).lower()]} {int(period.group(2))}", None, False
    return cell, None, False


def _check_order(dated: list[tuple[_Row, date]]) -> None:
    """A run chart reads left to right in time: dates must go forward, each once."""
    steps = list(pairwise(dated))
    if steps and all(later < earlier for (_, earlier), (_, later) in steps):
        raise _refuse("dates", "Your dates run from newest to oldest. A run chart reads left to right in "
                               "time, so please send them oldest first.")
    for (row, earlier), (next_row, later) in steps:
        if later == earlier:
            raise _refuse("dates", f"Rows {row.line} and {next_row.line} have the same date "
                                   f"({_day_text(later)}). Each point needs its own date: add up (or "
                                   f"average) the numbers for that date, or fix the date.")
        if later < earlier:
            raise _refuse("dates", f"The dates aren't in time order: row {next_row.line} "
                                   f"({_day_text(later)}) comes after row {row.line} ({_day_text(earlier)}). "
                                   f"A run chart reads left to right in time, so please sort them oldest first.")


# --- changes typed in words -------------------------------------------------------------------

def _change_clause(line: str, anywhere: bool) -> tuple[str, list[_Asked]] | None:
    """(what comes before, the changes) when ``line`` has a change clause running to its end:
    "changes: 01/03/2025, 15/04/2025", "change at week 8", "changes after point 8 and 14".
    On a line of its own it must start the line; after numbers, "changes:" with a colon only
    starts a line, so a name like "weight change: 1 2 3" stays a name."""
    if len(line) > _CHANGE_LINE_CHARS:
        return None
    for tries, key in enumerate(_CHANGE_KEY.finditer(line)):
        before = line[:key.start()]
        if tries == 3 or (not anywhere and before.strip()):
            return None
        if before.strip() and (key.group(1) or not any(ch.isdigit() for ch in before)):
            continue
        asked = _change_items(line[key.end():], after=(key.group(2) or "").lower() == "after",
                              text=line[key.start():].strip())
        if asked:
            return before.rstrip(" \t,;.-–—"), asked
    return None


def _change_items(rest: str, after: bool, text: str) -> list[_Asked] | None:
    rest = rest.strip().rstrip(".!)").strip()
    asked: list[_Asked] = []
    week = False
    at = 0
    while at < len(rest):
        item = _CHANGE_ITEM.match(rest, at)
        if item is None:
            return None
        at = item.end()
        if item.group("date"):
            dated = _as_date(item.group("date"))
            if dated is None or dated.day is None:
                raise _refuse("dates", f"I couldn't read the date {_quote(item.group('date'))} in your change. "
                                       f"I read dates day first, as in the UK: 01/03/2025 is 1 March 2025.")
            asked.append(_Asked(after, None, False, dated.day, text))
            continue
        if item.group("unit"):
            week = _PERIOD_WORDS[item.group("unit").lower()] == "Week"
        asked.append(_Asked(after, int(item.group("n")), week, None, text))
    return asked or None


def _place(wish: _Asked, read: _Read) -> int:
    """The 0-based index of the first point after a typed change."""
    count = len(read.values)
    if wish.day is not None:
        if read.dates is None:
            raise _refuse("changes", "I can only place a change by its date when every point has a date. Say "
                                     "which point it came after instead, like: change after point 8")
        target = wish.day.replace(day=1) if read.months else wish.day
        index = next((i for i, day in enumerate(read.dates) if (day > target if wish.after else day >= target)),
                     count)
    else:
        assert wish.number is not None
        position = wish.number - 1
        week_label = f"Week {wish.number}"
        if wish.week and read.labels and week_label in read.labels:
            position = read.labels.index(week_label)
        index = position + 1 if wish.after else position
    if index <= 0:
        raise _refuse("changes", f"{_quote(wish.text)} puts a change before the first point, with nothing "
                                 f"before it to compare. Say the last point before the change, like: change "
                                 f"after point 8")
    if index >= count:
        raise _refuse("changes", f"{_quote(wish.text)} comes after the last of your {count} points, so there "
                                 f"is nothing after it to show yet. Send it again once you have points from "
                                 f"after the change.")
    return index


# --- small readers ----------------------------------------------------------------------------

def _number(cell: str) -> tuple[float, bool] | None:
    """(value, had a % sign) for a number written with a decimal point, else None."""
    text = cell.strip()
    if not text or len(text) > _NUMBER_CHARS:
        return None
    if "," in text and _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    found = _NUMBER.fullmatch(text)
    return (float(found.group(1)), bool(found.group(2))) if found else None


def _finite(value: float, written: str, row: int | None) -> float:
    if math.isfinite(value):
        return value
    where = f"Row {row} has a number" if row else "That's a number"
    raise _refuse("mixed", f"{where} too big for me to chart ({_quote(written)}). Check it, and send the "
                           f"numbers as written, like: {EXAMPLE}")


def _numbers_of(cells: list[str]) -> list[float]:
    found = [_number(cell) for cell in cells]
    return [number[0] if number else math.nan for number in found]


def _consecutive(numbers: list[float]) -> bool:
    """Point numbers, not values: whole numbers going up by one (1 2 3, or 14 15 16)."""
    return all(later - earlier == 1 and earlier == int(earlier) for earlier, later in pairwise(numbers)) \
        and not any(math.isnan(number) for number in numbers)


def _check_count(count: int) -> None:
    if count > MAX_POINTS:
        raise _refuse("too_many", f"That's {count:,} points: more than the {MAX_POINTS} a run chart can show "
                                  f"clearly. Add them up (or average them) by week or month, and send those in "
                                  f"time order.")
    if count < 2:
        raise _refuse("too_few", f"I need at least 2 numbers to draw anything, and {USEFUL_POINTS} or more "
                                 f"before the run-chart rules can say much. Send them in time order, like: "
                                 f"{EXAMPLE}")


def _as_date(cell: str) -> _Dated | None:
    """The day (or month) a cell names, day-first; None when it is not shaped like a date."""
    text = cell.strip()
    week_of = _WEEK_OF.match(text)
    if week_of:
        text = text[week_of.end():]
    for form, pattern in _DATE_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return _dated(form, found.groups())
    return None


def _dated(form: str, parts: tuple[str, ...]) -> _Dated:
    if form == "mon_y":
        month, year, day = _MONTHS[parts[0].lower()], parts[1], "1"
    elif form == "d_mon_y":
        day, month, year = parts[0], _MONTHS[parts[1].lower()], parts[2]
    elif form == "ymd":
        year, month, day = parts[0], int(parts[1]), parts[2]
    else:
        day, month, year = parts[0], int(parts[1]), parts[2]
    try:
        return _Dated(date(int(year) + (2000 if len(year) == 2 else 0), month, int(day)), form == "mon_y")
    except ValueError:
        return _Dated(None, form == "mon_y")


def _spoken(dated: _Dated) -> str:
    assert dated.day is not None
    month_year = f"{_MONTH_ABBR[dated.day.month - 1]} {dated.day.year}"
    return month_year if dated.month_only else f"{dated.day.day} {month_year}"


def _day_text(day: date) -> str:
    return f"{day.day} {_MONTH_ABBR[day.month - 1]} {day.year}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text[:30]}…"' if len(text) > 30 else f'"{text}"'
