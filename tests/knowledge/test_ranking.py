"""The ranking policy on hand-made candidates: no database, every rule visible in the test."""

from __future__ import annotations

import pytest

from knowledge.ranking import Candidate, RankingError, rank


def candidate(sid: str, links: dict[str, str], levels=("front_line",), evidence="evaluation", effort="medium"):
    return Candidate(sid, links, frozenset(levels), evidence, effort)


def order(ranked) -> list[str]:
    return [r.candidate.strategy_id for r in ranked]


def test_the_score_is_weight_times_link_strength_summed_over_the_users_barriers():
    both = candidate("both", {"time_pressure": "secondary", "resources": "secondary"})
    one = candidate("one", {"time_pressure": "primary"})
    ranked = rank([one, both], {"time_pressure": 0.6, "resources": 0.8})
    assert order(ranked) == ["both", "one"]
    assert ranked[0].score == pytest.approx(0.6 * 0.5 + 0.8 * 0.5)
    assert ranked[0].contributions == {"time_pressure": 0.3, "resources": 0.4}
    assert ranked[1].score == pytest.approx(0.6)


def test_ties_go_to_coverage_then_evidence_then_effort_then_id():
    weights = {"time_pressure": 1.0, "resources": 1.0}
    wide = candidate("z_wide", {"time_pressure": "secondary", "resources": "secondary"})
    narrow = candidate("a_narrow", {"time_pressure": "primary"})
    assert order(rank([narrow, wide], weights)) == ["z_wide", "a_narrow"]
    trial = candidate("z_trial", {"time_pressure": "primary"}, evidence="trial")
    opinion = candidate("a_opinion", {"time_pressure": "primary"}, evidence="expert_opinion")
    assert order(rank([opinion, trial], weights)) == ["z_trial", "a_opinion"]
    easy = candidate("z_easy", {"time_pressure": "primary"}, effort="low")
    hard = candidate("a_hard", {"time_pressure": "primary"}, effort="high")
    assert order(rank([hard, easy], weights)) == ["z_easy", "a_hard"]
    assert order(rank([candidate("b", {"time_pressure": "primary"}), candidate("a", {"time_pressure": "primary"})],
                      weights)) == ["a", "b"]


def test_the_users_levels_come_first_and_top_up_fills_from_the_others():
    senior = candidate("senior", {"time_pressure": "primary"}, levels=("senior_leader",))
    front = candidate("front", {"time_pressure": "secondary"}, levels=("front_line",))
    weights = {"time_pressure": 0.9}
    assert order(rank([senior, front], weights)) == ["senior", "front"]  # no levels: by score
    assert order(rank([senior, front], weights, levels=["front_line"])) == ["front"]
    assert order(rank([senior, front], weights, levels=["front_line"], top_up=True)) == ["front", "senior"]
    assert order(rank([senior, front], weights, levels=["front_line"], top_up=True, limit=1)) == ["front"]


def test_excluded_strategies_and_barriers_of_no_weight_count_for_nothing():
    a = candidate("a", {"time_pressure": "primary"})
    b = candidate("b", {"resources": "primary"})
    assert order(rank([a, b], {"time_pressure": 0.5, "resources": 0.4}, exclude={"a"})) == ["b"]
    assert order(rank([a, b], {"time_pressure": 0.5, "resources": 0.0})) == ["a"]


@pytest.mark.parametrize("weights, levels, limit, message", [
    ({"sadness": 0.5}, None, 3, "unknown barrier id"),
    ({"time_pressure": 1.5}, None, 3, "between 0 and 1"),
    ({"time_pressure": "high"}, None, 3, "must be a number"),
    ({"time_pressure": 0.5}, ["the board"], 3, "unknown level"),
    ({"time_pressure": 0.5}, None, 0, "limit"),
])
def test_bad_arguments_are_refused_with_a_clear_message(weights, levels, limit, message):
    with pytest.raises(RankingError, match=message):
        rank([], weights, levels=levels, limit=limit)
