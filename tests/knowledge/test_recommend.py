"""``recommend``: the ranking's behaviour on the cases that matter."""

from __future__ import annotations

import pytest

from knowledge.ranking import STRENGTH_WEIGHT
from knowledge.repository import StoreError


def strengths(store, strategy_id: str) -> dict[str, str]:
    return dict(store.get_strategy(strategy_id).barriers)


def test_one_strong_barrier_gives_strategies_aimed_at_it(store):
    recs = store.recommend({"time_pressure": 0.9}, limit=None)
    assert recs, "every barrier has strategies"
    assert all(r.reasons[0].barrier_id == "time_pressure" for r in recs)
    kinds = [strengths(store, r.strategy_id)["time_pressure"] for r in recs]
    # every primary strategy comes before every secondary one
    assert kinds == sorted(kinds, key=lambda k: k != "primary")
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    assert recs[0].score == pytest.approx(0.9 * STRENGTH_WEIGHT["primary"])


def test_a_strategy_serving_two_of_the_barriers_rises_to_the_top(store):
    # piggy-backing on existing meetings is aimed at both time and process burden
    recs = store.recommend({"time_pressure": 0.8, "process_burden": 0.7}, limit=3)
    top = recs[0]
    assert {r.barrier_id for r in top.reasons} == {"time_pressure", "process_burden"}
    assert top.score == pytest.approx(sum(r.contribution for r in top.reasons))
    assert top.score > 0.8  # more than any strategy serving one barrier could score
    assert "no time" in top.reason_text.lower() or "time" in top.reason_text.lower()


def test_two_secondary_links_can_outrank_one_primary(store):
    alone = store.recommend({"staff_turnover": 0.6}, limit=None)
    both = store.recommend({"staff_turnover": 0.6, "team_working": 0.6}, limit=None)
    shared = [r for r in both if len(r.reasons) == 2]
    assert shared, "some strategy serves both staff turnover and team working"
    assert both[0].score >= alone[0].score
    assert len(both[0].reasons) == 2


def test_confidence_decides_which_barrier_leads(store):
    time_first = store.recommend({"time_pressure": 0.9, "clinical_resistance": 0.2}, limit=1)[0]
    resistance_first = store.recommend({"time_pressure": 0.2, "clinical_resistance": 0.9}, limit=1)[0]
    assert time_first.reasons[0].barrier_id == "time_pressure"
    assert resistance_first.reasons[0].barrier_id == "clinical_resistance"


def test_level_filter_keeps_only_strategies_acting_at_that_level(store):
    unfiltered = store.recommend({"management_support": 0.9}, limit=None)
    board = store.recommend({"management_support": 0.9}, levels=["senior_leader"], limit=None)
    assert board and len(board) < len(unfiltered)
    assert all("senior_leader" in r.levels for r in board)
    dropped = {r.strategy_id for r in unfiltered} - {r.strategy_id for r in board}
    assert all("senior_leader" not in store.get_strategy(s).levels for s in dropped)


def test_excluded_strategies_never_come_back(store):
    first = store.recommend({"clinical_resistance": 0.8}, limit=3)
    tried = [r.strategy_id for r in first]
    second = store.recommend({"clinical_resistance": 0.8}, exclude=tried, limit=3)
    assert not {r.strategy_id for r in second} & set(tried)
    assert len(second) == 3


def test_everything_excluded_gives_nothing(store):
    every = [r.strategy_id for r in store.recommend({"organisational_turbulence": 1.0}, limit=None)]
    assert store.recommend({"organisational_turbulence": 1.0}, exclude=every) == []


def test_ranking_is_deterministic_and_ties_are_broken(store):
    calls = [store.recommend({"resources": 0.5, "skills_and_capacity": 0.5}, limit=None) for _ in range(3)]
    assert calls[0] == calls[1] == calls[2]
    ids = [r.strategy_id for r in calls[0]]
    assert len(ids) == len(set(ids))


def test_accepts_the_classifier_output_format(store):
    as_list = store.recommend([{"id": "data_and_systems", "confidence": 0.7}, {"id": "time_pressure", "confidence": 0.4}])
    as_dict = store.recommend({"data_and_systems": 0.7, "time_pressure": 0.4})
    assert as_list == as_dict


def test_each_recommendation_carries_what_a_reply_needs(store):
    for rec in store.recommend({"team_working": 0.8, "skills_and_capacity": 0.6}, limit=5):
        info = store.get_strategy(rec.strategy_id)
        assert rec.first_step == info.steps[0]
        assert rec.sources and all(s.label and s.citation for s in rec.sources)
        assert rec.evidence_label in {"trial evidence", "evaluation across several sites", "a single case study",
                                      "expert opinion"}
        assert rec.tools == info.tools


def test_nothing_asked_nothing_returned(store):
    assert store.recommend({}) == []
    assert store.recommend({"time_pressure": 0.0}) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"barriers": {"sadness": 0.9}}, "unknown barrier id 'sadness'"),
    ({"barriers": {"time_pressure": 1.5}}, "between 0 and 1"),
    ({"barriers": {"time_pressure": "high"}}, "must be a number"),
    ({"barriers": [{"confidence": 0.4}]}, "each barrier must be"),
    ({"barriers": {"time_pressure": 0.5}, "levels": ["ward"]}, "unknown level"),
    ({"barriers": {"time_pressure": 0.5}, "limit": 0}, "limit must be at least 1"),
])
def test_bad_requests_are_refused_clearly(store, kwargs, message):
    with pytest.raises(StoreError, match=message):
        store.recommend(**kwargs)


def test_one_barrier_is_looked_up_by_id_and_an_unknown_id_is_refused(store):
    barrier = store.get_barrier("staff_turnover")
    assert barrier.id == "staff_turnover" and barrier.in_short and barrier.levels and barrier.sources
    assert [b.id for b in store.barriers(["team_working", "time_pressure"])] == ["time_pressure", "team_working"]
    with pytest.raises(StoreError, match="no barrier has id 'sadness'"):
        store.get_barrier("sadness")


def test_reported_outcomes_reorder_close_strategies_and_are_shown_past_the_minimum(store):
    from knowledge.ranking import MIN_REPORTS, Reports

    first, second = store.recommend({"time_pressure": 0.9}, limit=2)
    reports = {(first.strategy_id, "time_pressure"): Reports(40, 4),
               (second.strategy_id, "time_pressure"): Reports(40, 38)}
    moved = [r.strategy_id for r in store.recommend({"time_pressure": 0.9}, limit=None, reports=reports)]
    assert moved[0] == second.strategy_id and moved.index(first.strategy_id) > 1
    assert store.recommend({"time_pressure": 0.9}, limit=1, reports=reports)[0].reported == "38 of 40 teams who tried this for finding the time said it helped"
    few = {(first.strategy_id, "time_pressure"): Reports(MIN_REPORTS - 1, 0)}
    unmoved = store.recommend({"time_pressure": 0.9}, limit=2, reports=few)
    assert [r.strategy_id for r in unmoved] == [first.strategy_id, second.strategy_id]
    assert unmoved[0].reported is None
