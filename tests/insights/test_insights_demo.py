"""The demonstration data set: the same for a seed, made up (ids ``demo-...``), in a database of
its own, strategies suggested only for barriers they are linked to, and enough texture to show
every rule of the page (suppression included)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from knowledge.repository import KnowledgeStore
from qi_coach.followup import ANSWERED, CANCELLED, FAILED, SCHEDULED, SENDING, SENT
from qi_coach.insights.demo import demo_engine
from qi_coach.insights.figures import SECONDARY, SMALL, Period, compute
from qi_coach.records import Checkin, Commitment, ConfirmedBarrier, StrategySuggestion

DAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo():
    return demo_engine(today=DAY)


def rows(engine, table) -> list[tuple]:
    columns = [c for c in table.__table__.columns if c.name != "id"]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(table.id))]


def test_the_same_seed_makes_the_same_data_and_another_seed_other_data(demo):
    again = demo_engine(today=DAY)
    other = demo_engine(seed=99, today=DAY)
    for table in (ConfirmedBarrier, StrategySuggestion, Commitment, Checkin):
        assert rows(demo, table) == rows(again, table)
        assert rows(demo, table) != rows(other, table)


def test_it_lives_in_memory_with_made_up_ids_over_the_year_before_today(demo):
    assert demo.url.get_backend_name() == "sqlite" and demo.url.database in (None, "", ":memory:")
    for table in (ConfirmedBarrier, StrategySuggestion, Commitment, Checkin):
        with demo.connect() as conn:
            ids = set(conn.execute(select(table.conversation_id)).scalars())
        assert ids and all(i.startswith("demo-") for i in ids)
    with demo.connect() as conn:
        conversations = len(set(conn.execute(select(ConfirmedBarrier.conversation_id)).scalars()))
        when = [w.date() for w in conn.execute(select(ConfirmedBarrier.confirmed_at)).scalars()]
        obstacles = set(conn.execute(select(Commitment.obstacle)).scalars())
    assert conversations == 400 and obstacles == {None}  # nobody's words, not even made-up ones
    assert date(2025, 7, 1) <= min(when) and max(when) <= DAY
    assert len({(w.year, w.month) for w in when}) >= 12


def test_strategies_are_suggested_for_barriers_they_are_linked_to_and_chosen_from_those_shown(demo):
    store = KnowledgeStore(demo)
    linked = {}
    with demo.connect() as conn:
        suggested = conn.execute(select(StrategySuggestion.conversation_id, StrategySuggestion.strategy_id,
                                        StrategySuggestion.barrier_id)).all()
        confirmed = set(conn.execute(select(ConfirmedBarrier.conversation_id, ConfirmedBarrier.barrier_id)).all())
        chosen = conn.execute(select(Commitment.conversation_id, Commitment.strategy_id)).all()
    for conversation, strategy, barrier in suggested:
        if barrier not in linked:
            linked[barrier] = {r.strategy_id for r in store.recommend({barrier: 1.0}, limit=None)}
        assert strategy in linked[barrier] and (conversation, barrier) in confirmed
    shown = {(c, s) for c, s, _ in suggested}
    assert chosen and all(pick in shown for pick in chosen)


def test_it_has_what_the_page_shows(demo):
    with demo.connect() as conn:
        states = set(conn.execute(select(Checkin.state)).scalars())
        progress = set(conn.execute(select(Commitment.progress)).scalars())
        levels = [lv for lv in conn.execute(select(ConfirmedBarrier.levels)).scalars()]
    assert states == {SCHEDULED, SENDING, SENT, ANSWERED, CANCELLED, FAILED}
    assert progress == {"done", "partly", "not_started", None}
    assert None in levels and [] in levels and any(len(lv or []) > 1 for lv in levels)
    shown = compute(demo, Period.last_year(DAY), synthetic=True)
    cells = [c for t in shown.tables.values() for r in t.rows for c in r.cells]
    assert any(c.hidden == SMALL for c in cells) and any(c.hidden == SECONDARY for c in cells)
    pairs = shown.tables["barrier_pairs"]
    top = max(pairs.rows, key=lambda r: r.cells[0].value or 0)
    assert {top.keys[0], top.keys[2]} == {"time_pressure", "resources"}  # they come together most
    rare = shown.tables["barriers_by_month"].cell("incentives_recognition", "total")
    assert rare.hidden == SMALL or (rare.value or 0) < 10
