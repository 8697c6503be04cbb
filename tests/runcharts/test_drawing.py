"""A measure turned into a kept chart and words: what the person is told, the picture, and that
it is kept only for its own conversation and deleted with it."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from knowledge.db import create_engine_for
from qi_coach.channels.charts import chart_path
from qi_coach.records import UserRecords
from qi_coach.runcharts import explain, rules
from qi_coach.runcharts.drawing import MIN_BASELINE, RunCharts, baseline_for
from qi_coach.runcharts.measure import MeasureError, read_measure

# Eight baseline weeks around 12, a change, then eight weeks all lower: a shift after the change.
AFTER_A_CHANGE = ("weekly falls: 12 15 11 9 14 10 13 12 8 7 9 6 5 7 8 6\n"
                  "changes after point 8")
NO_SIGNAL = "daily DNAs: 5 6 7 4 5 8 6 4 5 7 6 5 4 7"


@pytest.fixture
def charts(tmp_path) -> RunCharts:
    return RunCharts(UserRecords(create_engine_for(f"sqlite:///{tmp_path / 'records.db'}")))


@pytest.fixture
def sender() -> str:
    return f"chart-{uuid.uuid4().hex[:8]}"


def test_a_shift_after_the_change_is_told_against_the_baseline_median():
    measure = read_measure(AFTER_A_CHANGE)
    assert baseline_for(measure) == 8
    reading = rules.read(measure.values, baseline=baseline_for(measure))
    words = explain.explain(measure, reading)
    assert "**weekly falls**" in words and "16 points" in words
    assert "median of your first 8 points" in words and "12" in words
    assert "**A shift:** the last eight points all sit below your baseline median" in words
    assert "begins once the change you made after point 8 was in place" in words and "evidence the change made a difference" in words
    assert "sources#perla_2011" in words  # where the rules come from


def test_ordinary_variation_is_called_that_and_says_what_to_do():
    measure = read_measure(NO_SIGNAL)
    reading = rules.read(measure.values)
    assert not reading.signals
    words = explain.explain(measure, reading)
    assert "No signals" in words and "ordinary variation" in words
    assert f"{reading.runs} runs, within the {reading.runs_limits[0]} to {reading.runs_limits[1]} expected" in words


def test_fewer_than_ten_points_says_what_it_cannot_tell_yet():
    measure = read_measure("12 15 11 9 14 10 13")
    words = explain.explain(measure, rules.read(measure.values))
    assert "With 7 points I can draw it" in words and "about 10" in words
    assert "What the run-chart rules find" not in words


def test_a_short_baseline_is_not_frozen():
    measure = read_measure("4 5 3 8 7 9 8 9 7 8 9\nchanges after point 3")
    assert measure.changes and measure.changes[0].index < MIN_BASELINE
    assert baseline_for(measure) is None


def test_the_text_alternative_says_what_the_picture_shows():
    measure = read_measure(AFTER_A_CHANGE)
    alt = explain.alt_text(measure, rules.read(measure.values, baseline=8))
    assert alt.startswith("Run chart of weekly falls: 16 points from 12 to 6, ranging 5 to 15, median 12.")
    assert "1 change marked" in alt and "a shift below the median, points 9 to 16" in alt


def test_the_chart_is_a_png_and_the_compact_one_fits_in_a_teams_message(charts, sender):
    drawn = charts.draw(sender, AFTER_A_CHANGE)
    png, alt = charts.picture(drawn.token)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] >= 800 and alt == drawn.alt
    compact, _ = charts.picture(drawn.token, compact=True)
    assert Image.open(io.BytesIO(compact)).size[0] < image.size[0]
    assert len(compact) * 4 / 3 < 28_000  # base64 inside a Teams activity's 28 KB


def test_a_chart_is_kept_for_its_conversation_and_deleted_with_it(charts, sender):
    drawn = charts.draw(sender, NO_SIGNAL)
    assert chart_path(drawn.token) == f"charts/{drawn.token}.png" and len(drawn.token) >= 24
    assert charts.picture(drawn.token) is not None
    assert charts.records.forget(sender) >= 1
    assert charts.picture(drawn.token) is None


def test_an_upload_is_read_then_drawn_only_in_its_own_conversation(charts, sender):
    token, measure = charts.upload(sender, "week,falls\n1,12\n2,15\n3,11\n4,9\n5,14\n6,10\n7,13\n8,8\n9,7\n10,9\n")
    assert len(measure.values) == 10
    assert charts.picture(token) is None  # kept, not drawn yet
    with pytest.raises(MeasureError):
        charts.draw("someone-else", token=token)
    drawn = charts.draw(sender, token=token)
    assert drawn.token == token and charts.picture(token) is not None


@pytest.mark.parametrize("text", ["", "hello there", "7", "1 " * 10_000, "\U0001F4C8\U0001F4C9"])
def test_bad_input_is_refused_in_words_and_nothing_is_kept(charts, sender, text):
    with pytest.raises(MeasureError) as refused:
        charts.draw(sender, text)
    assert str(refused.value).strip()
    assert charts.records.forget(sender) == 0


def test_a_recent_shift_with_no_change_marked_says_how_to_mark_one_and_that_way_works():
    numbers = "ward 7 falls per month: 9 11 8 12 10 9 13 11 6 5 4 6 5 3"
    measure = read_measure(numbers)
    words = explain.explain(measure, rules.read(measure.values))
    assert 'send the numbers again with it marked (add "changes after point 8" after them)' in words
    marked = read_measure(f"{numbers} changes after point 8")  # doing as told
    assert [c.index for c in marked.changes] == [8] and marked.values == measure.values
    again = explain.explain(marked, rules.read(marked.values, baseline=baseline_for(marked)))
    assert "begins once the change you made after point 8 was in place" in again
