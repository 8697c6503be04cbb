"""The insights' figures against counts made independently with plain SQL, cell by cell, on
SQLite and PostgreSQL, for a period that cuts the data; what forget() leaves; and the period."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, insert, select

from knowledge.schema import BARRIER_IDS, LEVEL_IDS
from qi_coach.insights.figures import SECONDARY, SMALL, Period, PeriodError, compute, count
from qi_coach.records import Checkin, Commitment, ConfirmedBarrier, UserRecords
from tests.insights.conftest import CUT, PREFIX, TODAY, independent_counts, utc


def test_every_cell_of_every_table_matches_an_independent_count(records):
    expected = independent_counts(records, CUT)
    shown = compute(records, CUT)
    assert shown.period == CUT and shown.tables["barriers_by_month"].columns[0] == "2026-02"
    assert shown.tables["barriers_by_month"].columns[-2] == "2026-09"
    checked = hidden = 0
    for name, table in shown.tables.items():
        truth = expected.cells.get(name, {})
        if name == "strategies":  # every strategy suggested or chosen in the period, and no other
            assert {r.keys[0] for r in table.rows} == {s for s, _ in truth}
        for row in table.rows:
            key = ",".join(sorted((row.keys[0], row.keys[2]))) if name == "barrier_pairs" else row.keys[0]
            for column, cell in zip(table.columns, row.cells, strict=True):
                if column.endswith("rate"):
                    continue  # below
                value = truth.get((key, column), 0)
                people = expected.behind.get((key, column), value)
                if cell.hidden == SMALL:
                    assert 1 <= people <= 4, (name, key, column, value)
                    hidden += 1
                elif cell.hidden == SECONDARY:
                    assert value >= 1, (name, key, column)  # only ever a count there is something in
                else:
                    assert cell.value == value, (name, key, column)
                    assert not 1 <= people <= 4
                checked += 1
    assert checked > 13 * 9 + 78 and hidden > 10  # the data reaches every table, and some of it is small

    raw = count(records, CUT)
    assert raw.conversations == expected.conversations and raw.chose == expected.chose
    assert raw.totals == {b: n for (b, c), n in expected.cells["barriers_by_month"].items() if c == "total"}
    assert sum(raw.totals.values()) == sum(sum(m.values()) for m in raw.by_month.values())  # first month only
    for strategy, measures in raw.strategies.items():
        for measure, n in measures.items():
            assert n == expected.cells["strategies"].get((strategy, measure), 0)
        rate = shown.tables["strategies"].cell(strategy, "helped_rate")
        if rate.value is not None:
            assert rate.value == pytest.approx(measures["helped"] / measures["tried"]) and measures["tried"] >= 5
    completion = shown.tables["checkins"].cell("checkins_due", "completion_rate")
    sent, answered = (expected.cells["checkins"].get(("checkins_due", s), 0) for s in ("sent", "answered"))
    assert completion.value == pytest.approx(answered / (sent + answered))


def test_the_edges_of_the_period_are_whole_days(records):
    """The first moment of the first day is in, the first moment after the last day is out; the
    first confirmation in the period gives the month; an unknown level is no level."""
    raw = count(records, CUT)
    edge = [f"{PREFIX}edge-{n}" for n in (1, 2, 3, 4)]
    UserRecords(records).forget(edge[0])
    UserRecords(records).forget(edge[2])
    after = count(records, CUT)
    assert raw.totals["team_working"] - after.totals.get("team_working", 0) == 2  # edge-1 and edge-3, not edge-2
    assert raw.by_month["team_working"]["2026-02"] - after.by_month["team_working"].get("2026-02", 0) == 1
    assert raw.by_month["team_working"]["2026-09"] - after.by_month["team_working"].get("2026-09", 0) == 1
    assert raw.by_level["team_working"]["not_said"] - after.by_level["team_working"].get("not_said", 0) == 1
    assert raw.by_level["team_working"]["senior_leader"] - after.by_level["team_working"].get("senior_leader", 0) == 1
    assert raw.by_level["change_fatigue"]["front_line"] - after.by_level["change_fatigue"].get("front_line", 0) == 1
    assert raw.pairs[("change_fatigue", "team_working")] - after.pairs.get(("change_fatigue", "team_working"), 0) == 1


def test_a_forgotten_conversation_no_longer_counts(records):
    with records.connect() as conn:  # a conversation with barriers, a commitment and a check-in in the period
        start, end = CUT.bounds
        conversation = conn.execute(
            select(Commitment.conversation_id).join(Checkin, Checkin.id == Commitment.checkin_id)
            .where(Commitment.created_at >= start, Checkin.due_at < end, Commitment.progress.in_(("done", "partly")))
            .order_by(Commitment.conversation_id).limit(1)).scalar_one()
        barriers = set(conn.execute(select(ConfirmedBarrier.barrier_id).where(
            ConfirmedBarrier.conversation_id == conversation)).scalars())
        strategies = set(conn.execute(select(Commitment.strategy_id).where(
            Commitment.conversation_id == conversation)).scalars())
        state = conn.execute(select(Checkin.state).where(Checkin.conversation_id == conversation)).scalar_one()
    before = count(records, CUT)
    assert UserRecords(records).forget(conversation) > 0
    after = count(records, CUT)
    assert after.conversations == before.conversations - 1 and after.chose == before.chose - 1
    for barrier in BARRIER_IDS:
        assert after.totals.get(barrier, 0) == before.totals.get(barrier, 0) - (barrier in barriers)
    for strategy in strategies:
        assert after.strategies.get(strategy, {}).get("chosen", 0) == before.strategies[strategy]["chosen"] - 1
        assert after.strategies.get(strategy, {}).get("tried", 0) == before.strategies[strategy]["tried"] - 1
    assert after.checkins[state][0] == before.checkins[state][0] - 1
    assert after == count(records, CUT) and independent_counts(records, CUT).conversations == after.conversations
    with records.connect() as conn:
        assert conn.execute(select(func.count()).where(ConfirmedBarrier.conversation_id == conversation)
                            .select_from(ConfirmedBarrier)).scalar_one() == 0


def test_a_barrier_confirmed_again_in_a_conversation_counts_once(records):
    """Once in all, in the month it was first confirmed, at every level named in any confirmation."""
    before = count(records, CUT)
    with records.begin() as conn:
        conn.execute(insert(ConfirmedBarrier), [
            {"conversation_id": "again-1", "barrier_id": "process_burden", "confirmed_at": at, "levels": levels,
             "corrected": False} for at, levels in ((utc(2026, 3, 3, 9), ["front_line"]), (utc(2026, 3, 4, 9), None),
                                                     (utc(2026, 4, 2, 9), ["senior_leader"]))])
    after = count(records, CUT)
    assert after.conversations == before.conversations + 1
    assert after.totals["process_burden"] == before.totals.get("process_burden", 0) + 1

    def change(nested, key):
        return after_or_0(after, nested, key) - after_or_0(before, nested, key)

    assert [change("by_month", m) for m in ("2026-03", "2026-04")] == [1, 0]
    assert [change("by_level", level) for level in (*LEVEL_IDS, "not_said")] == [1, 0, 1, 0]


def after_or_0(counts, nested, key):
    return getattr(counts, nested).get("process_burden", {}).get(key, 0)


def test_the_period_is_checked_and_defaults_to_the_twelve_months_up_to_today():
    assert Period.parse(None, None, TODAY) == Period(date(2025, 12, 1), TODAY)
    assert Period.parse(None, "2026-03-31", TODAY) == Period(date(2025, 4, 1), date(2026, 3, 31))
    assert Period.parse("2026-01-15", None, TODAY) == Period(date(2026, 1, 15), TODAY)
    assert Period(date(2025, 12, 1), TODAY).months[0] == "2025-12" and len(Period.last_year(TODAY).months) == 12
    for start, end, says in (("2026-13-01", None, "'from' must be a date"), (None, "yesterday", "'to' must be"),
                             ("2026-05-01", "2026-04-30", "starts (2026-05-01) after it ends"),
                             ("2020-01-01", "2026-01-01", "at most 36 months")):
        with pytest.raises(PeriodError, match=re.escape(says)):
            Period.parse(start, end, TODAY)
    assert issubclass(PeriodError, ValueError)  # the command line turns it into a message and exit 2
