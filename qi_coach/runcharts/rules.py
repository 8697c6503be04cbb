"""The run-chart rules: shift, trend, too few or too many runs, and an astronomical point.

The first three are the probability-based rules of Perla RJ, Provost LP, Murray SK. The run chart: a
simple analytical tool for learning from variation in healthcare processes. BMJ Qual Saf
2011;20:46-51 (also Provost LP, Murray SK. The Health Care Data Guide, 2011). The fourth is a
judgement in that paper ("obviously, even blatantly, different"); ``_astronomical`` is our
operationalisation of it, not a published rule. docs/run-chart-rules.md explains every choice.

Pure Python on purpose: the action server reads charts without numpy.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: The usual minimum for the rules to mean much (the runs table starts at 10). ``read`` still reads
#: a shorter series; the caller says what it cannot tell yet.
MIN_POINTS = 10
SHIFT_POINTS = 6
TREND_POINTS = 5
#: Wheeler's robust individuals-chart limits: median moving range / 0.954 estimates sigma, so three
#: sigma is 3 / 0.954 = 3.14 median moving ranges.
ASTRONOMICAL_SPREAD = 3.14

#: Perla 2011, Table 1 (adapted there from Swed FS, Eisenhart C. Tables for testing randomness of
#: grouping in a sequence of alternatives. Ann Math Stat 1943;14:66-87): useful observations -> (lower, upper) limits; fewer
#: runs than the lower limit are too few, more than the upper are too many. Rows 10-26 only: the
#: printed table could not be read while this was written; these rows agree across independent
#: public reproductions of it (rows 10-15 in the IHI Open School QI 104 course table among them),
#: which disagree from 27 on, so the rule is not applied beyond 26 rather than guessed.
RUNS_TABLE: dict[int, tuple[int, int]] = {
    10: (3, 9), 11: (3, 10), 12: (3, 11), 13: (4, 11), 14: (4, 12), 15: (5, 12), 16: (5, 13),
    17: (5, 13), 18: (6, 14), 19: (6, 15), 20: (6, 16), 21: (7, 16), 22: (7, 17), 23: (7, 17),
    24: (8, 18), 25: (8, 18), 26: (9, 19),
}
RUNS_TABLE_RANGE = (min(RUNS_TABLE), max(RUNS_TABLE))

#: Float tolerance for "on the median": the median of an even count is an average, and
#: (87.1 + 87.3) / 2 is 87.19999999999999, which a point of 87.2 is on, not above.
_ON_MEDIAN_REL_TOL = 1e-9

KINDS = ("shift", "trend", "too_few_runs", "too_many_runs", "astronomical")


@dataclass(frozen=True)
class Signal:
    """One non-random pattern: which rule, where (0-based, inclusive), and which way."""

    kind: str  # one of KINDS
    start: int
    end: int  # for the runs rules: 0 and n - 1
    direction: str | None  # above/below (shift), up/down (trend), high/low (astronomical), None (runs)


@dataclass(frozen=True)
class RunChartReading:
    """What the rules find in a series, and the numbers they were judged by."""

    values: tuple[float, ...]
    median: float
    baseline: int  # how many leading points the median was computed from
    useful: int  # points not on the median
    runs: int
    runs_limits: tuple[int, int] | None  # (fewest, most) expected runs; None outside RUNS_TABLE
    signals: tuple[Signal, ...]  # in order of start index

    @property
    def enough(self) -> bool:
        """At least MIN_POINTS points: fewer can still show a shift or trend, but little else."""
        return len(self.values) >= MIN_POINTS

    def of_kind(self, kind: str) -> tuple[Signal, ...]:
        return tuple(signal for signal in self.signals if signal.kind == kind)


def median(values: Sequence[float]) -> float:
    """The centre line: the median, which one extreme point cannot drag (Perla 2011)."""
    if not values:
        raise ValueError("the median of no values is undefined")
    return float(statistics.median(values))


def read(values: Sequence[float], baseline: int | None = None) -> RunChartReading:
    """Apply the rules to ``values`` in time order.

    ``baseline=k`` freezes the median on the first k points and judges every point against it, the
    usual practice once a change has been made; by default the median is of all the points.
    """
    series = _checked(values)
    n = len(series)
    if baseline is None:
        basis = n
    elif isinstance(baseline, bool) or not isinstance(baseline, int) or not 2 <= baseline <= n:
        raise ValueError(f"baseline must be a whole number of points from 2 to {n}, got {baseline!r}")
    else:
        basis = baseline
    centre = median(series[:basis])
    sides = [_side(value, centre) for value in series]
    useful = sum(1 for side in sides if side)
    runs = _runs(sides)
    limits = RUNS_TABLE.get(useful)

    signals = [*_shifts(sides), *_trends(series), *_astronomical(series, basis, centre)]
    if limits is not None:
        low, high = limits
        if runs < low:
            signals.append(Signal("too_few_runs", 0, n - 1, None))
        elif runs > high:
            signals.append(Signal("too_many_runs", 0, n - 1, None))
    signals.sort(key=lambda s: (s.start, s.end, KINDS.index(s.kind)))
    return RunChartReading(series, centre, basis, useful, runs, limits, tuple(signals))


def _checked(values: Sequence[float]) -> tuple[float, ...]:
    if len(values) < 2:
        raise ValueError(f"a run chart needs at least 2 values, got {len(values)}")
    series: list[float] = []
    for position, value in enumerate(values, start=1):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"value {position} is not a number: {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"value {position} is not a finite number: {value!r}")
        series.append(number)
    return tuple(series)


def _side(value: float, centre: float) -> int:
    """+1 above, -1 below, 0 on the median."""
    if math.isclose(value, centre, rel_tol=_ON_MEDIAN_REL_TOL, abs_tol=1e-12):
        return 0
    return 1 if value > centre else -1


def _runs(sides: list[int]) -> int:
    """Runs of points on one side, skipping points on the median (they neither add nor break)."""
    off = [side for side in sides if side]
    return sum(1 for i, side in enumerate(off) if i == 0 or side != off[i - 1])


def _shifts(sides: list[int]) -> list[Signal]:
    """Each maximal run of SHIFT_POINTS or more useful points on one side, once, spanning any
    points on the median inside it."""
    found = []
    positions = [i for i, side in enumerate(sides) if side]
    start = 0
    for k in range(1, len(positions) + 1):
        if k == len(positions) or sides[positions[k]] != sides[positions[start]]:
            if k - start >= SHIFT_POINTS:
                way = "above" if sides[positions[start]] > 0 else "below"
                found.append(Signal("shift", positions[start], positions[k - 1], way))
            start = k
    return found


def _trends(series: tuple[float, ...]) -> list[Signal]:
    """Each maximal run of TREND_POINTS or more points going one way; a repeated value counts once.

    The span runs from the last repeat of the value the climb starts from to the first point of the
    value it ends on, so repeats inside are included and flat ends are not.
    """
    blocks: list[tuple[int, int, float]] = []  # (first index, last index, value) of equal neighbours
    for i, value in enumerate(series):
        if blocks and value == blocks[-1][2]:
            blocks[-1] = (blocks[-1][0], i, value)
        else:
            blocks.append((i, i, value))
    steps = [1 if blocks[j + 1][2] > blocks[j][2] else -1 for j in range(len(blocks) - 1)]
    found = []
    start = 0
    for k in range(1, len(steps) + 1):
        if k == len(steps) or steps[k] != steps[start]:
            if k - start + 1 >= TREND_POINTS:
                way = "up" if steps[start] > 0 else "down"
                found.append(Signal("trend", blocks[start][1], blocks[k][0], way))
            start = k
    return found


def _astronomical(series: tuple[float, ...], basis: int, centre: float) -> list[Signal]:
    """Our operationalisation of Perla's judgement rule: a point beyond centre +/- 3.14 x the median
    moving range (Wheeler's robust XmR limits), centred on the run chart's median.

    Judged only with MIN_POINTS or more points to estimate the spread from (the baseline when one is
    given), and not when the median moving range is 0: with no ordinary variation to compare with,
    nothing can be called blatantly different.
    """
    if basis < MIN_POINTS:
        return []
    moving_ranges = [abs(series[i] - series[i - 1]) for i in range(1, basis)]
    spread = statistics.median(moving_ranges)
    if spread == 0:
        return []
    high, low = centre + ASTRONOMICAL_SPREAD * spread, centre - ASTRONOMICAL_SPREAD * spread
    return [Signal("astronomical", i, i, "high" if value > high else "low")
            for i, value in enumerate(series) if value > high or value < low]
