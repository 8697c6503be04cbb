"""Loading: all or nothing, idempotent, and what users told us survives a reload."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from knowledge import load as load_module
from knowledge import models
from knowledge.load import load_content
from knowledge.repository import KnowledgeStore
from knowledge.validate import ContentError, check_content
from qi_coach import records as records_module
from qi_coach.readings import BarrierReading, Origin
from qi_coach.records import UserRecords


def snapshot(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
            for table in models.CURATED_TABLES
            if table.name not in {"search_terms", "coverage_entries"}  # autoincrement ids
        }


def test_load_serves_exactly_the_content(engine):
    report = load_content(engine)
    content = check_content()
    assert report.changed
    store = KnowledgeStore(engine)
    served = store.counts()
    assert served == {k: content.counts()[k] for k in served}
    assert set(served) == {"barriers", "strategies", "tools", "sources"}
    with engine.connect() as conn:
        links = conn.execute(select(func.count()).select_from(models.StrategyBarrier)).scalar_one()
    assert links == sum(len(s.barriers) for s in content.strategies)


def test_loading_twice_changes_nothing(engine):
    load_content(engine)
    before = snapshot(engine)
    again = load_content(engine)
    assert not again.changed
    forced = load_content(engine, force=True)
    assert forced.changed
    assert snapshot(engine) == before
    with engine.connect() as conn:
        loads = conn.execute(select(func.count()).select_from(models.ContentLoad)).scalar_one()
    assert loads == 2  # the first load and the forced one; the no-op wrote nothing


def test_invalid_content_leaves_the_previous_content_served(engine, content_copy):
    load_content(engine)
    before = snapshot(engine)

    def retitle_and_break(data):
        data["strategies"][0]["title"] = "A title that must never be served"
        data["strategies"][1]["tools"].append("magic_wand")

    content_copy.edit("strategies/clinical_engagement.yml", retitle_and_break)
    with pytest.raises(ContentError):
        load_content(engine, content_copy.root)
    assert snapshot(engine) == before
    assert KnowledgeStore(engine).get_strategy("attractor_pattern").title != "A title that must never be served"


def test_a_failure_while_writing_rolls_everything_back(engine, content_copy, monkeypatch):
    load_content(engine)
    before = snapshot(engine)
    content_copy.edit("strategies/clinical_engagement.yml",
                      lambda data: data["strategies"][0].update(title="Half-loaded title"))
    real_rows = load_module._rows

    def fail_midway(conn, model, rows):
        if model is models.Tool:  # after barriers, sources and strategies were rewritten
            raise RuntimeError("disk full")
        real_rows(conn, model, rows)

    monkeypatch.setattr(load_module, "_rows", fail_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        load_content(engine, content_copy.root)
    assert snapshot(engine) == before


def test_a_changed_content_set_replaces_the_old_one(engine, content_copy):
    load_content(engine)
    content_copy.edit("strategies/clinical_engagement.yml",
                      lambda data: data["strategies"][0].update(title="Draw people in with what they gain"))
    assert load_content(engine, content_copy.root).changed
    assert KnowledgeStore(engine).get_strategy("attractor_pattern").title == "Draw people in with what they gain"


def test_user_records_survive_a_reload(engine):
    load_content(engine)
    records = UserRecords(engine)
    records.confirm_barriers("conv-1", [BarrierReading("time_pressure", 0.91, Origin.CLASSIFIER),
                                        BarrierReading.picked("team_working")])
    records.record_feedback("conv-1", ["piggyback_existing_meetings", "protected_time_for_qi"], useful=True)
    records.save_plan("conv-1", {"barriers": ["time_pressure"]}, "# Plan\n- Use the Tuesday huddle")

    load_content(engine, force=True)

    assert records.confirmed_barriers("conv-1") == ["time_pressure", "team_working"]
    assert records.confirmed_readings("conv-1") == [BarrierReading("time_pressure", 0.91, Origin.CLASSIFIER),
                                                    BarrierReading.picked("team_working")]
    assert records.feedback("conv-1") == [(["piggyback_existing_meetings", "protected_time_for_qi"], True)]
    plan = records.latest_plan("conv-1")
    assert plan is not None and plan.plan == {"barriers": ["time_pressure"]}
    assert records.latest_plan("someone-else") is None


def test_records_refuse_what_they_cannot_store(engine):
    load_content(engine)
    records = UserRecords(engine)
    with pytest.raises(ValueError, match="unknown barrier id"):
        records.confirm_barriers("conv-1", [BarrierReading.from_dict({"id": "sadness", "confidence": 0.5})])
    with pytest.raises(ValueError, match="conversation id"):
        records.record_feedback("  ", ["piggyback_existing_meetings"], useful=False)
    with pytest.raises(ValueError, match="name the strategies"):
        records.record_feedback("conv-1", [], useful=False)


def test_curated_tables_of_an_older_shape_are_rebuilt_and_user_records_kept(engine, monkeypatch):
    monkeypatch.setattr(load_module, "SCHEMA_VERSION", "0")
    load_content(engine)
    UserRecords(engine).record_feedback("conv-old", ["give_time_back"], useful=True)
    monkeypatch.undo()
    report = load_content(engine)
    assert report.changed and report.content_hash.startswith(f"{load_module.SCHEMA_VERSION}:")
    assert KnowledgeStore(engine).get_barrier("time_pressure").in_short == "finding the time"
    assert UserRecords(engine).feedback("conv-old") == [(["give_time_back"], True)]


def test_a_records_table_from_before_readings_kept_their_origin_gains_the_columns_and_keeps_its_rows(engine):
    records_module.create_tables(engine)
    with engine.begin() as conn:  # the table as earlier releases made it, with their rows
        conn.execute(text("ALTER TABLE confirmed_barriers DROP COLUMN origin"))
        conn.execute(text("ALTER TABLE confirmed_barriers DROP COLUMN levels"))
        conn.execute(text("INSERT INTO confirmed_barriers (conversation_id, barrier_id, confidence, corrected, "
                          "confirmed_at) VALUES ('old', 'resources', 0.8, FALSE, CURRENT_TIMESTAMP), "
                          "('old', 'team_working', NULL, TRUE, CURRENT_TIMESTAMP)"))
    records = UserRecords(engine)
    records.confirm_barriers("old", [BarrierReading("time_pressure", 0.7, Origin.TRIAGE)], levels=["front_line"])
    assert records.confirmed_readings("old") == [BarrierReading("resources", 0.8, Origin.CLASSIFIER),
                                                 BarrierReading.picked("team_working"),
                                                 BarrierReading("time_pressure", 0.7, Origin.TRIAGE)]
    with engine.connect() as conn:
        levels = conn.execute(text("SELECT levels FROM confirmed_barriers WHERE conversation_id = 'old' "
                                   "ORDER BY id")).scalars().all()
    newest = levels[2] if isinstance(levels[2], list) else json.loads(levels[2])  # PostgreSQL parses JSON itself
    assert levels[:2] == [None, None] and newest == ["front_line"]



def test_a_server_that_loses_the_race_to_add_the_origin_column_carries_on(engine, monkeypatch):
    records_module.create_tables(engine)  # another server has just added the column...
    real, looks = records_module._has_column, []
    # ...after this one looked and found it missing: its ALTER TABLE fails, and it looks again
    monkeypatch.setattr(records_module, "_has_column",
                        lambda e, t, c: (c != "origin" and real(e, t, c))
                        or (c == "origin" and (looks.append(1) or (len(looks) > 1 and real(e, t, c)))))
    records_module.create_tables(engine)
    assert len(looks) == 2 and real(engine, "confirmed_barriers", "origin")
