"""What counts as readable input, and how long input is cut."""

from __future__ import annotations

import pytest

from qi_coach.limits import MESSAGE_CHARS, truncate
from qi_coach.nlu import text_checks as tc


@pytest.mark.parametrize("text, expected", [
    ("", tc.EMPTY), ("   \n\t ", tc.EMPTY), ("\x00\x07", tc.EMPTY),
    ("🙂🙂👍", tc.NO_WORDS), ("???!!!", tc.NO_WORDS),
    ("hola, no tenemos tiempo para el proyecto", tc.NOT_ENGLISH),
    ("Die Ärzte wollen nicht mitmachen und es gibt keine Zeit", tc.NOT_ENGLISH),
    ("我们没有时间做这个项目", tc.NOT_ENGLISH),
    ("the consultants won't come", tc.OK), ("no time", tc.OK), ("PDSA", tc.OK), ("5", tc.OK),
    ("the Ärzte problem is that nobody has time", tc.OK),
    ("word " * 400, tc.TRUNCATED),
])
def test_quality(text, expected):
    assert tc.quality(text) == expected


def test_truncate_cuts_at_a_word_boundary_within_the_limit():
    text = "staff " * 1000
    cut = truncate(text)
    assert len(cut) <= MESSAGE_CHARS and cut.endswith("staff") and not cut.endswith(" ")


def test_truncate_leaves_short_text_alone():
    assert truncate("no time") == "no time"


def test_clean_collapses_whitespace_and_drops_control_characters():
    assert tc.clean("no\x00 time\r\n\r\n  at all") == "no time at all"


def test_it_the_department_is_spelled_out_but_not_it_the_pronoun():
    assert tc.spell_out("IT won't build it") == "information technology won't build it"
    assert tc.spell_out("our IT's fine, it is the rota") == "our information technology's fine, it is the rota"
    assert tc.spell_out("It is the rota") == "It is the rota"
    assert tc.spell_out("IT IS A NIGHTMARE HERE") == "IT IS A NIGHTMARE HERE"  # shouting, not IT
    assert tc.spell_out("ITU beds and QIT meetings") == "ITU beds and QIT meetings"


def test_the_models_read_a_redacted_message_without_its_placeholders():
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from qi_coach.nlu.input_guard import PLACEHOLDER, InputNormaliser
    from qi_coach.readings import INPUT_QUALITY

    described = Message({TEXT: "[name] in bay 3 keeps falling and the night staff have no time. Ring [phone number]"})
    only_details = Message({TEXT: "[NHS number] [phone number]"})
    InputNormaliser().process([described, only_details])
    assert described.get(TEXT) == "in bay 3 keeps falling and the night staff have no time. Ring"
    assert (only_details.get(TEXT), only_details.get(INPUT_QUALITY)) == (PLACEHOLDER, tc.EMPTY)
