"""What the run-chart rules found, in plain words for the team, and what it means for the project.

One owner for the words: the chat reply (``explain``) and the picture's text alternative
(``alt_text``) both come from here, so a screen-reader user and a sighted one are told the same.
The rules themselves are ``rules.py``; this module only says what they found.
"""

from __future__ import annotations

from qi_coach.runcharts import rules
from qi_coach.runcharts.measure import Measure
from qi_coach.runcharts.rules import MIN_POINTS, RunChartReading, Signal

RULES_SOURCE = "[Perla, Provost and Murray 2011](sources#perla_2011)"
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                10: "ten", 11: "eleven", 12: "twelve"}


def explain(measure: Measure, reading: RunChartReading) -> str:
    """The reply under the chart: what it shows, each signal and what it means, and what next."""
    n = len(reading.values)
    name = f"**{measure.name}**" if measure.name else "your measure"
    median = _value(reading.median, measure)
    if reading.baseline < n:
        basis = (f"the median of your first {reading.baseline} points (before your first change) is "
                 f"{median}, carried on across the rest")
    else:
        basis = f"the median is {median}"
    lines = [f"Here is the run chart of {name}: {n} points; {basis}."]

    if not reading.enough:
        lines.append(
            f"With {n} points I can draw it, but the rules need about {MIN_POINTS} before they can tell a real "
            "change from ordinary ups and downs. Keep adding points in time order"
            + (", and send them again when you have more." if n < MIN_POINTS else "."))
        early = [_signal_line(s, measure, reading) for s in reading.signals if s.kind in ("shift", "trend")]
        if early:
            lines.append("One early sign already:" if len(early) == 1 else "Early signs already:")
            lines += [f"- {line}" for line in early]
            lines.append("")  # the list ends here (Markdown would carry on the last item)
        lines.append(f"*Rules from:* {RULES_SOURCE}")
        return "\n".join(lines)

    if reading.signals:
        lines.append("What the run-chart rules find:")
        lines += [f"- {_signal_line(s, measure, reading)}" for s in reading.signals]
        lines += ["", _meaning(measure, reading)]  # a blank line ends the list
    else:
        lines.append("No signals: the ups and downs look like ordinary variation around the median "
                     f"({_runs_phrase(reading)}).")
        lines.append("If you have made a change, it does not show in this measure yet. Check the change is "
                     "really happening (a simple process measure helps), and keep plotting before you judge it.")
    if reading.runs_limits is None and reading.useful >= 2:
        low, high = rules.RUNS_TABLE_RANGE
        lines.append(f"(I could not check the number of runs: the table I use covers {low} to {high} points off "
                     f"the median, and you have {reading.useful}.)")
    lines.append(f"*Rules from:* {RULES_SOURCE}")
    return "\n".join(lines)


def alt_text(measure: Measure, reading: RunChartReading) -> str:
    """The picture in one or two sentences, for screen readers and text-only channels."""
    n = len(reading.values)
    values = reading.values
    first, last = _value(values[0], measure), _value(values[-1], measure)
    low, high = _value(min(values), measure), _value(max(values), measure)
    text = (f"Run chart of {measure.name or 'a measure'}: {n} points from {first} to {last}, ranging {low} to "
            f"{high}, median {_value(reading.median, measure)}.")
    if measure.changes:
        text += f" {len(measure.changes)} change{'s' if len(measure.changes) > 1 else ''} marked."
    if reading.signals:
        text += " Flagged: " + "; ".join(_signal_short(s) for s in reading.signals) + "."
    else:
        text += " No signals."
    return text


def _signal_line(signal: Signal, measure: Measure, reading: RunChartReading) -> str:
    span = _span(signal, measure, reading)
    median = "your baseline median" if reading.baseline < len(reading.values) else "the median"
    if signal.kind == "shift":
        return (f"**A shift:** {span} all sit {signal.direction} {median}. Six or more in a row on one side "
                "is a signal, not chance.")
    if signal.kind == "trend":
        way = "up" if signal.direction == "up" else "down"
        return (f"**A trend:** {span} go {way}, one after another. Five or more points going one way is unlikely "
                "by chance.")
    if signal.kind == "too_few_runs":
        low, _ = reading.runs_limits or (0, 0)
        return (f"**Too few runs:** the line crosses the median rarely ({reading.runs} runs, where at least {low} "
                f"would be usual for {reading.useful} points off the median). Something has moved the process.")
    if signal.kind == "too_many_runs":
        _, high = reading.runs_limits or (0, 0)
        return (f"**Too many runs:** the points zig-zag across the median more than chance would ({reading.runs} "
                f"runs, where at most {high} would be usual). That often means two sources are mixed, like day "
                "and night shifts or two wards.")
    value = _value(reading.values[signal.start], measure)
    return (f"**An unusual point:** point {signal.start + 1}{_label_of(signal.start, measure)} ({value}) is far "
            "from the rest. Worth finding out what happened then.")


def _meaning(measure: Measure, reading: RunChartReading) -> str:
    """What the signals mean for the project, tied to the changes the team made where they line up."""
    shifts = reading.of_kind("shift")
    after = [c for c in measure.changes if shifts and shifts[-1].start >= c.index]
    if shifts and after:
        change = after[-1]
        what = f"your change ({change.label})" if change.label else f"the change you made after point {change.index}"
        way = shifts[-1].direction
        return (f"The shift begins once {what} was in place: that is evidence the change made a difference. If "
                f"{'lower' if way == 'below' else 'higher'} is better for this measure, it looks like improvement; "
                "once it holds, many teams start a new median from where the shift began.")
    if shifts and shifts[-1].end == len(reading.values) - 1:
        way = shifts[-1].direction
        return (f"Your most recent points sit {way} the median: something changed, not just chance. If you made a "
                "change around then, send the numbers again with it marked (add \"changes after point 8\" after "
                "them), and I will show where it falls.")
    if shifts or reading.of_kind("trend"):
        return "A signal means something in the process changed. It is worth asking the team what happened then."
    return "A signal is worth a conversation with the team about what happened at that point."


def _span(signal: Signal, measure: Measure, reading: RunChartReading) -> str:
    n = len(reading.values)
    count = signal.end - signal.start + 1
    if signal.end == n - 1:
        where = f"the last {_count(count)} points"
    else:
        where = f"points {signal.start + 1} to {signal.end + 1}"
    if measure.labels:
        where += f" ({measure.labels[signal.start]} to {measure.labels[signal.end]})"
    return where


def _signal_short(signal: Signal) -> str:
    where = f"points {signal.start + 1} to {signal.end + 1}"
    return {"shift": f"a shift {signal.direction} the median, {where}",
            "trend": f"a trend going {signal.direction}, {where}",
            "too_few_runs": "too few runs",
            "too_many_runs": "too many runs",
            "astronomical": f"an unusual point at point {signal.start + 1}"}.get(signal.kind, signal.kind)


def _runs_phrase(reading: RunChartReading) -> str:
    if reading.runs_limits is None:
        return f"{reading.runs} runs"
    low, high = reading.runs_limits
    return f"{reading.runs} runs, within the {low} to {high} expected"


def _label_of(index: int, measure: Measure) -> str:
    return f" ({measure.labels[index]})" if measure.labels else ""


def _value(value: float, measure: Measure) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return f"{text}%" if measure.unit == "%" else text


def _count(n: int) -> str:
    return _COUNT_WORDS.get(n, str(n))
