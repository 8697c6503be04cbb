"""Finding a tool or a strategy from what a person types."""

from __future__ import annotations

import pytest

from knowledge.matching import content_words, normalise


@pytest.mark.parametrize("text, tool_id", [
    ("bullet-proofing", "bullet_proofing"),
    ("Bullet Proofing", "bullet_proofing"),
    ("bulet proofing", "bullet_proofing"),
    ("stakeholder map", "stakeholder_analysis"),
    ("PDSA", "pdsa_cycle"),
    ("plan do study act", "pdsa_cycle"),
    ("What is a driver diagram?", "driver_diagram"),
    ("how do I use a run chart", "run_chart"),
    ("run charts", "run_chart"),
    ("fishbone", "fishbone_diagram"),
    ("5 whys", "five_whys"),
    ("control chart", "spc_chart"),
    ("HFMEA", "hfmea"),
    ("hierarchical task analysis", "hierarchical_task_analysis"),
    ("process maps", "process_mapping"),
    ("what is SIPOC", "sipoc"),
    ("how do I run an after action review", "after_action_review"),
    ("nominal group technique", "nominal_group_technique"),
    ("we did a spread plan", "spread_plan"),
])
def test_find_tool_names_the_right_tool_first(store, text, tool_id):
    lookup = store.find_tool(text)
    assert lookup.found and lookup.best.id == tool_id, lookup


@pytest.mark.parametrize("text, strategy_id", [
    ("we tried protected time", "protected_time_for_qi"),
    ("We've already done co-design", "co_design_with_clinicians"),
    ("champions", "opinion_leaders_champions"),
    ("job plans", "qi_in_job_plans_appraisal"),
    ("piggy-backing on existing meetings", "piggyback_existing_meetings"),
])
def test_find_strategies_names_the_right_strategy_first(store, text, strategy_id):
    lookup = store.find_strategies(text)
    assert lookup.found and lookup.best.id == strategy_id, lookup


@pytest.mark.parametrize("text, strategy_id", [
    ("we already tried quick wins", "quick_wins"),  # "quick wins" and "project team" once named two each
    ("we had a project team", "springboard_team"),
    ("we tried in situ simulation", "in_situ_simulation"),
])
def test_an_alias_names_one_strategy_without_doubt(store, text, strategy_id):
    lookup = store.find_strategies(text)
    assert lookup.best.id == strategy_id and not lookup.ambiguous, lookup


@pytest.mark.parametrize("text", ["xyzzy", "", "   ", "🙂🙂", "the weather in Leeds", "¿dónde está el baño?"])
def test_nothing_matching_is_said_clearly(store, text):
    for lookup in (store.find_tool(text), store.find_strategies(text)):
        assert not lookup.found
        assert lookup.best is None
        assert lookup.message.startswith("No ")


def test_several_candidates_are_ranked_and_said(store):
    lookup = store.find_tool("analysis")
    assert len(lookup.matches) >= 2
    scores = [m.score for m in lookup.matches]
    assert scores == sorted(scores, reverse=True)
    assert "could mean several tools" in lookup.message


def test_a_huge_message_does_not_break_lookup(store):
    lookup = store.find_tool("stakeholder map " + "blah " * 4000)
    assert lookup.query  # answered, whatever it found


def test_normalise_folds_case_punctuation_accents_and_plurals():
    assert normalise("Bullet-Proofing!") == "bullet proofing"
    assert normalise("Café  charts") == "cafe chart"
    assert normalise("analysis process") == "analysis process"
    assert content_words(normalise("we already tried protected time")) == "protected time"
