"""The content that ships: valid, complete against the taxonomy and the seeds, and sized as
issue 2 asks. These are contract tests: they fail when someone edits the YAML carelessly."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from knowledge.schema import BARRIER_IDS, Level
from knowledge.validate import check_content

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "barrier-taxonomy.md"


@pytest.fixture(scope="module")
def content():
    return check_content()


def test_shipped_content_passes_every_check(content):
    counts = content.counts()
    assert counts["barriers"] == 13
    assert counts["strategies"] >= 75
    assert counts["tools"] >= 45


def test_barriers_are_exactly_the_taxonomy_in_its_order(content):
    assert [b.id for b in content.barriers] == list(BARRIER_IDS)


@pytest.mark.skipif(not TAXONOMY.exists(), reason="shared/ is not beside this checkout")
def test_taxonomy_file_still_lists_the_ids_we_use():
    listed = re.findall(r"^\| `([a-z_]+)` \| ", TAXONOMY.read_text(), re.M)
    assert [i for i in listed if i not in {lvl.value for lvl in Level}] == list(BARRIER_IDS)


def test_every_barrier_has_six_primary_strategies_and_one_at_each_of_its_levels(content):
    by_barrier = defaultdict(list)
    for s in content.strategies:
        for link in s.barriers:
            by_barrier[link.id].append((s, link.strength.value))
    for barrier in content.barriers:
        assert sum(strength == "primary" for _, strength in by_barrier[barrier.id]) >= 6, barrier.id
        for level in barrier.levels:
            assert any(level in s.levels for s, _ in by_barrier[barrier.id]), (barrier.id, level)


@pytest.mark.skipif(not SEEDS.exists(), reason="shared/ is not beside this checkout")
def test_every_seed_document_is_a_source_under_its_file_name(content):
    seeds = [s for s in content.sources if s.kind.value == "seed"]
    assert sorted(s.file for s in seeds) == sorted(p.name for p in SEEDS.glob("*.txt"))
    for seed in seeds:
        assert seed.title and seed.authors and seed.publisher


def test_coverage_maps_all_five_seeds(content):
    assert {c.seed for c in content.coverage} == {f"seed_00{i}" for i in range(5)}
    kinds = {(c.seed, e.kind) for c in content.coverage for e in c.items}
    for seed in ("seed_000", "seed_002", "seed_004"):
        assert (seed, "barrier") in kinds and (seed, "strategy") in kinds
    assert ("seed_001", "tool") in kinds and ("seed_002", "tool") in kinds


def test_every_coverage_entry_points_to_items_that_say_its_point(content):
    from knowledge.matching import normalise
    from knowledge.validate import item_text

    for seed in content.coverage:
        for entry in seed.items:
            for ref in entry.covered_by:
                text = item_text(content, ref)
                assert text, (seed.seed, entry.name, ref)
                assert any(f" {normalise(t)}" in f" {text}" for t in entry.terms), (seed.seed, entry.name, ref)


#: Works seed 001 lists by title only: we have not read them, so nothing may claim what they say.
TITLE_ONLY = {"aomrc_2010", "kornacki_silversin_2012", "reinertsen_2007", "wmrc_2008", "woodward_2007"}


def test_works_known_only_by_title_are_not_cited_for_advice(content):
    for item in [*content.strategies, *content.tools]:
        assert not TITLE_ONLY & set(item.sources), item.id


def test_trial_evidence_rests_on_a_systematic_review_or_trial(content):
    sources = {s.id: s for s in content.sources}
    for s in content.strategies:
        if s.evidence.value == "trial":
            assert any(re.search(r"systematic review|randomi[sz]ed|Cochrane", sources[src].details or "", re.I)
                       for src in s.sources), s.id


def test_single_cases_are_labelled_as_such(content):
    levels = {s.id: s.evidence.value for s in content.strategies}
    assert "case_study" in levels.values()
    # the HEADS-UP account in seed 002 is one hospital's: strategies resting on it alone are case studies
    for s in content.strategies:
        if set(s.sources) == {"seed_002"} and s.id in {"structured_daily_briefing", "ride_the_new_priority"}:
            assert levels[s.id] == "case_study", s.id


@pytest.mark.parametrize("strategy_id", [
    "attractor_pattern", "opinion_leaders_champions", "co_design_with_clinicians", "adapt_soft_periphery",
    "strategic_selection", "peer_facilitation", "feedback_loops", "whole_team_problem_finding",
    "piggyback_existing_meetings", "middle_manager_broker", "board_time_quality_metrics",
    "qi_in_job_plans_appraisal", "protected_training_time", "one_to_one_conversations",
    "convenient_meeting_times", "patient_stories_and_examples", "regular_progress_updates",
    "well_prepared_plan", "work_with_resisters", "springboard_team",
    # round two (issue 19)
    "involve_patients_as_partners", "stage_scale_up", "evaluate_and_share_results", "identify_early_adopters",
    "build_a_coalition", "purposely_reexamine_implementation", "develop_managers_as_improvement_leaders",
    "reminders_and_job_aids", "revise_professional_roles", "educational_outreach", "in_situ_simulation",
    "change_equipment_and_layout",
])
def test_strategies_the_issue_names_exist(content, strategy_id):
    assert strategy_id in {s.id for s in content.strategies}


@pytest.mark.parametrize("tool_id", [
    "stakeholder_analysis", "bullet_proofing", "working_with_resistance", "active_listening",
    "communication_plan", "driver_diagram", "pdsa_cycle", "process_mapping", "hfmea",
    "hierarchical_task_analysis", "run_chart",
    # round two (issue 19)
    "affinity_diagram", "nominal_group_technique", "sipoc", "spaghetti_diagram", "clinical_audit_cycle",
    "significant_event_analysis", "experience_based_co_design", "swot_pestle", "risk_issue_log", "spread_plan",
    "aim_statement", "model_of_alignment_review",
])
def test_tools_the_issue_names_exist(content, tool_id):
    assert tool_id in {t.id for t in content.tools}


def test_every_tool_is_named_by_some_strategy(content):
    used = {t for s in content.strategies for t in s.tools}
    assert {t.id for t in content.tools} <= used  # force field analysis once was named by none


def test_near_duplicates_are_merged_or_told_apart(content):
    ids = {s.id for s in content.strategies}
    assert "multidisciplinary_project_team" not in ids
    springboard = next(s for s in content.strategies if s.id == "springboard_team")
    assert "multidisciplinary_project_team" in springboard.replaces
    from knowledge.matching import normalise
    owners = defaultdict(set)
    for s in content.strategies:
        for alias in s.aliases:
            owners[normalise(alias)].add(s.id)
    assert owners[normalise("quick wins")] == {"quick_wins"} and owners[normalise("project team")] == {"springboard_team"}


def test_every_source_is_cited(content):
    cited = ({src for s in content.strategies for src in s.sources}
             | {src for t in content.tools for src in t.sources}
             | {src for b in content.barriers for src in b.sources})
    assert {s.id for s in content.sources} - cited == set()


def test_first_steps_are_actionable_sentences(content):
    for s in content.strategies:
        first = s.steps[0]
        assert 20 <= len(first) <= 300, s.id
        assert first[0].isupper(), s.id
