"""Bad content is refused with a message naming the file, the item and the field."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from knowledge.validate import ContentError, check_content

CE = "knowledge/content/strategies/clinical_engagement.yml"


def first(data, key):
    return data[key][0]


def _set(key, field, value):
    def change(data):
        first(data, key)[field] = value
    return change


def _set_barrier_link(data):
    first(data, "strategies")["barriers"][0]["id"] = "fatigue_of_everything"


def _append(key, field, value):
    def change(data):
        first(data, key)[field].append(value)
    return change


def _delete(key, field):
    def change(data):
        del first(data, key)[field]
    return change


def _duplicate_strategy_from_other_file(data):
    data["strategies"][0]["id"] = "middle_manager_broker"  # defined in management_alignment.yml


def _remove_barrier(data):
    data["barriers"] = [b for b in data["barriers"] if b["id"] != "process_burden"]


def _unknown_barrier(data):
    data["barriers"][0]["id"] = "not_a_barrier"


def _coverage_nowhere(data):
    data["coverage"][0]["items"][0]["covered_by"].append("strategy:wishful_thinking")


def _level_without_strategy(data):
    staff = next(b for b in data["barriers"] if b["id"] == "staff_turnover")
    staff["levels"].append("senior_leader")


def _situation_on_both_sides(data):
    situations = first(data, "strategies")["situations"]
    situations["does_not_fit"].append(situations["fits"][0].upper())


def _situation_of_another_strategy(data):
    data["strategies"][1]["situations"]["fits"].append(data["strategies"][0]["situations"]["fits"][0])


def _drop_level_guide(data):
    data["levels"] = [g for g in data["levels"] if g["id"] != "senior_leader"]


def _tool_named_one_way(data):
    first(data, "strategies")["tools"].append("hierarchical_task_analysis")


def _tool_linked_from_nowhere(data):
    tool = dict(data["tools"][0], id="orphan_tool", name="Orphan tool", aliases=[], related_strategies=[])
    data["tools"].append(tool)


def _alias_of_two_strategies(data):
    data["strategies"][1]["aliases"].append(data["strategies"][0]["aliases"][0].upper())


def _replaces_a_live_strategy(data):
    first(data, "strategies")["replaces"] = [data["strategies"][1]["id"]]


def _coverage_entry_off_the_point(data):
    data["coverage"][0]["items"][0]["terms"] = ["zebra crossing"]


def _seed_without_coverage(data):
    data["coverage"] = [seed for seed in data["coverage"] if seed["seed"] != "seed_003"]


CASES = [
    # (what breaks, file, change, expected message fragments)
    ("level guide missing", "levels.yml", _drop_level_guide,
     ["knowledge/content/levels.yml: level 'senior_leader' has no entry"]),
    ("unknown level guide", "levels.yml", _set("levels", "id", "the_board"),
     ["knowledge/content/levels.yml: level 'the_board', field 'id': 'the_board' is not a level"]),
    ("unknown stage", "barriers.yml", _set("barriers", "stages", ["launch"]),
     ["knowledge/content/barriers.yml: barrier 'time_pressure', field 'stages[0]': value is not a valid enumeration"]),
    ("unknown barrier id", "strategies/clinical_engagement.yml", _set_barrier_link,
     [f"{CE}: strategy 'attractor_pattern', field 'barriers[0]': unknown barrier 'fatigue_of_everything'"]),
    ("unknown tool id", "strategies/clinical_engagement.yml", _append("strategies", "tools", "magic_wand"),
     [f"{CE}: strategy 'attractor_pattern', field 'tools[", "unknown tool 'magic_wand'"]),
    ("dangling related strategy", "tools.yml", _append("tools", "related_strategies", "no_such_strategy"),
     ["knowledge/content/tools.yml: tool 'stakeholder_analysis', field 'related_strategies[",
      "unknown strategy 'no_such_strategy'"]),
    ("unknown source", "strategies/clinical_engagement.yml", _append("strategies", "sources", "smith_2099"),
     [f"{CE}: strategy 'attractor_pattern', field 'sources[", "unknown source 'smith_2099'"]),
    ("empty sources", "strategies/clinical_engagement.yml", _set("strategies", "sources", []),
     [f"{CE}: strategy 'attractor_pattern', field 'sources': ensure this value has at least 1 items"]),
    ("missing sources field", "tools.yml", _delete("tools", "sources"),
     ["knowledge/content/tools.yml: tool 'stakeholder_analysis', field 'sources': field required"]),
    ("missing required field", "strategies/clinical_engagement.yml", _delete("strategies", "why_it_works"),
     [f"{CE}: strategy 'attractor_pattern', field 'why_it_works': field required"]),
    ("duplicate id across files", "strategies/clinical_engagement.yml", _duplicate_strategy_from_other_file,
     ["strategy 'middle_manager_broker', field 'id': duplicate id", "clinical_engagement.yml and",
      "management_alignment.yml"]),
    ("wrong type", "strategies/clinical_engagement.yml", _set("strategies", "steps", "just do it"),
     [f"{CE}: strategy 'attractor_pattern', field 'steps': value is not a valid list"]),
    ("wrong enum value", "strategies/clinical_engagement.yml", _set("strategies", "effort", "tiny"),
     [f"{CE}: strategy 'attractor_pattern', field 'effort': value is not a valid enumeration member"]),
    ("misspelt field", "strategies/clinical_engagement.yml", _set("strategies", "sumary", "typo"),
     [f"{CE}: strategy 'attractor_pattern', field 'sumary': unknown field"]),
    ("too many steps", "strategies/clinical_engagement.yml", _set("strategies", "steps", ["Do a thing."] * 7),
     [f"{CE}: strategy 'attractor_pattern', field 'steps': ensure this value has at most 6 items"]),
    ("situations missing", "strategies/clinical_engagement.yml", _delete("strategies", "situations"),
     [f"{CE}: strategy 'attractor_pattern', field 'situations': field required"]),
    ("too few situations", "strategies/clinical_engagement.yml",
     _set("strategies", "situations", {"fits": ["Only one situation is given here."], "does_not_fit": []}),
     [f"{CE}: strategy 'attractor_pattern', field 'situations.fits': ensure this value has at least 3 items",
      "field 'situations.does_not_fit': ensure this value has at least 1 items"]),
    ("situation too short", "strategies/clinical_engagement.yml",
     _set("strategies", "situations", {"fits": ["No time.", "No time at all.", "No time at all, ever."],
                                       "does_not_fit": ["Plenty of time but no interest in it."]}),
     [f"{CE}: strategy 'attractor_pattern', field 'situations.fits[0]': ensure this value has at least 20"]),
    ("situation fits and does not", "strategies/clinical_engagement.yml", _situation_on_both_sides,
     [f"{CE}: strategy 'attractor_pattern', field 'situations.does_not_fit[", "both fits and does not fit"]),
    ("situation of two strategies", "strategies/clinical_engagement.yml", _situation_of_another_strategy,
     ["field 'situations.fits[", "is already one that strategy 'attractor_pattern' fits"]),
    ("taxonomy barrier missing", "barriers.yml", _remove_barrier,
     ["knowledge/content/barriers.yml: taxonomy barrier 'process_burden' has no entry"]),
    ("barrier outside the taxonomy", "barriers.yml", _unknown_barrier,
     ["knowledge/content/barriers.yml: barrier 'not_a_barrier', field 'id':",
      "'not_a_barrier' is not one of the 13 barrier ids"]),
    ("coverage points nowhere", "coverage.yml", _coverage_nowhere,
     ["knowledge/content/coverage.yml: seed 'seed_000' item", "'strategy:wishful_thinking' points nowhere"]),
    ("level without a strategy", "barriers.yml", _level_without_strategy,
     ["barrier 'staff_turnover', field 'levels': no strategy for this barrier acts at level 'senior_leader'"]),
    ("tool link one way", "strategies/clinical_engagement.yml", _tool_named_one_way,
     ["tool 'hierarchical_task_analysis' does not list this strategy in its related_strategies"]),
    ("tool linked from no strategy", "tools.yml", _tool_linked_from_nowhere,
     ["knowledge/content/tools.yml: tool 'orphan_tool', field 'related_strategies': no strategy links this tool"]),
    ("alias of two strategies", "strategies/clinical_engagement.yml", _alias_of_two_strategies,
     ["field 'aliases[", "already names strategy '"]),
    ("replaces a live strategy", "strategies/clinical_engagement.yml", _replaces_a_live_strategy,
     ["field 'replaces[0]'", "is still a strategy, so it cannot be replaced"]),
    ("coverage entry off the point", "coverage.yml", _coverage_entry_off_the_point,
     ["knowledge/content/coverage.yml: seed 'seed_000' item '", "says none of zebra crossing"]),
    ("seed without coverage", "coverage.yml", _seed_without_coverage,
     ["knowledge/content/coverage.yml: seed 'seed_003' has no section"]),
]


@pytest.mark.parametrize("what, relative, change, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_content_is_refused_with_a_precise_message(content_copy, what, relative, change, expected):
    content_copy.edit(relative, change)
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, f"{what}: {fragment!r} not in\n{message}"


def test_too_few_primary_strategies_for_a_barrier(content_copy):
    kept = 0
    for path in sorted(content_copy.path("strategies").glob("*.yml")):
        def demote(data):
            nonlocal kept
            for s in data["strategies"]:
                for link in s["barriers"]:
                    if link["id"] == "process_burden" and link["strength"] == "primary":
                        if kept < 5:
                            kept += 1
                        else:
                            link["strength"] = "secondary"  # still linked, no longer a first answer
        content_copy.edit(f"strategies/{path.name}", demote)
    assert kept == 5
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    assert ("knowledge/content/barriers.yml: barrier 'process_burden': only 5 strategies address this barrier "
            "first (a primary link); at least 6 are needed") in str(caught.value)


def test_too_few_strategies_and_tools_in_all(content_copy):
    content_copy.edit("tools.yml", lambda data: data.update(tools=data["tools"][:44]))
    content_copy.path("strategies/clinical_engagement.yml").unlink()
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    message = str(caught.value)
    assert "knowledge/content/tools.yml: only 44 tools; the library needs at least 45" in message
    assert "strategies; the library needs at least 75" in message


@pytest.mark.parametrize("raw, expected", [
    ("strategies:\n  - id: x\n    title: [unclosed\n", "malformed YAML (line"),
    ("strategies:\n\t- id: tabbed\n", "malformed YAML (line 2, column 1)"),
    ("", "the file is empty"),
    ("- just\n- a list\n", "expected a top-level 'strategies:' list"),
    ("strategies:\n  - id: dup_key\n    title: One\n    title: Two\n", "malformed YAML (line 4, column 5): duplicate key 'title'"),
    ("strategies: not a list\n", "'strategies' must be a list of items"),
    (b"strategies:\n  - id: caf\xe9\n", "not UTF-8 text"),
])
def test_malformed_files_are_refused(content_copy, raw, expected):
    content_copy.write("strategies/clinical_engagement.yml", raw)
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    assert f"{CE}: {expected}" in str(caught.value)


def test_a_missing_file_is_named(content_copy):
    content_copy.path("tools.yml").unlink()
    with pytest.raises(ContentError, match="knowledge/content/tools.yml: file is missing"):
        check_content(content_copy.root)


def test_every_problem_is_reported_not_just_the_first(content_copy):
    content_copy.edit("strategies/clinical_engagement.yml", _append("strategies", "tools", "magic_wand"))
    content_copy.edit("tools.yml", _append("tools", "related_strategies", "no_such_strategy"))
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    assert len(caught.value.problems) == 2


def test_cli_check_passes_on_shipped_content():
    done = subprocess.run([sys.executable, "-m", "qi_coach.cli", "knowledge", "check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Knowledge content is valid" in done.stdout


def test_cli_check_fails_with_the_message(content_copy):
    content_copy.edit("strategies/clinical_engagement.yml", _append("strategies", "tools", "magic_wand"))
    done = subprocess.run(
        [sys.executable, "-m", "qi_coach.cli", "knowledge", "check", "--content", str(content_copy.root)],
        capture_output=True, text=True)
    assert done.returncode == 1
    assert "unknown tool 'magic_wand'" in done.stderr


def _cli(*args: str, database: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database}
    return subprocess.run([sys.executable, "-m", "qi_coach.cli", *args], capture_output=True, text=True, env=env)


def test_cli_says_when_the_store_was_never_loaded(tmp_path):
    done = _cli("knowledge", "recommend", "time_pressure", database=f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1
    assert "is empty: run `qi-coach knowledge load`" in done.stderr


def test_cli_load_then_recommend_and_refuse_bad_input(tmp_path):
    database = f"sqlite:///{tmp_path / 'kb.db'}"
    assert "Loaded:" in _cli("knowledge", "load", database=database).stdout
    assert "Already up to date:" in _cli("knowledge", "load", database=database).stdout
    done = _cli("knowledge", "recommend", "time_pressure:0.9", "--limit", "1", database=database)
    assert done.returncode == 0 and "First step:" in done.stdout and "Sources:" in done.stdout
    bad = _cli("knowledge", "recommend", "sadness:0.9", database=database)
    assert bad.returncode == 2 and "unknown barrier id 'sadness'" in bad.stderr
    none = _cli("knowledge", "tool", "xyzzy", database=database)
    assert none.returncode == 1 and "No tool in the library matches 'xyzzy'" in none.stdout


def test_an_unknown_top_level_key_is_reported_once(content_copy):
    content_copy.edit("entities.yml", lambda data: data.update(rolez=[]))
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    messages = [str(p) for p in caught.value.problems]
    assert messages == ["knowledge/content/entities.yml: unknown top-level key(s): rolez"]


def test_a_missing_list_in_a_file_of_several_is_named(content_copy):
    content_copy.edit("entities.yml", lambda data: data.pop("settings"))
    with pytest.raises(ContentError) as caught:
        check_content(content_copy.root)
    assert [str(p) for p in caught.value.problems] == [
        "knowledge/content/entities.yml: expected a top-level 'settings:' list"]
