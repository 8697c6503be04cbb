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
    assert counts["strategies"] >= 40
    assert counts["tools"] >= 25


def test_barriers_are_exactly_the_taxonomy_in_its_order(content):
    assert [b.id for b in content.barriers] == list(BARRIER_IDS)


@pytest.mark.skipif(not TAXONOMY.exists(), reason="shared/ is not beside this checkout")
def test_taxonomy_file_still_lists_the_ids_we_use():
    listed = re.findall(r"^\| `([a-z_]+)` \| ", TAXONOMY.read_text(), re.M)
    assert [i for i in listed if i not in {lvl.value for lvl in Level}] == list(BARRIER_IDS)


def test_every_barrier_has_four_strategies_and_one_at_each_of_its_levels(content):
    by_barrier = defaultdict(list)
    for s in content.strategies:
        for link in s.barriers:
            by_barrier[link.id].append(s)
    for barrier in content.barriers:
        assert len(by_barrier[barrier.id]) >= 4, barrier.id
        assert any(link.strength.value == "primary" for s in by_barrier[barrier.id]
                   for link in s.barriers if link.id == barrier.id), barrier.id
        for level in barrier.levels:
            assert any(level in s.levels for s in by_barrier[barrier.id]), (barrier.id, level)


@pytest.mark.skipif(not SEEDS.exists(), reason="shared/ is not beside this checkout")
def test_every_seed_document_is_a_source_under_its_file_name(content):
    seeds = [s for s in content.sources if s.kind.value == "seed"]
    assert sorted(s.file for s in seeds) == sorted(p.name for p in SEEDS.glob("*.txt"))
    for seed in seeds:
        assert seed.title and seed.authors and seed.publisher


def test_coverage_maps_seeds_000_001_002_004(content):
    covered = {c.seed for c in content.coverage}
    assert {"seed_000", "seed_001", "seed_002", "seed_004"} <= covered
    kinds = {(c.seed, e.kind) for c in content.coverage for e in c.items}
    for seed in ("seed_000", "seed_002", "seed_004"):
        assert (seed, "barrier") in kinds and (seed, "strategy") in kinds
    assert ("seed_001", "tool") in kinds and ("seed_002", "tool") in kinds


@pytest.mark.parametrize("strategy_id", [
    "attractor_pattern", "opinion_leaders_champions", "co_design_with_clinicians", "adapt_soft_periphery",
    "strategic_selection", "peer_facilitation", "feedback_loops", "whole_team_problem_finding",
    "piggyback_existing_meetings", "middle_manager_broker", "board_time_quality_metrics",
    "qi_in_job_plans_appraisal", "protected_training_time", "one_to_one_conversations",
    "convenient_meeting_times", "patient_stories_and_examples", "regular_progress_updates",
    "well_prepared_plan", "work_with_resisters", "springboard_team",
])
def test_strategies_the_issue_names_exist(content, strategy_id):
    assert strategy_id in {s.id for s in content.strategies}


@pytest.mark.parametrize("tool_id", [
    "stakeholder_analysis", "bullet_proofing", "working_with_resistance", "active_listening",
    "communication_plan", "driver_diagram", "pdsa_cycle", "process_mapping", "hfmea",
    "hierarchical_task_analysis", "run_chart",
])
def test_tools_the_issue_names_exist(content, tool_id):
    assert tool_id in {t.id for t in content.tools}


def test_every_tool_serves_some_strategy(content):
    used = {t for s in content.strategies for t in s.tools} | {
        t.id for t in content.tools if t.related_strategies}
    assert {t.id for t in content.tools} <= used


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
