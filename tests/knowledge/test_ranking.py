"""The ranking policy on hand-made candidates: no database, every rule visible in the test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from knowledge.ranking import (
    MIN_REPORTS,
    QUOTE_FROM,
    SITUATION_FLOOR,
    SITUATION_WEIGHT,
    Candidate,
    RankingError,
    Reports,
    Said,
    Situations,
    rank,
)


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


# --- situations: what the person said, against what each strategy fits ------------------------

def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def situated(sid: str, links: dict[str, str], fits: list[np.ndarray], misfits: list[np.ndarray] = ()):
    texts = tuple(f"{sid} fit {i}" for i in range(len(fits)))
    vectors = Situations(texts, np.vstack(fits), np.vstack(misfits) if len(misfits) else np.zeros((0, 3), np.float32))
    return Candidate(sid, links, frozenset({"front_line"}), "evaluation", "medium", vectors)


RETIRING, ROTA, DATA = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)


def said(*pairs: tuple[str, np.ndarray]) -> Said:
    return Said(tuple(text for text, _ in pairs), np.vstack([vector for _, vector in pairs]))


def test_a_strategy_that_fits_what_was_said_outranks_one_that_only_fits_the_label_better():
    general = situated("general", {"staff_turnover": "primary", "clinical_resistance": "primary"}, [ROTA])
    succession = situated("succession", {"staff_turnover": "primary"}, [RETIRING])
    weights = {"staff_turnover": 0.9, "clinical_resistance": 0.6}
    assert order(rank([general, succession], weights)) == ["general", "succession"]  # barrier-only
    heard = said(("The two consultants who backed it retire in March.", unit(0.95, 0.1, 0.05)))
    ranked = rank([general, succession], weights, said=heard)
    assert order(ranked) == ["succession", "general"]
    match = ranked[0].situation
    assert match.sentence == "The two consultants who backed it retire in March."
    assert match.situation == "succession fit 0"
    assert match.quotable
    assert ranked[0].score == pytest.approx(0.9 + SITUATION_WEIGHT * (match.fit - SITUATION_FLOOR), abs=1e-4)


def test_the_gist_of_everything_said_counts_not_one_stray_sentence():
    retiring = situated("retiring", {"staff_turnover": "primary"}, [RETIRING])
    rota = situated("rota", {"staff_turnover": "primary"}, [ROTA])
    heard = said(("The old consultant mentioned retiring once.", RETIRING),
                 ("The F1s rotate every four months and each lot starts over.", unit(0.1, 1, 0)),
                 ("Nobody new stays long enough to finish anything on the rota.", unit(0, 1, 0.2)))
    ranked = rank([retiring, rota], {"staff_turnover": 1.0}, said=heard)
    assert order(ranked) == ["rota", "retiring"]
    assert ranked[1].situation.similarity == pytest.approx(1.0)  # its best pair is perfect, its gist is not
    assert ranked[0].situation.sentence.startswith("The F1s rotate")


def test_only_a_close_pair_in_a_real_sentence_is_quoted_as_the_reason():
    strategy = situated("s", {"time_pressure": "primary"}, [RETIRING])
    close_but_short = rank([strategy], {"time_pressure": 1.0}, said=said(("Retiring, all of them.", RETIRING)))
    assert not close_but_short[0].situation.quotable
    loose = rank([strategy], {"time_pressure": 1.0},
                 said=said(("Our consultants are slowly winding down their hours.", unit(1, 1.6, 0))))
    assert loose[0].situation.similarity < QUOTE_FROM and not loose[0].situation.quotable


def test_a_closer_does_not_fit_situation_takes_the_strategy_down():
    plain = situated("plain", {"time_pressure": "primary"}, [unit(1, 1, 0)])
    misfit = situated("misfit", {"time_pressure": "primary"}, [unit(1, 1, 0)], misfits=[ROTA])
    heard = said(("We already have protected sessions but they get cancelled.", unit(0.3, 1, 0)))
    ranked = rank([misfit, plain], {"time_pressure": 1.0}, said=heard)
    assert order(ranked) == ["plain", "misfit"]
    assert ranked[1].situation.contribution < ranked[0].situation.contribution
    assert ranked[1].situation.against > ranked[1].situation.similarity


def test_only_the_barriers_choose_the_candidates_and_a_faint_match_adds_nothing():
    other = situated("other", {"resources": "primary"}, [RETIRING])
    faint = situated("faint", {"time_pressure": "primary"}, [DATA])
    heard = said(("The consultants are retiring.", RETIRING))
    ranked = rank([other, faint], {"time_pressure": 0.8}, said=heard)
    assert order(ranked) == ["faint"]  # a perfect situation match cannot bring in an unrelated barrier
    assert ranked[0].situation.contribution == 0.0
    assert not ranked[0].situation.quotable
    assert ranked[0].score == pytest.approx(0.8)


def test_without_what_was_said_or_without_situations_the_order_is_the_barrier_order():
    a = situated("a", {"time_pressure": "primary"}, [RETIRING])
    b = candidate("b", {"time_pressure": "primary", "resources": "secondary"})
    weights = {"time_pressure": 0.7, "resources": 0.5}
    heard = said(("The consultants are retiring.", RETIRING))
    assert order(rank([a, b], weights)) == ["b", "a"]
    ranked = rank([a, b], weights, said=heard)
    assert order(ranked) == ["a", "b"]
    assert ranked[1].situation is None  # b has no situations: its barrier score stands


def test_what_was_said_must_have_one_vector_per_sentence():
    with pytest.raises(RankingError):
        Said(("one", "two"), np.vstack([RETIRING]))


# --- reported outcomes ------------------------------------------------------------------------


def reported(c: Candidate, **by_barrier: tuple[int, int]) -> Candidate:
    return replace(c, reports={b: Reports(tried, helped) for b, (tried, helped) in by_barrier.items()})


def test_reports_count_only_past_the_minimum_and_in_the_documented_direction():
    weights = {"time_pressure": 0.8}
    a, b = candidate("a", {"time_pressure": "primary"}), candidate("b", {"time_pressure": "primary"})
    assert order(rank([a, b], weights)) == ["a", "b"]  # a tie, broken by id
    few = MIN_REPORTS - 1
    assert order(rank([reported(a, time_pressure=(few, 0)), reported(b, time_pressure=(few, few))], weights)) == \
        ["a", "b"]  # below the minimum nothing moves, however one-sided
    scored = rank([reported(a, time_pressure=(MIN_REPORTS, 0)), reported(b, time_pressure=(MIN_REPORTS, 5))], weights)
    assert order(scored) == ["b", "a"]  # people said b helped and a did not
    # (helped + 10 x expected) / (tried + 10) - expected, times the barrier's weight
    assert scored[0].outcomes == pytest.approx(0.8 * ((5 + 6) / 15 - 0.6), abs=1e-6)
    assert scored[1].outcomes == pytest.approx(0.8 * ((0 + 6) / 15 - 0.6), abs=1e-6)
    as_expected = rank([reported(a, time_pressure=(10, 6))], weights)[0]
    assert as_expected.outcomes == pytest.approx(0.0, abs=1e-6)  # helped as often as its evidence suggests


def test_a_handful_of_reports_cannot_overturn_the_curated_evidence_but_many_can():
    weights = {"time_pressure": 0.9}
    curated = candidate("curated", {"time_pressure": "primary"}, evidence="trial")
    weaker = candidate("weaker", {"time_pressure": "secondary"}, evidence="expert_opinion")
    handful = rank([reported(curated, time_pressure=(MIN_REPORTS, 0)), reported(weaker, time_pressure=(MIN_REPORTS, 5))],
                   weights)
    assert order(handful) == ["curated", "weaker"]
    many = rank([reported(curated, time_pressure=(60, 3)), reported(weaker, time_pressure=(60, 57))], weights)
    assert order(many) == ["weaker", "curated"]


def test_reports_for_a_barrier_the_user_does_not_have_change_nothing():
    weights = {"time_pressure": 1.0}
    a = reported(candidate("a", {"time_pressure": "primary", "resources": "primary"}), resources=(40, 0))
    assert rank([a], weights)[0].outcomes == 0.0
