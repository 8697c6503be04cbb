"""Days to check in, read from what people type, against a frozen clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qi_coach.coaching.when import WhenError, default_when, read_when, spoken

# Monday 7 December 2026, mid-morning
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, day", [
    ("in 2 weeks", "2026-12-21"),
    ("in two weeks please", "2026-12-21"),
    ("two weeks", "2026-12-21"),
    ("in a month", "2027-01-07"),
    ("give it a month", "2027-01-07"),
    ("a month from now", "2027-01-07"),
    ("yes two weeks is fine", "2026-12-21"),
    ("in a fortnight", "2026-12-21"),
    ("next week", "2026-12-14"),
    ("next month", "2027-01-07"),
    ("tomorrow", "2026-12-08"),
    ("after 10 days", "2026-12-17"),
    ("in a couple of weeks", "2026-12-21"),
    ("friday", "2026-12-11"),
    ("on Friday", "2026-12-11"),
    ("this Friday", "2026-12-11"),
    ("next Friday", "2026-12-18"),  # said on a Monday: the Friday of next week
    ("next Monday", "2026-12-14"),  # said on a Monday: a week today
    ("ask me on Wed", "2026-12-09"),
    ("18 December", "2026-12-18"),
    ("the 18th of December", "2026-12-18"),
    ("December 18th", "2026-12-18"),
    ("4 Jan", "2027-01-04"),
    ("18/12", "2026-12-18"),
    ("5/1/2027", "2027-01-05"),
    ("whenever", None),
    ("", None),
])
def test_phrases_people_use_for_a_day(text, day):
    moment = read_when(text, NOW)
    assert (moment.date().isoformat() if moment else None) == day
    if moment:
        assert moment.hour == 9 and moment.tzinfo is not None  # sent in the morning, UTC


@pytest.mark.parametrize("text, says", [
    ("7 December", "eight weeks"),  # today: the next 7 December is a year away
    ("1/12/2026", "already passed"),
    ("in 3 months", "eight weeks"),
    ("31/02", "couldn't read"),
    ("30 February", "couldn't read"),
])
def test_days_it_will_not_use_get_a_clear_reason(text, says):
    with pytest.raises(WhenError, match=says):
        read_when(text, NOW)


def test_a_day_that_has_passed_this_year_is_next_years_if_near_enough():
    late_december = datetime(2026, 12, 28, 12, 0, tzinfo=timezone.utc)
    assert read_when("4 January", late_december).date().isoformat() == "2027-01-04"


def test_the_default_is_two_weeks_and_days_are_spoken_plainly():
    assert default_when(NOW).date().isoformat() == "2026-12-21"
    assert spoken(default_when(NOW)) == "Monday 21 December"
