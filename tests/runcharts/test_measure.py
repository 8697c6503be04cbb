"""Measures read from what people type, paste or upload, and the words they get back when a
measure cannot be charted."""

from __future__ import annotations

from datetime import date

import pytest

from qi_coach.runcharts.measure import (
    KINDS,
    MAX_POINTS,
    Change,
    MeasureError,
    looks_like_measure,
    read_measure,
)

FALLS = (12.0, 15.0, 11.0, 9.0, 14.0)


def refusal(text: str) -> MeasureError:
    with pytest.raises(MeasureError) as caught:
        read_measure(text)
    return caught.value


@pytest.mark.parametrize("text, name, values, unit", [
    ("weekly falls: 12 15 11 9 14 10 13", "weekly falls", (12, 15, 11, 9, 14, 10, 13), None),
    ("falls per week 12, 15, 11, 9, 14", "falls per week", FALLS, None),
    ("12 15 11 9 14 10 13 8 7 9 6 5", None, (12, 15, 11, 9, 14, 10, 13, 8, 7, 9, 6, 5), None),
    ("% discharged before noon: 18%, 22%, 25.5%", "% discharged before noon", (18, 22, 25.5), "%"),
    ("percent seen within 4 hours: 76 78 80", "percent seen within 4 hours", (76, 78, 80), "%"),
    ("audit: 18 %, 22 %", "audit", (18, 22), "%"),
    ("DNA rate 0.12 0.15 0.11 …", "DNA rate", (0.12, 0.15, 0.11), None),
    ("12;15;11\t9", None, (12, 15, 11, 9), None),
    ("12,15,11", None, (12, 15, 11), None),  # commas without spaces still separate
    ("ED attendances: 1,234 1,456 1,502", "ED attendances", (1234, 1456, 1502), None),  # thousands
    ("Ward 7 falls: 12 15 11", "Ward 7 falls", (12, 15, 11), None),  # a colon lets a name hold numbers
    ("weight change: -2 -1.5 0 +1 −3", "weight change", (-2, -1.5, 0, 1, -3), None),  # "−" is a minus sign
    ("falls: 12, 15, 11, 9, 14.", "falls", FALLS, None),
    ("weekly falls:\n12\n15\n11\n9\n14", "weekly falls", FALLS, None),  # a name, then a column
    ("weekly falls 12 15 11\n9 14", "weekly falls", FALLS, None),  # a list wrapped over lines
    ("12, 15, 11\n9, 14", None, FALLS, None),
])
def test_typed_measures(text, name, values, unit):
    measure = read_measure(text)
    assert measure.name == name
    assert measure.values == tuple(float(v) for v in values)
    assert measure.unit == unit
    assert measure.labels is None and measure.dates is None and measure.changes == ()


def test_numbers_are_kept_as_written():
    measure = read_measure("rate: 0.1 0.2 0.30 25.5 1000000.25")
    assert measure.values == (0.1, 0.2, 0.3, 25.5, 1000000.25)


@pytest.mark.parametrize("text, name, values, labels, dates", [
    ("Falls\n12\n15\n11", "Falls", (12, 15, 11), None, None),
    ("Falls per 1,000 bed days\n12\n15\n11", "Falls per 1,000 bed days", (12, 15, 11), None, None),
    ("03/02/2025 12\n10/02/2025 15\n17/02/2025 11", None, (12, 15, 11),
     ("3 Feb 2025", "10 Feb 2025", "17 Feb 2025"), (date(2025, 2, 3), date(2025, 2, 10), date(2025, 2, 17))),
    ("2025-02-03, 12\n2025-02-10, 15\n2025-02-17, 11", None, (12, 15, 11),
     ("3 Feb 2025", "10 Feb 2025", "17 Feb 2025"), (date(2025, 2, 3), date(2025, 2, 10), date(2025, 2, 17))),
    ("03/02/25 12\n10/02/25 15", None, (12, 15), ("3 Feb 2025", "10 Feb 2025"), (date(2025, 2, 3), date(2025, 2, 10))),
    ("Week  Falls\nWeek 1  12\nWeek 2  15\nWk 3 11", "Falls", (12, 15, 11), ("Week 1", "Week 2", "Week 3"), None),
    ("Jan 2025 40\nFebruary 2025 38\nMar 2025 41", None, (40, 38, 41), ("Jan 2025", "Feb 2025", "Mar 2025"),
     (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1))),
    ("3 Feb 2025 12\n10 Feb 2025 15", None, (12, 15), ("3 Feb 2025", "10 Feb 2025"),
     (date(2025, 2, 3), date(2025, 2, 10))),
    ("1 12\n2 15\n3 11\n4 9", None, (12, 15, 11, 9), ("1", "2", "3", "4"), None),  # point numbers are not values
])
def test_pasted_columns(text, name, values, labels, dates):
    measure = read_measure(text)
    assert (measure.name, measure.values, measure.labels, measure.dates) == (
        name, tuple(float(v) for v in values), labels, dates)


def test_words_after_the_number_on_a_dated_line_mark_a_change():
    measure = read_measure("Week 1 12\nWeek 2 15\nWeek 3 11 PDSA 1 new sheet\nWeek 4 9")
    assert measure.values == (12, 15, 11, 9)
    assert measure.changes == (Change(2, "PDSA 1 new sheet"),)


CSV = """Date,Falls,Change
03/02/2025,12,
10/02/2025,15,
17/02/2025,11,PDSA 1: new handover sheet
24/02/2025,9,
03/03/2025,14,"PDSA 2: huddle, twice a day"
,,
"""


@pytest.mark.parametrize("text", [
    CSV,
    CSV.replace(",", ";").replace("huddle; twice", "huddle, twice"),  # semicolon CSV from European Excel
    CSV.replace(",", "\t").replace("huddle\t twice", "huddle, twice").replace('"', ""),  # pasted from Excel
    CSV.replace("\n", "\r\n"),
    "\ufeff" + CSV,  # Excel's UTF-8 byte-order mark
])
def test_csv_with_a_header_dates_and_a_change_column(text):
    measure = read_measure(text)
    assert measure.name == "Falls"
    assert measure.values == FALLS
    assert measure.dates == (date(2025, 2, 3), date(2025, 2, 10), date(2025, 2, 17), date(2025, 2, 24),
                             date(2025, 3, 3))
    assert measure.labels == ("3 Feb 2025", "10 Feb 2025", "17 Feb 2025", "24 Feb 2025", "3 Mar 2025")
    assert measure.changes == (Change(2, "PDSA 1: new handover sheet"), Change(4, "PDSA 2: huddle, twice a day"))


@pytest.mark.parametrize("text, name, values, labels", [
    ("03/02/2025,12\n10/02/2025,15\n17/02/2025,11", None, (12, 15, 11), ("3 Feb 2025", "10 Feb 2025", "17 Feb 2025")),
    ("1,12\n2,15\n3,11", None, (12, 15, 11), ("1", "2", "3")),
    ("Week,Falls\n14,12\n15,15\n16,11", "Falls", (12, 15, 11), ("Week 14", "Week 15", "Week 16")),
    ("Year,Admissions\n2022,120\n2023,131\n2024,125", "Admissions", (120, 131, 125), ("2022", "2023", "2024")),
    ("Month,Falls\nJan-25,12\nFeb-25,15\nMar-25,11", "Falls", (12, 15, 11), ("Jan 2025", "Feb 2025", "Mar 2025")),
    ("Date,Falls,Injuries\n2025-02-03,12,1\n2025-02-10,15,3", "Falls", (12, 15), ("3 Feb 2025", "10 Feb 2025")),
    ("Ward,Date,Falls\nAsh,03/02/2025,12\nAsh,10/02/2025,15", "Falls", (12, 15), ("3 Feb 2025", "10 Feb 2025")),
    ("Falls on Ash ward\nDate,Falls\n03/02/2025,12\n10/02/2025,15", "Falls", (12, 15), ("3 Feb 2025", "10 Feb 2025")),
    ("Spend\n\"1,234\"\n\"1,456\"", "Spend", (1234, 1456), None),
    ("Date;Spend\n03/02/2025;1,234\n10/02/2025;1,456", "Spend", (1234, 1456), ("3 Feb 2025", "10 Feb 2025")),
    ("Date,Falls\n2025-02-03 00:00:00,12\n2025-02-10 00:00:00,15", "Falls", (12, 15), ("3 Feb 2025", "10 Feb 2025")),
    ("Date,%\n03/02/2025,18%\n10/02/2025,22%", "%", (18, 22), ("3 Feb 2025", "10 Feb 2025")),
])
def test_csv_shapes(text, name, values, labels):
    measure = read_measure(text)
    assert (measure.name, measure.values, measure.labels) == (name, tuple(float(v) for v in values), labels)


def test_rows_without_a_value_at_either_end_are_skipped():
    """Spreadsheets lay out the weeks ahead: dates with no number yet are not points."""
    measure = read_measure("Date,Falls,Notes\n27/01/2025,,\n03/02/2025,12,\n10/02/2025,15,\n17/02/2025,11,\n"
                           "24/02/2025,,PDSA 3 planned\n03/03/2025,,\n\n")
    assert measure.values == (12, 15, 11)
    assert measure.labels == ("3 Feb 2025", "10 Feb 2025", "17 Feb 2025")
    assert measure.changes == ()


@pytest.mark.parametrize("text, changes", [
    ("Date,Falls,PDSA\n03/02/2025,12,\n10/02/2025,15,1\n17/02/2025,11,2", (Change(1, "PDSA 1"), Change(2, "PDSA 2"))),
    ("Date\tFalls\tNotes\n03/02/2025\t12\t\n10/02/2025\t15\tx\n17/02/2025\t11\t", (Change(1, None),)),
    ("Date,Falls,Notes\n03/02/2025,12,-\n10/02/2025,15,n/a\n17/02/2025,11,new rota", (Change(2, "new rota"),)),
    # a note on the first point has nothing before it to compare with
    ("Date,Falls,Notes\n03/02/2025,12,baseline\n10/02/2025,15,\n17/02/2025,11,", ()),
    # a column of numbers named "change" is a measure when every row has one
    ("Date,Change in weight\n03/02/2025,-1\n10/02/2025,2", ()),
])
def test_changes_from_a_csv_column(text, changes):
    assert read_measure(text).changes == changes


@pytest.mark.parametrize("text, indexes", [
    ("weekly falls: 12 15 11 9 14 10 13\nchanges after point 3 and 5", (3, 5)),
    ("weekly falls: 12 15 11 9 14 10 13\nchange at week 4", (3,)),
    ("weekly falls: 12 15 11 9 14 10 13, change at week 4", (3,)),
    ("12 15 11 9 14 10 13; changes after points 2, 4 & 6.", (2, 4, 6)),
    ("change after point 2\nweekly falls: 12 15 11 9 14", (2,)),
    ("weekly falls: 12 15 11 9 14\nPDSA cycle started at point 3", (2,)),
    ("weekly falls: 12 15 11 9 14\nchange after point 2\nchange at point 3", (2,)),  # one change per place
    ("Date,Falls\n03/02/2025,12\n10/02/2025,15\n17/02/2025,11\n24/02/2025,9\nchanges: 10/02/2025, 20/02/2025", (1, 3)),
    ("Date,Falls\n03/02/2025,12\n10/02/2025,15\n17/02/2025,11\nchange after 10/02/2025", (2,)),
    ("Week,Falls\n14,12\n15,15\n16,11\n17,9\nchange at week 16", (2,)),  # weeks named by the table
    ("Month,Falls\nJan 2025,12\nFeb 2025,15\nMar 2025,11\nApr 2025,9\nchange at 15/02/2025", (1,)),  # in February
    ("Month,Falls\nJan 2025,12\nFeb 2025,15\nMar 2025,11\nApr 2025,9\nchange after Feb 2025", (2,)),
    ("Date,Falls,Change\n03/02/2025,12,\n10/02/2025,15,PDSA 1\n17/02/2025,11,\nchange after point 1", (1,)),
])
def test_changes_typed_in_words(text, indexes):
    assert tuple(change.index for change in read_measure(text).changes) == indexes


def test_a_typed_change_on_a_csv_change_keeps_the_csv_label():
    measure = read_measure("Date,Falls,Change\n03/02/2025,12,\n10/02/2025,15,PDSA 1\n17/02/2025,11,\n"
                           "change after point 1")
    assert measure.changes == (Change(1, "PDSA 1"),)


def test_a_name_with_change_in_it_is_not_a_change():
    measure = read_measure("Weight change: 1 2 3 4 5")
    assert measure.name == "Weight change" and measure.values == (1, 2, 3, 4, 5) and measure.changes == ()


@pytest.mark.parametrize("text, kind, said", [
    ("", "empty", ["nothing", "weekly falls: 12 15 11 9 14"]),
    ("  \n\t ", "empty", ["nothing"]),
    ("hello", "no_numbers", ["couldn't find any numbers", "weekly falls: 12 15 11 9 14"]),
    ("Date,Falls\nsoon,later\nnever,n/a", "no_numbers", ["column of numbers"]),
    ("changes after point 8", "no_numbers", ["no numbers"]),
    ("12", "too_few", ["at least 2 numbers", "10 or more", "weekly falls: 12 15 11 9 14"]),
    ("Date,Falls\n03/02/2025,12", "too_few", ["at least 2"]),
    (" ".join(["7"] * (MAX_POINTS + 1)), "too_many", [f"{MAX_POINTS + 1:,} points", "week or month"]),
    ("12 15 x 11", "mixed", ['"x"']),
    ("Ward 7 falls 12 15 11", "mixed", ['"falls"', "colon"]),
    ("Falls\n12\n15\nn/a\n9", "mixed", ["Row 4", '"n/a"']),
    ("Date,Falls\n03/02/2025,12\n10/02/2025,n/a\n17/02/2025,11", "mixed", ["Row 3", '"n/a"']),
    ("Date,Falls\n03/02/2025,12\n10/02/2025,\n17/02/2025,11", "mixed", ["Row 3", "no number"]),
    ("Date;Falls\n03/02/2025;12,5\n10/02/2025;15", "mixed", ["Row 2", "12.5"]),
    ("Week 1 12 15\nWeek 2 11 3", "mixed", ["Row 1", "one number"]),
    ("Week,1,2,3,4,5\nFalls,12,15,11,9,14", "mixed", ["across"]),
    ("falls 12 15 11 1e999", "mixed", ["too big", '"1e999"']),
    ("falls: 12 15 nan 11", "mixed", ['"nan"']),
    ("falls: 12 15 inf 11", "mixed", ['"inf"']),
    ("12 15 11 9 14 changes at the new sheet", "mixed", ['"changes"', "change after point 8"]),
    ("falls 03/02/2025 12 10/02/2025 15", "dates", ['"03/02/2025"', "one point per line"]),
    ("18/12", "dates", ['"18/12"']),
    ("Date,Falls\n03/02/2025,12\n17/02/2025,15\n10/02/2025,11", "dates", ["row 4", "row 3", "time order"]),
    ("Date,Falls\n17/02/2025,12\n10/02/2025,15\n03/02/2025,11", "dates", ["newest to oldest", "oldest first"]),
    ("Date,Falls\n03/02/2025,12\n03/02/2025,15", "dates", ["Rows 2 and 3", "same date"]),
    ("Date,Falls\n03/02/2025,12\n31/02/2025,15", "dates", ["Row 3", '"31/02/2025"', "day first"]),
    ("Date,Falls\n02/13/2025,12\n02/14/2025,15", "dates", ["Row 2", "day first"]),  # US month-first
    ("weekly falls: 12 15 11 9 14\nchange after point 5", "changes", ['"change after point 5"', "last of your 5"]),
    ("weekly falls: 12 15 11 9 14\nchange at week 1", "changes", ["before the first point"]),
    ("weekly falls: 12 15 11 9 14\nchanges: 01/03/2025", "changes", ["every point has a date"]),
    ("Date,Falls\n03/02/2025,12\n10/02/2025,15\nchanges: 01/05/2025", "changes", ["after the last"]),
])
def test_refusals_say_what_is_wrong(text, kind, said):
    error = refusal(text)
    assert error.kind == kind
    assert error.kind in KINDS
    for words in said:
        assert words in str(error)


def test_more_than_max_points_is_refused_and_max_points_is_not():
    assert len(read_measure(" ".join(["7"] * MAX_POINTS)).values) == MAX_POINTS
    rows = "".join(f"{n},{n % 7}\n" for n in range(1, MAX_POINTS + 2))
    error = refusal("Point,Falls\n" + rows)
    assert error.kind == "too_many" and f"{MAX_POINTS + 1} points" in str(error)


def test_the_error_is_a_value_error_with_the_message_first():
    error = MeasureError("I can't find that file any more.", "empty")  # as the drawing code raises it
    assert isinstance(error, ValueError)
    assert str(error) == error.message == "I can't find that file any more." and error.kind == "empty"


@pytest.mark.parametrize("text", [
    "1" * 1_000_000,
    "12 " * 340_000,
    "12\n" * 340_000,
    "Date,Falls\n" + "03/02/2025,12\n" * 70_000,
    "📈" * 1_000_000,
    "a:" * 500_000,
    "change at " * 100_000,
    "Jan 2025 " * 110_000,
])
def test_a_megabyte_is_answered_at_once(text):
    try:
        read_measure(text)
    except MeasureError as error:
        assert error.kind == "too_many"
    looks_like_measure(text)


@pytest.mark.parametrize("text", [
    "change " * 25_000,
    "3 Jan " * 30_000,
    "1/" * 90_000,
    "a," * 90_000 + "\n1,2",
    '"' + "a" * 190_000 + '"\n1',
    "-" * 190_000,
])
def test_long_odd_text_under_the_cap_gives_an_answer(text):
    try:
        read_measure(text)
    except MeasureError as error:
        assert error.kind in KINDS and len(str(error)) < 400  # quoted text is cut short


@pytest.mark.parametrize("text, name, values", [
    ("Stürze pro Woche: 12 15 11 9 14", "Stürze pro Woche", FALLS),
    ("每周跌倒：12 15 11 9 14", "每周跌倒", FALLS),
    ("caídas semanales 12 15 11 9 14", "caídas semanales", FALLS),
    ("📉 falls: 12 15 🎉 11 9 14 👍", "📉 falls", FALLS),
])
def test_emoji_and_other_languages(text, name, values):
    measure = read_measure(text)
    assert measure.name == name and measure.values == values


@pytest.mark.parametrize("text, kind", [
    ("😀😀😀", "no_numbers"),
    ("Привет, как дела?", "no_numbers"),
    ("عدد السقوط ١٢ ١٥ ١١", "no_numbers"),  # only 0-9 are read as digits
    ("\x00\x00", "empty"),
])
def test_text_without_our_numbers_is_refused(text, kind):
    assert refusal(text).kind == kind


@pytest.mark.parametrize("text", [
    "weekly falls: 12 15 11 9 14",
    "12 15 11 9 14 10 13 8 7 9 6 5",
    "falls per week 12, 15, 11, 9, 14",
    "% discharged before noon: 18%, 22%, 25.5%, 30%, 31%",
    "DNA rate 0.12 0.15 0.11 0.13 0.1",
    "Date,Falls\n03/02/2025,12\n10/02/2025,15\n17/02/2025,11\n24/02/2025,9\n03/03/2025,14",
    "Week 1 12\nWeek 2 15\nWeek 3 11\nWeek 4 9\nWeek 5 14",
    "3 Feb 2025 12\n10 Feb 2025 15\n17 Feb 2025 11\n24 Feb 2025 9\n3 Mar 2025 14",
])
def test_lists_of_numbers_look_like_a_measure(text):
    assert looks_like_measure(text)


@pytest.mark.parametrize("text", [
    "",
    "we had 3 meetings in 2 weeks",
    "ward 7 lost 2 nurses",
    "I'll try 1 and 3",
    "I'll try 1, 2, 3, 4 and 5",
    "1 2 3 4 5",  # numbered choices, not a measure
    "18/12",
    "ask me in 2 weeks",
    "weekly falls: 12 15 11",  # fewer than 5
    "Our falls were 12 15 11 9 14 and then after we changed the handover they came down, but the staff were "
    "unhappy about the extra forms",
    "my NHS number is 943 476 5919",
    "03/02/2025 10/02/2025 17/02/2025 24/02/2025 03/03/2025",
])
def test_sentences_with_numbers_do_not_look_like_a_measure(text):
    assert not looks_like_measure(text)
