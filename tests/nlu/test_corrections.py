"""Reading the meant half of a short correction, and leaving descriptions alone."""

from __future__ import annotations

import pytest

from qi_coach.nlu.corrections import favoured_part


@pytest.mark.parametrize(("text", "meant"), [
    ("more the IT than the consultants", "the IT"),
    ("no, more the IT than the consultants.", "the IT"),
    ("It's mostly the rota rather than the money", "the rota"),
    ("i'd say more like the IT system than the doctors", "the IT system"),
    ("no, it's more our manager than the consultants", "our manager"),
    ("less the money, more the rota", "the rota"),
    ("not the consultants, it's more the IT", "the IT"),
    ("Not the consultants but the IT", "the IT"),
    ("not the money, its the time", "the time"),
    ("the IT rather than the consultants", "the IT"),
    ("the IT more than the consultants", "the IT"),
    ("the IT, not the consultants", "the IT"),
])
def test_a_short_correction_is_read_as_the_half_the_person_means(text, meant):
    assert favoured_part(text) == meant


@pytest.mark.parametrize("text", [
    "",
    "not really",
    "no, not that",
    "we do not have time",
    "it takes more time than we have",  # a complaint, not a correction
    "more templates than tests of change",  # amounts compared: the contrast is the barrier
    "it's the ICB's project, not ours",  # the dropped half carries the meaning
    "no, it's more complicated than that",
    "It feels like a project about a spreadsheet rather than about patients.",
    "the deputy ward manager took over the weekly audit and it runs smoothly",
    # long descriptions are read whole even when they contain a contrast
    "on most days it is more the IT than the consultants but honestly the whole board has lost interest too",
])
def test_descriptions_and_plain_answers_are_left_whole(text):
    assert favoured_part(text) is None
