"""Turning a measure into a kept run chart: read it, apply the rules, draw it, keep it, say it.

The actions and the web page's upload call this; the channels fetch the picture by its token.
Charts are kept in ``run_charts`` (``qi_coach.records``) beside the conversation, so "delete my
data" and the retention period remove them with everything else, and any of several servers
can send the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from qi_coach.records import UserRecords
from qi_coach.runcharts import chart, explain, rules
from qi_coach.runcharts.measure import Change, Measure, MeasureError, read_measure

#: A change after at least this many points freezes the median on the points before it (the
#: baseline), as QI teams do, so later points are judged against where the process started.
#: With fewer, the median of every point is used: a median of two or three points means little.
MIN_BASELINE = 6


@dataclass(frozen=True)
class Drawn:
    token: str
    title: str
    reply: str  # Markdown: what the rules found and what it means
    alt: str  # the picture in words


def baseline_for(measure: Measure) -> int | None:
    """How many points the median is taken from: those before the first change, when enough."""
    if measure.changes and measure.changes[0].index >= MIN_BASELINE:
        return measure.changes[0].index
    return None


class RunCharts:
    """Read, draw and keep run charts of people's measures."""

    def __init__(self, records: UserRecords | None = None):
        self.records = records or UserRecords()

    def upload(self, conversation_id: str, text: str) -> tuple[str, Measure]:
        """Keep an uploaded file's measure for the conversation to draw next; its token and the
        measure. Raises ``MeasureError`` saying what is wrong with the file."""
        measure = read_measure(text)
        return self.records.keep_run_chart(conversation_id, as_dict(measure)), measure

    def draw(self, conversation_id: str, text: str | None = None, token: str | None = None) -> Drawn:
        """Draw the measure in ``text``, or the one uploaded under ``token`` (only this
        conversation's). Raises ``MeasureError`` with words for the person."""
        if token:
            kept = self.records.run_chart(token)
            if kept is None or kept.conversation_id != conversation_id:
                raise MeasureError("I can't find that file any more. Could you upload it again?", "empty")
            measure = from_dict(kept.measure)
        else:
            measure = read_measure(text or "")
        reading = rules.read(measure.values, baseline=baseline_for(measure))
        png = chart.render_png(measure, reading)
        alt = explain.alt_text(measure, reading)
        if token:
            self.records.set_run_chart_picture(token, png, alt)
        else:
            token = self.records.keep_run_chart(conversation_id, as_dict(measure), png, alt)
        return Drawn(token, measure.name or "Your run chart", explain.explain(measure, reading), alt)

    def picture(self, token: str, compact: bool = False) -> tuple[bytes, str] | None:
        """The kept chart's PNG and text alternative; ``compact`` redraws it small for inline
        use (Teams). None when there is no such chart (or it was deleted)."""
        kept = self.records.run_chart(token)
        if kept is None or kept.png is None:
            return None
        if not compact:
            return kept.png, kept.alt or ""
        measure = from_dict(kept.measure)
        return chart.render_png(measure, rules.read(measure.values, baseline=baseline_for(measure)),
                                compact=True), kept.alt or ""


def as_dict(measure: Measure) -> dict[str, Any]:
    """The measure as JSON for the ``run_charts`` row."""
    return {"name": measure.name, "values": list(measure.values), "labels": list(measure.labels or []) or None,
            "dates": [d.isoformat() for d in measure.dates] if measure.dates else None,
            "changes": [{"index": c.index, "label": c.label} for c in measure.changes], "unit": measure.unit}


def from_dict(data: dict[str, Any]) -> Measure:
    return Measure(name=data.get("name"), values=tuple(float(v) for v in data["values"]),
                   labels=tuple(data["labels"]) if data.get("labels") else None,
                   dates=tuple(date.fromisoformat(d) for d in data["dates"]) if data.get("dates") else None,
                   changes=tuple(Change(int(c["index"]), c.get("label")) for c in data.get("changes") or []),
                   unit=data.get("unit"))
