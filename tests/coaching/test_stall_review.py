"""The stalled-project review: answers read from buttons and words, and a review that names the
levels the project never reached, what to ask of each, and where the advice comes from."""

from __future__ import annotations

import pytest

from actions import render
from knowledge.db import create_engine_for
from knowledge.load import load_content
from knowledge.repository import KnowledgeStore
from qi_coach.coaching import stall_review as sr


@pytest.fixture(scope="module")
def guides(tmp_path_factory):
    engine = create_engine_for(f"sqlite:///{tmp_path_factory.mktemp('review') / 'kb.db'}")
    load_content(engine)
    return KnowledgeStore(engine).level_guides()


@pytest.mark.parametrize("text, answer", [
    ("yes", sr.YES), ("Yes, they helped design it", sr.YES), ("yeah definitely", sr.YES),
    ("partly", sr.PARTLY), ("sort of, at the start", sr.PARTLY), ("yes, but only at first", sr.PARTLY),
    ("a few of them did", sr.PARTLY),
    ("no", sr.NO), ("Not really", sr.NO), ("never, they didn't know it existed", sr.NO), ("nope", sr.NO),
    ("not sure", sr.UNSURE), ("I don't know", sr.UNSURE), ("no idea", sr.UNSURE), ("Don\u2019t know", sr.UNSURE),
])
def test_answers_are_read_from_a_few_words(text, answer):
    assert sr.read_answer(text) == answer


@pytest.mark.parametrize("text", ["", "   ", "the ward was closed for refurbishment", "🙂", "42"])
def test_what_is_not_an_answer_is_not_guessed(text):
    assert sr.read_answer(text) is None


def test_the_levels_come_from_the_content_with_their_question_and_priorities(guides):
    assert [g.id for g in guides] == ["front_line", "middle_manager", "senior_leader"]
    for guide in guides:
        assert guide.review_question.endswith("?") and guide.priorities and guide.barriers_when_unreached
        assert any(source.id == "seed_002" for source in guide.sources)


def test_a_project_that_never_reached_managers_is_told_so_with_the_asks_for_them(guides):
    result = sr.review({"front_line": sr.YES, "middle_manager": sr.NO, "senior_leader": sr.PARTLY}, guides)
    assert [g.id for g in result.to_work_on] == ["middle_manager", "senior_leader"]
    text = sr.review_markdown(result, render.source_link)
    assert "served the priorities of front-line staff" in text
    assert "never reached middle managers" in text and "only partly served senior leaders" in text
    assert "front-line staff and middle managers agreed" in text  # seed 002's finding, in our words
    middle = next(g for g in guides if g.id == "middle_manager")
    assert all(f"- {ask}" in text for ask in middle.asks)
    front = next(g for g in guides if g.id == "front_line")
    assert not any(ask in text for ask in front.asks)  # a level that was served gets no asks
    assert "(sources#seed_002)" in text and "002_" not in text  # cited by name, no file name


def test_a_project_that_served_every_level_is_pointed_at_its_barriers(guides):
    result = sr.review({level: sr.YES for level in ("front_line", "middle_manager", "senior_leader")}, guides)
    assert result.to_work_on == []
    text = sr.review_markdown(result, render.source_link)
    assert "probably not what stalled it" in text and "What to ask" not in text


def test_not_knowing_is_said_and_answered_with_finding_out(guides):
    result = sr.review({"front_line": sr.UNSURE, "middle_manager": sr.UNSURE, "senior_leader": sr.UNSURE}, guides)
    assert "ask them" in sr.headline(result) and result.to_work_on == []
    missing = sr.review({}, guides)  # nothing answered at all counts as not known, never as served
    assert [v.answer for v in missing.verdicts] == [sr.UNSURE] * 3
