"""The insights' figures: counts of distinct conversations straight from the records' tables,
and the rules that decide which of them may be shown.

``count`` reads the tables (``qi_coach.records``) for a period and returns the true counts;
``suppress`` turns them into the tables a QI lead sees. Nothing else is meant to read
``Counts``: the page, the plots and the CSVs (``report.py``) take only ``Figures``.

Privacy rules, in one place because they are the point of this module:

- Aggregates only. Every figure counts distinct conversations (check-ins: check-ins, hidden by
  the conversations behind them). Conversation ids are read only to count each conversation
  once and never leave ``count``; no column holding what people typed (a commitment's obstacle,
  plans, run charts, feedback comments) is ever selected.
- Small cells: a count of 1 to 4 conversations (``SMALL_CELL``) is hidden, shown as ``<5``.
  Zero is shown as 0.
- Totals: where a row shows a total, no hidden cell may be worked out from it. While one could
  (one hidden cell, or several whose sum pins them, e.g. two adding up to 2 or to 8), the
  smallest cell still shown that is not zero is hidden too, shown as ``*``; if none is left,
  the total is hidden instead (and then everywhere that total appears).
- Rates are shown only when their denominator counts at least 5 conversations and every count
  they are made from is shown.
- Deleted conversations do not count: "forget" deletes every row of a conversation
  (``UserRecords.forget``), so counting straight from the tables is right.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import combinations

from sqlalchemy import distinct, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from knowledge.repository import KnowledgeStore, StoreError
from knowledge.schema import BARRIER_IDS, LEVEL_IDS
from qi_coach.followup import ANSWERED, CANCELLED, FAILED, HELPED_FROM, SCHEDULED, SENDING, SENT, TRIED
from qi_coach.records import Checkin, Commitment, ConfirmedBarrier, StrategySuggestion

SMALL_CELL = 5  # a cell counting 1 to SMALL_CELL - 1 conversations is hidden
SMALL, SECONDARY = "<5", "*"  # how a hidden cell reads (and its reason in a CSV's ``suppressed`` column)
NOT_SAID = "not_said"
LEVEL_COLUMNS = (*LEVEL_IDS, NOT_SAID)
LEVEL_NAMES = {"front_line": "Front line", "middle_manager": "Middle managers", "senior_leader": "Senior leaders",
               NOT_SAID: "Level not said"}
STRATEGY_MEASURES = ("suggested", "chosen", "tried", "helped")
CHECKIN_STATES = (SCHEDULED, SENDING, SENT, ANSWERED, CANCELLED, FAILED)
TABLES = ("barriers_by_month", "barriers_by_level", "barrier_pairs", "strategies", "checkins")
MAX_MONTHS = 36  # a longer period makes a month table nobody can read (and costs a scan of years)


class PeriodError(ValueError):
    """A period that cannot be shown: a date that is not one, or the dates the wrong way round."""


# --- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise PeriodError(f"the period starts ({self.start}) after it ends ({self.end})")
        if len(self.months) > MAX_MONTHS:
            raise PeriodError(f"a period of at most {MAX_MONTHS} months, please "
                              f"({self.start} to {self.end} spans {len(self.months)})")

    @classmethod
    def last_year(cls, today: date) -> Period:
        """The default: this month and the eleven before it, up to today."""
        return cls(_months_back(today.replace(day=1), 11), today)

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date) -> Period:
        """A period from ISO dates as typed (``from`` and ``to``); either may be missing:
        no ``to`` is today, no ``from`` the start of the twelve months up to ``to``."""
        last = _day(end, "to") if end else today
        first = _day(start, "from") if start else _months_back(last.replace(day=1), 11)
        return cls(first, last)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The first moment in the period and the first after it (UTC)."""
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=timezone.utc)
        return first, datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)

    @property
    def months(self) -> tuple[str, ...]:
        """The calendar months it touches, as ``YYYY-MM``."""
        out, month = [], self.start.replace(day=1)
        while month <= self.end:
            out.append(f"{month:%Y-%m}")
            month = _months_back(month, -1)
        return tuple(out)

    @property
    def label(self) -> str:
        return f"{_long_date(self.start)} to {_long_date(self.end)}"


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"'{name}' must be a date written like 2026-01-31 (not {text[:40]!r})") from None


def _months_back(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _long_date(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def month_label(month: str) -> str:
    """``2026-03`` as ``Mar 2026``."""
    year, number = month.split("-")
    return f"{calendar.month_abbr[int(number)]} {year}"


# --- true counts: never shown as they are ----------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """The true counts for a period (distinct conversations unless said otherwise). Only
    ``suppress`` reads them."""

    period: Period
    conversations: int  # with a barrier confirmed in the period
    chose: int  # that chose a strategy to try in the period
    totals: Mapping[str, int]  # barrier -> conversations
    by_month: Mapping[str, Mapping[str, int]]  # barrier -> month first confirmed (in the period) -> conversations
    by_level: Mapping[str, Mapping[str, int]]  # barrier -> level named (or not_said) -> conversations
    pairs: Mapping[tuple[str, str], int]  # (barrier, barrier) in taxonomy order -> conversations with both
    strategies: Mapping[str, Mapping[str, int]]  # strategy -> suggested|chosen|tried|helped -> conversations
    checkins: Mapping[str, tuple[int, int]]  # state -> (check-ins due in the period, their conversations)
    checkin_conversations: int  # conversations with a check-in due in the period
    completion_conversations: int  # conversations behind the sent and answered check-ins


def count(engine: Engine, period: Period) -> Counts:
    """Count the period's records.

    A barrier counts once per conversation: in the month it was first confirmed in the period,
    and at every level the person named in any of its confirmations (or "not said"). Strategies:
    suggested = shown in the period; chosen = a commitment made in the period; of those, tried =
    reported done or partly, helped = tried and rated 4 or 5. Check-ins: those due in the period.
    """
    start, end = period.bounds
    with engine.connect() as conn:
        confirmed = conn.execute(
            select(ConfirmedBarrier.conversation_id, ConfirmedBarrier.barrier_id, ConfirmedBarrier.confirmed_at,
                   ConfirmedBarrier.levels)
            .where(ConfirmedBarrier.confirmed_at >= start, ConfirmedBarrier.confirmed_at < end)
        ).all()
        suggested = _per_strategy(conn, StrategySuggestion, StrategySuggestion.created_at >= start,
                                  StrategySuggestion.created_at < end)
        made = (Commitment.created_at >= start, Commitment.created_at < end)
        chosen = _per_strategy(conn, Commitment, *made)
        tried = _per_strategy(conn, Commitment, *made, Commitment.progress.in_(TRIED))
        helped = _per_strategy(conn, Commitment, *made, Commitment.progress.in_(TRIED),
                               Commitment.helped >= HELPED_FROM)
        chose = conn.execute(select(func.count(distinct(Commitment.conversation_id))).where(*made)).scalar_one()
        due = (Checkin.due_at >= start, Checkin.due_at < end)
        states = {state: (n, people) for state, n, people in conn.execute(
            select(Checkin.state, func.count(), func.count(distinct(Checkin.conversation_id)))
            .where(*due).group_by(Checkin.state))}
        checkin_conversations = conn.execute(
            select(func.count(distinct(Checkin.conversation_id))).where(*due)).scalar_one()
        completion_conversations = conn.execute(
            select(func.count(distinct(Checkin.conversation_id))).where(*due, Checkin.state.in_((SENT, ANSWERED)))
        ).scalar_one()

    first: dict[tuple[str, str], datetime] = {}
    named: dict[tuple[str, str], set[str]] = defaultdict(set)
    for conversation, barrier, at, levels in confirmed:
        if barrier not in BARRIER_IDS:
            continue
        key, at = (conversation, barrier), _utc(at)
        if key not in first or at < first[key]:
            first[key] = at
        named[key].update(level for level in (levels if isinstance(levels, list) else ()) if level in LEVEL_IDS)
    totals: dict[str, int] = defaultdict(int)
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_level: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_conversation: dict[str, set[str]] = defaultdict(set)
    for (conversation, barrier), at in first.items():
        totals[barrier] += 1
        by_month[barrier][f"{at:%Y-%m}"] += 1
        for level in named[conversation, barrier] or {NOT_SAID}:
            by_level[barrier][level] += 1
        per_conversation[conversation].add(barrier)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for barriers in per_conversation.values():
        for pair in combinations(sorted(barriers, key=BARRIER_IDS.index), 2):
            pairs[pair] += 1
    strategies = {s: {"suggested": suggested.get(s, 0), "chosen": chosen.get(s, 0), "tried": tried.get(s, 0),
                      "helped": helped.get(s, 0)}
                  for s in sorted(set(suggested) | set(chosen))}
    return Counts(period, len(per_conversation), chose, dict(totals), _plain(by_month), _plain(by_level),
                  dict(pairs), strategies, states, checkin_conversations, completion_conversations)


def _per_strategy(conn, table, *where) -> dict[str, int]:
    return dict(conn.execute(select(table.strategy_id, func.count(distinct(table.conversation_id)))
                             .where(*where).group_by(table.strategy_id)).all())


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone: they were written in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _plain(nested: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    return {key: dict(inner) for key, inner in nested.items()}


# --- what may be shown -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure as it may be shown: ``value`` is None when hidden (``hidden`` says why) or,
    with no reason, when it does not apply (a rate of nothing)."""

    value: int | float | None
    hidden: str | None = None  # SMALL or SECONDARY
    rate: bool = False

    @property
    def text(self) -> str:
        if self.hidden:
            return self.hidden
        if self.value is None:
            return "–"
        return f"{self.value:.0%}" if self.rate else str(self.value)

    @property
    def csv(self) -> str:
        if self.value is None:
            return ""
        return f"{self.value:.3f}" if self.rate else str(self.value)

    @property
    def sort_key(self) -> float:
        """For ordering rows by what is shown, never by a hidden true value: hidden ones
        between 0 and 5."""
        return 0.5 if self.hidden else float(self.value or 0)


NOT_APPLICABLE = Cell(None)


@dataclass(frozen=True)
class Row:
    keys: tuple[str, ...]  # the CSV's key columns: ids, then names
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    about: str  # what a cell counts, in a sentence
    key_columns: tuple[str, ...]
    dimension: str  # what the columns are, as the CSV's column name
    columns: tuple[str, ...]  # their ids (CSV)
    headers: tuple[str, ...]  # their names (page)
    rows: tuple[Row, ...]
    row_header: str = "Barrier"

    def cell(self, key: str, column: str) -> Cell:
        """The cell of the row whose first key is ``key``, in ``column``."""
        row = next(r for r in self.rows if r.keys[0] == key)
        return row.cells[self.columns.index(column)]


@dataclass(frozen=True)
class Headline:
    label: str
    cell: Cell


@dataclass(frozen=True)
class Figures:
    """Everything the page, the plots and the CSVs show: suppressed already."""

    period: Period
    synthetic: bool
    headlines: tuple[Headline, ...]
    tables: Mapping[str, Table]
    barrier_names: Mapping[str, str]


@dataclass(frozen=True)
class Labels:
    """Barrier names and strategy titles from the knowledge store (ids where it has none)."""

    barriers: Mapping[str, str]
    strategies: Mapping[str, str]

    @classmethod
    def of(cls, store: KnowledgeStore, strategy_ids: Iterable[str]) -> Labels:
        try:
            barriers = {b.id: b.name for b in store.barriers()}
        except SQLAlchemyError:  # no content loaded: the ids still say what they are
            barriers = {}
        titles = {}
        for strategy_id in strategy_ids:
            try:
                titles[strategy_id] = store.get_strategy(strategy_id).title
            except (StoreError, SQLAlchemyError):  # retired from the content, or none loaded
                titles[strategy_id] = strategy_id
        return cls(barriers, titles)


def compute(engine: Engine, period: Period, store: KnowledgeStore | None = None, *,
            synthetic: bool = False) -> Figures:
    """The figures of ``period`` from the records in ``engine`` (names from ``store``, by default
    the content in the same database), suppressed and ready to show."""
    counts = count(engine, period)
    return suppress(counts, Labels.of(store or KnowledgeStore(engine), counts.strategies), synthetic=synthetic)


def shown(n: int, behind: int | None = None) -> Cell:
    """A count as it may be shown: hidden when 1 to 4 conversations are ``behind`` it."""
    people = n if behind is None else behind
    return Cell(None, SMALL) if 0 < people < SMALL_CELL else Cell(n)


def protect_row(values: Sequence[int], total: int, *, behind: Sequence[int] | None = None,
                total_behind: int | None = None, hide_total: bool = False, bounded: bool = True
                ) -> tuple[list[Cell], Cell]:
    """A row of counts and its total, with the small cells hidden and, where the total would
    give a hidden cell away, the smallest shown non-zero cell hidden too (else the total).

    ``behind``: conversations behind each value, when values count something else (check-ins);
    then a hidden cell may hold more than 4 (``bounded=False``).
    """
    cells = [shown(v, b) for v, b in zip(values, behind or values, strict=True)]
    total_cell = shown(total, total_behind)
    if hide_total and not total_cell.hidden:
        total_cell = Cell(None, SECONDARY)
    if total_cell.hidden:
        return cells, total_cell
    while _pinned(values, cells, total, bounded):
        candidates = [i for i, c in enumerate(cells) if not c.hidden and values[i] > 0]
        if not candidates:
            return cells, Cell(None, SECONDARY)
        smallest = min(candidates, key=lambda i: (values[i], i))
        cells[smallest] = Cell(None, SECONDARY)
    return cells, total_cell


def _pinned(values: Sequence[int], cells: Sequence[Cell], total: int, bounded: bool) -> bool:
    """Whether a reader who sees the shown cells and the total, and knows a ``<5`` is 1 to 4
    (or at least 1, not ``bounded``) and a ``*`` at least 5, can tell a small cell's value (or
    sees figures that cannot all be true, as in a row whose cells overlap: then too)."""
    rest = total - sum(v for v, c in zip(values, cells, strict=True) if not c.hidden)
    hidden = [(c.hidden, (1, SMALL_CELL - 1 if bounded else None) if c.hidden == SMALL else (SMALL_CELL, None))
              for c in cells if c.hidden]
    for i, (why, (low, high)) in enumerate(hidden):
        if why != SMALL:
            continue  # a secondary cell given away harms nobody; the small ones beside it are checked
        others = [bounds for j, (_, bounds) in enumerate(hidden) if j != i]
        others_low = sum(lo for lo, _ in others)
        others_high = None if any(hi is None for _, hi in others) else sum(hi or 0 for _, hi in others)
        can_be_most = rest - others_low if high is None else min(high, rest - others_low)
        can_be_least = low if others_high is None else max(low, rest - others_high)
        if can_be_least >= can_be_most:
            return True
    return False


def rate(numerator: Cell, denominator: Cell, value: float, people: int, parts: Sequence[Cell] = ()) -> Cell:
    """A rate, shown only when ``people`` (the conversations behind its denominator) are at
    least 5 and every count it is made from (numerator, denominator, other ``parts``) is shown."""
    if people == 0:
        return NOT_APPLICABLE
    if people < SMALL_CELL or denominator.hidden == SMALL:
        return Cell(None, SMALL, rate=True)
    if any(c.hidden for c in (numerator, denominator, *parts)):
        return Cell(None, SECONDARY, rate=True)
    return Cell(value, rate=True)


def suppress(counts: Counts, labels: Labels, *, synthetic: bool = False) -> Figures:
    """The tables of ``counts`` as they may be shown (the module's docstring has the rules)."""
    names = {b: labels.barriers.get(b) or b.replace("_", " ").capitalize() for b in BARRIER_IDS}
    months = counts.period.months

    month_rows, level_rows = [], []
    for barrier in BARRIER_IDS:
        total = counts.totals.get(barrier, 0)
        by_month = [counts.by_month.get(barrier, {}).get(m, 0) for m in months]
        by_level = [counts.by_level.get(barrier, {}).get(level, 0) for level in LEVEL_COLUMNS]
        month_cells, month_total = protect_row(by_month, total)
        level_cells, level_total = protect_row(by_level, total)
        if SECONDARY in (month_total.hidden, level_total.hidden):  # the same total, hidden in both
            month_cells, month_total = protect_row(by_month, total, hide_total=True)
            level_cells, level_total = protect_row(by_level, total, hide_total=True)
        keys = (barrier, names[barrier])
        month_rows.append(Row(keys, names[barrier], (*month_cells, month_total)))
        level_rows.append(Row(keys, names[barrier], (*level_cells, level_total)))

    pair_rows = [Row((a, names[a], b, names[b]), f"{names[a]} + {names[b]}", (shown(counts.pairs.get((a, b), 0)),))
                 for a, b in combinations(BARRIER_IDS, 2)]

    strategy_rows = []
    for strategy, n in counts.strategies.items():
        cells = {m: shown(n[m]) for m in STRATEGY_MEASURES}
        helped_rate = rate(cells["helped"], cells["tried"], n["helped"] / n["tried"] if n["tried"] else 0.0,
                           n["tried"])
        title = labels.strategies.get(strategy, strategy)
        strategy_rows.append(Row((strategy, title), title, (*cells.values(), helped_rate)))
    strategy_rows.sort(key=lambda r: (-r.cells[0].sort_key, -r.cells[1].sort_key, r.label))

    states = [counts.checkins.get(s, (0, 0)) for s in CHECKIN_STATES]
    state_cells, due = protect_row([n for n, _ in states], sum(n for n, _ in states),
                                   behind=[people for _, people in states],
                                   total_behind=counts.checkin_conversations, bounded=False)
    by_state = dict(zip(CHECKIN_STATES, state_cells, strict=True))
    sent, answered = counts.checkins.get(SENT, (0, 0))[0], counts.checkins.get(ANSWERED, (0, 0))[0]
    denominator = shown(sent + answered, counts.completion_conversations)
    completion = rate(by_state[ANSWERED], denominator, answered / (sent + answered) if sent + answered else 0.0,
                      counts.completion_conversations, parts=(by_state[SENT],))
    checkin_row = Row(("checkins_due", "Check-ins due in the period"), "Check-ins due in the period",
                      (*state_cells, due, completion))

    barriers_shown = [r for r in month_rows if r.cells[-1].value or r.cells[-1].hidden]
    conversations = shown(counts.conversations)
    if len(barriers_shown) == 1 and barriers_shown[0].cells[-1].hidden:
        conversations = Cell(None, barriers_shown[0].cells[-1].hidden)  # it would be that barrier's total
    headlines = (
        Headline("conversations with a confirmed barrier", conversations),
        Headline("conversations that chose a strategy to try", shown(counts.chose)),
        Headline("check-ins answered, of those sent", completion),
    )
    tables = {
        "barriers_by_month": Table(
            "barriers_by_month", "Barriers by month",
            "conversations in which the barrier was confirmed, by the month it was first confirmed",
            ("barrier_id", "barrier"), "month", (*months, "total"),
            (*(month_label(m) for m in months), "Total"), tuple(month_rows)),
        "barriers_by_level": Table(
            "barriers_by_level", "Barriers by organisational level",
            "conversations in which the barrier was confirmed, by the levels the person named "
            "(one conversation can name several)",
            ("barrier_id", "barrier"), "level", (*LEVEL_COLUMNS, "total"),
            (*(LEVEL_NAMES[lvl] for lvl in LEVEL_COLUMNS), "Total"), tuple(level_rows)),
        "barrier_pairs": Table(
            "barrier_pairs", "Barriers that come together",
            "conversations in which both barriers were confirmed",
            ("barrier_id_a", "barrier_a", "barrier_id_b", "barrier_b"), "measure", ("conversations",),
            ("Conversations",), tuple(pair_rows), row_header="Barriers"),
        "strategies": Table(
            "strategies", "Strategies suggested, chosen and reported as helping",
            "conversations in which the strategy was suggested, chosen to try, reported tried (done or "
            "partly) and reported as helping (4 or 5 out of 5); the rate is helped of tried",
            ("strategy_id", "strategy"), "measure", (*STRATEGY_MEASURES, "helped_rate"),
            ("Suggested to", "Chosen in", "Tried", "Said it helped", "Helped, of tried"), tuple(strategy_rows),
            row_header="Strategy"),
        "checkins": Table(
            "checkins", "Check-ins",
            "check-ins due in the period, by what became of them; completion is answered of sent and answered",
            ("row_id", "row"), "state", (*CHECKIN_STATES, "due", "completion_rate"),
            ("Still to come", "Being sent", "Sent, not answered", "Answered", "Cancelled", "Failed",
             "Due in the period", "Completion"), (checkin_row,), row_header=""),
    }
    return Figures(counts.period, synthetic, headlines, tables, names)
