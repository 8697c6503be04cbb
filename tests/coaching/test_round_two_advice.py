"""The second round of content reaches people: situations it was written for now get the new
strategies first. Each description here was written apart from the strategies' own situations,
in the way staff tell it; the barriers are what the classifier or the triage would hand over."""

from __future__ import annotations

import pytest

from qi_coach.coaching.plan import build_plan
from qi_coach.coaching.said import heard
from qi_coach.readings import BarrierReading, Origin

CASES = [
    ("a change that worked on one ward and will not spread", {"management_support": 0.7, "ownership_and_fit": 0.6},
     ["It worked really well on our ward: falls halved in six months.",
      "Now the division wants it on the other five wards, but it just isn't taking anywhere else."],
     "stage_scale_up"),
    ("patients never asked", {"ownership_and_fit": 0.8},
     ["We designed the new discharge leaflet entirely among the staff.",
      "No patient or carer was ever asked, and families say it doesn't answer what they actually worry about."],
     "involve_patients_as_partners"),
    ("managers promoted for clinical skill", {"management_support": 0.8},
     ["Our ward managers were promoted because they are excellent nurses.",
      "None of them has had any leadership or improvement training, so they don't know how to back the project."],
     "develop_managers_as_improvement_leaders"),
    ("a merger took the sponsor away", {"organisational_turbulence": 0.8},
     ["We merged with the trust next door in April and the directorate was reorganised.",
      "The new divisional director doesn't even know our project exists and our old sponsor has gone."],
     "reconnect_after_restructure"),
    ("told it is research", {"process_burden": 0.8},
     ["The audit office says improving our catheter care counts as a study, so we'd need a full ethics "
      "application.", "Everyone has given up waiting for the forms to come back."],
     "proportionate_approval"),
    ("results nobody hears about", {"incentives_recognition": 0.7},
     ["We got the sepsis screening rate from 40% to 85% but nobody outside the ward knows.",
      "The team feel their work never gets any credit."],
     "evaluate_and_share_results"),
    ("a protocol never practised", {"team_working": 0.7, "skills_and_capacity": 0.5},
     ["The new major haemorrhage protocol looks fine on paper but nobody has ever practised it together "
      "on the unit."],
     "in_situ_simulation"),
]


@pytest.mark.parametrize("what, barriers, said, expected", CASES, ids=[c[0] for c in CASES])
def test_the_new_strategy_is_among_the_first_three(store, what, barriers, said, expected):
    shown = [r.strategy_id for r in store.recommend(barriers, said=heard(said), limit=3)]
    assert expected in shown, (what, shown)


def test_the_plan_for_a_project_that_worked_on_one_ward_includes_spreading_it(store):
    _, barriers, said, _ = CASES[0]
    readings = [BarrierReading(b, w, Origin.TRIAGE) for b, w in barriers.items()]
    plan = build_plan(store, readings, levels=["front_line"], stage="spreading", said=heard(said))
    chosen = [s["id"] for section in plan["barriers"] for s in section["strategies"]]
    assert "stage_scale_up" in chosen
    spread = next(s for section in plan["barriers"] for s in section["strategies"] if s["id"] == "stage_scale_up")
    assert spread["because_you_said"] in heard(said).sentences  # and it says why, in the person's words


def test_a_strategy_tried_under_its_old_name_is_not_offered_again(store):
    """"We already built a multidisciplinary project team" was recorded under the retired id; the
    merged strategy it now belongs to is left out too."""
    barriers = {"team_working": 0.9}
    assert "springboard_team" in [r.strategy_id for r in store.recommend(barriers, limit=3)]
    again = store.recommend(barriers, exclude=["multidisciplinary_project_team"], limit=None)
    assert "springboard_team" not in [r.strategy_id for r in again]
    assert store.get_strategy("multidisciplinary_project_team").id == "springboard_team"
