"""The project's own spaCy pipeline: installed as a package, lemmas, and knowledge entities."""

from __future__ import annotations

import pytest
import spacy

from qi_coach.spacy_pipeline import PIPELINE, installed_version, version


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(PIPELINE)


def test_the_installed_pipeline_is_the_one_the_current_knowledge_builds():
    assert installed_version() == version()


def test_lemmas_ignore_case_and_plurals(nlp):
    assert [t.lemma_ for t in nlp("The Consultants were doing PDSAs")] == ["the", "consultant", "be", "do", "pdsa"]


@pytest.mark.parametrize("text, expected", [
    ("The Consultants won't come", [("role", "consultant")]),
    ("GPs at the GP practices", [("role", "gp"), ("setting", "general_practice")]),
    ("what is a driver diagram?", [("qi_tool", "driver_diagram")]),
    ("we did three PDSAs on the ward", [("qi_tool", "pdsa_cycle"), ("setting", "acute_ward")]),
    ("matron says the execs don't care", [("role", "matron"), ("role", "executive")]),
])
def test_roles_settings_and_tools_are_found_with_their_ids(nlp, text, expected):
    assert [(e.label_, e.ent_id_) for e in nlp(text).ents if e.label_ != "ignore"] == expected


@pytest.mark.parametrize("text", ["we need to get the consultants on board", "in practice it never happens"])
def test_common_phrases_do_not_pose_as_the_board_or_a_practice(nlp, text):
    assert not [e for e in nlp(text).ents if e.ent_id_ in {"board", "general_practice"}]
