"""Small-cell suppression: 1 to 4 hidden, 0 shown, no hidden cell worked out from a total (tried
against a reader who tries every possibility), rates only over 5 or more, and one total hidden
alike wherever it appears."""

from __future__ import annotations

import random

import pytest

from qi_coach.insights.figures import SECONDARY, SMALL, SMALL_CELL, Cell, protect_row, rate, shown, suppress
from tests.insights.conftest import LABELS, counts


def texts(cells) -> list[str]:
    return [c.text for c in cells]


def test_small_cells_are_hidden_and_zero_is_shown():
    assert SMALL_CELL == 5
    assert texts(shown(n) for n in range(7)) == ["0", "<5", "<5", "<5", "<5", "5", "6"]
    assert all(shown(n).value is None for n in range(1, 5))  # nothing to leak: the value is not kept
    assert shown(9, behind=2).hidden == SMALL and shown(9, behind=5).value == 9  # check-ins: the people behind


@pytest.mark.parametrize(("values", "total", "cells", "shown_total"), [
    ([3, 0, 9, 7], 19, ["<5", "0", "9", "*"], "19"),  # the next smallest shown cell goes too
    ([1, 1, 10], 12, ["<5", "<5", "*"], "12"),  # two adding up to 2 are both 1: one more goes
    ([4, 4, 10, 12], 30, ["<5", "<5", "*", "12"], "30"),  # two adding up to 8 are both 4
    ([2, 3, 10], 15, ["<5", "<5", "10"], "15"),  # 2 + 3 = 5 could be 1 + 4: nothing more to hide
    ([3, 0, 0], 3, ["<5", "0", "0"], "<5"),  # the total is small itself
    ([1, 5], 6, ["<5", "*"], "*"),  # 1 and at least 5 make 6: the total goes
    ([5, 0, 8], 13, ["5", "0", "8"], "13"),  # nothing small, nothing hidden
    ([0, 0, 0], 0, ["0", "0", "0"], "0"),
])
def test_a_total_never_gives_a_small_cell_away(values, total, cells, shown_total):
    row, total_cell = protect_row(values, total)
    assert texts(row) == cells and total_cell.text == shown_total


def test_check_in_cells_are_hidden_by_the_people_behind_them():
    # 6 check-ins from 2 people: hidden; the total would give all 6 away, so another cell goes
    row, total = protect_row([6, 20, 9], 35, behind=[2, 18, 9], total_behind=29, bounded=False)
    assert texts(row) == ["<5", "20", "*"] and total.text == "35"


def readings(cells: list[Cell], total: int, bounded: bool = True) -> dict[int, list[int]]:
    """For each small hidden cell, every value a reader could believe it has: one that leaves the
    other hidden cells a sum they can make (a <5 is 1 to 4, or at least 1 not ``bounded``; a *
    at least 5), given the shown cells and the total."""
    rest = total - sum(c.value for c in cells if not c.hidden)
    ranges = {i: (1, SMALL_CELL - 1 if bounded else rest) if c.hidden == SMALL else (SMALL_CELL, rest)
              for i, c in enumerate(cells) if c.hidden}
    out = {}
    for i, (low, high) in ranges.items():
        if cells[i].hidden != SMALL:
            continue
        others = [r for j, r in ranges.items() if j != i]
        out[i] = [x for x in range(low, high + 1)
                  if sum(lo for lo, _ in others) <= rest - x <= sum(hi for _, hi in others)]
    return out


@pytest.mark.parametrize("bounded", [True, False])
def test_no_small_cell_can_be_worked_out_by_trying_every_possibility(bounded):
    rng = random.Random(5)
    tried = 0
    for _ in range(5000):
        values = [rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12]) for _ in range(rng.randint(2, 6))]
        behind = values if bounded else [min(v, rng.choice([v, 1, 2, 5])) for v in values]
        cells, total = protect_row(values, sum(values), behind=behind, total_behind=sum(behind), bounded=bounded)
        for cell, value, people in zip(cells, values, behind, strict=True):
            assert (cell.hidden == SMALL) == (1 <= people <= 4) or cell.hidden == SECONDARY
            assert cell.hidden or cell.value == value
        if total.hidden:
            assert total.hidden == SMALL and 1 <= sum(behind) <= 4 or total.hidden == SECONDARY
            continue
        assert total.value == sum(values)
        for i, believable in readings(cells, sum(values), bounded).items():
            tried += 1
            assert values[i] in believable  # the truth is among them...
            assert len(believable) > 1, (values, texts(cells))  # ...and not alone
    assert tried > 1000


def test_rates_need_five_people_and_every_part_shown():
    assert rate(shown(3), shown(6), 0.5, people=6).hidden == SECONDARY  # 3 of 6 would give the 3 away
    assert rate(shown(5), shown(4), 1.25, people=4).hidden == SMALL
    assert rate(shown(0), shown(6), 0.0, people=6).text == "0%"
    assert rate(shown(6), shown(8), 0.75, people=8).text == "75%"
    assert rate(shown(0), shown(0), 0.0, people=0).text == "–"  # nothing to rate
    assert rate(shown(6), shown(9), 6 / 9, people=9, parts=(shown(3),)).hidden == SECONDARY


def test_the_tables_shown_hide_small_cells_and_what_would_give_them_away():
    figures = suppress(counts(), LABELS)
    months = figures.tables["barriers_by_month"]
    assert texts(months.rows[0].cells) == ["12", "*", "<5", "23"] and months.rows[0].keys[0] == "time_pressure"
    # resources: 1 + 5 make 6, which gives the 1 away however the 5 is hidden: the total goes instead
    assert texts(months.rows[1].cells) == ["<5", "0", "5", "*"]
    assert texts(figures.tables["barriers_by_level"].rows[1].cells) == ["0", "0", "0", "6", "*"]
    staff = next(r for r in months.rows if r.keys[0] == "staff_turnover")
    assert texts(staff.cells) == ["0", "<5", "0", "<5"]
    levels = figures.tables["barriers_by_level"]
    assert texts(levels.rows[0].cells) == ["10", "6", "0", "9", "23"]
    pairs = figures.tables["barrier_pairs"]
    assert pairs.cell("time_pressure", "conversations").text == "<5"
    assert next(r for r in pairs.rows if r.keys[2] == "staff_turnover").cells[0].text == "0"
    strategies = figures.tables["strategies"]
    assert texts(strategies.rows[0].cells) == ["30", "9", "7", "5", "71%"]
    assert texts(strategies.rows[1].cells) == ["12", "6", "6", "<5", "*"]  # 2 of 6 is not shown as 33%
    checkins = figures.tables["checkins"]
    assert dict(zip(checkins.columns, texts(checkins.rows[0].cells), strict=True)) == {
        "scheduled": "0", "sending": "0", "sent": "<5", "answered": "9", "cancelled": "<5", "failed": "0",
        "due": "15", "completion_rate": "*"}  # 9 of 13 would give the sent away
    assert [h.cell.text for h in figures.headlines] == ["40", "12", "*"]


def test_a_total_hidden_in_one_table_is_hidden_in_the_other():
    """resources by month (3 and 3 of 6) gives nothing away; by level (1 and 5 of 6) it would,
    and with no other cell to hide there the total goes: in both tables."""
    figures = suppress(counts(by_level={"resources": {"not_said": 1, "front_line": 5}},
                              by_month={"resources": {"2026-01": 3, "2026-02": 3}}), LABELS)
    assert texts(figures.tables["barriers_by_month"].rows[1].cells) == ["<5", "<5", "0", "*"]
    assert texts(figures.tables["barriers_by_level"].rows[1].cells) == ["5", "0", "0", "<5", "*"]
    alone, month_total = protect_row([3, 3, 0], 6)
    assert month_total.text == "6"  # on its own the month row would have kept it


def test_the_only_barrier_seen_hides_the_headline_with_its_total():
    figures = suppress(counts(conversations=6, totals={"resources": 6}, by_month={"resources": {"2026-01": 1,
                              "2026-03": 5}}, by_level={"resources": {"not_said": 1, "front_line": 5}}), LABELS)
    assert figures.headlines[0].cell.hidden


def test_rates_over_small_denominators_are_hidden():
    figures = suppress(counts(strategies={"huddles": {"suggested": 9, "chosen": 4, "tried": 4, "helped": 4}},
                              checkins={"sent": (1, 1), "answered": (3, 3)}, completion_conversations=4), LABELS)
    assert figures.tables["strategies"].cell("huddles", "helped_rate").text == "<5"
    assert figures.tables["checkins"].cell("checkins_due", "completion_rate").text == "<5"
