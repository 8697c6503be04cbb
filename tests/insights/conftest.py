"""Fixtures for the insights: a database with the content and generated records, on SQLite and on
PostgreSQL (a throwaway schema per test); counts made independently with plain SQL; and the
web chat's insights routes served by a real Sanic server on a free port, in a thread.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sanic import Blueprint, Sanic
from sqlalchemy import DateTime, bindparam, insert, text, update
from sqlalchemy.engine import Connection, Engine

from knowledge.load import load_content
from knowledge.repository import KnowledgeStore
from qi_coach.channels.insights_page import add_insights_routes
from qi_coach.channels.intake import RateLimits
from qi_coach.insights import demo
from qi_coach.insights.figures import Counts, Labels, Period
from qi_coach.records import ActionPlan, Commitment, ConfirmedBarrier, StrategyFeedback, create_tables
from tests.knowledge.conftest import BACKENDS, _make_engine, postgres_admin  # noqa: F401 - fixtures

TODAY = date(2026, 11, 20)
#: A period that cuts the generated year in the middle of months at both ends.
CUT = Period(date(2026, 2, 10), date(2026, 9, 17))
OBSTACLE = "ZEBRA-OBSTACLE-7781 the ward manager Mrs Quill"
PLAN_TEXT = "PLAN-TEXT-PELICAN-4410"
COMMENT = "FEEDBACK-COMMENT-OCELOT-2290"
PREFIX = "conv-SECRET-"
LEAD = "lead-token-for-tests-0123456789abcdef"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def fill_records(engine: Engine, conversations: int = 160, seed: int = 11) -> None:
    """The content, generated records (conversation ids ``conv-SECRET-...``), people's text in
    every column that holds it, and rows on the edges of ``CUT``."""
    load_content(engine, embed=demo._no_vectors)
    create_tables(engine)
    demo.fill(engine, KnowledgeStore(engine), seed=seed, conversations=conversations, today=TODAY, prefix=PREFIX)
    start, end = CUT.bounds
    edge = [  # (conversation, barrier, when, levels)
        (f"{PREFIX}edge-1", "team_working", start, ["front_line"]),  # the first moment: in
        (f"{PREFIX}edge-1", "team_working", start + timedelta(days=40), ["front_line", "senior_leader"]),
        (f"{PREFIX}edge-2", "team_working", end, ["middle_manager"]),  # the first moment after: out
        (f"{PREFIX}edge-3", "team_working", end - timedelta(microseconds=1), None),  # the last moment: in
        (f"{PREFIX}edge-3", "change_fatigue", end - timedelta(hours=1), ["board", "front_line"]),  # an unknown level
        (f"{PREFIX}edge-4", "change_fatigue", start - timedelta(microseconds=1), []),  # just before: out
    ]
    with engine.begin() as conn:
        conn.execute(insert(ConfirmedBarrier), [
            {"conversation_id": c, "barrier_id": b, "confirmed_at": at, "levels": levels, "corrected": False,
             "origin": "classifier", "confidence": 0.8} for c, b, at, levels in edge])
        conn.execute(update(Commitment).values(obstacle=OBSTACLE))
        conn.execute(insert(ActionPlan).values(conversation_id=f"{PREFIX}0001", plan={"note": PLAN_TEXT},
                                               markdown=PLAN_TEXT, created_at=start + timedelta(days=3)))
        conn.execute(insert(StrategyFeedback).values(conversation_id=f"{PREFIX}0002", strategy_ids=["x"],
                                                     useful=True, comment=COMMENT, created_at=start + timedelta(days=3)))


@pytest.fixture(params=BACKENDS)
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with the content and a year of generated records, per test and backend."""
    for engine in _make_engine(request.param, request, tmp_path):
        fill_records(engine)
        yield engine


@pytest.fixture(scope="session")
def sqlite_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The same on SQLite, made once: for tests that only read."""
    for engine in _make_engine("sqlite", None, tmp_path_factory.mktemp("records")):  # SQLite needs no request
        fill_records(engine)
        yield engine


# --- counts made by hand, for the rules of suppression ------------------------------------------

LABELS = Labels({"time_pressure": "No time for the project"},
                {"huddles": "Short daily huddles", "protected_time": "Protect time"})


def counts(**changes) -> Counts:
    """Made-up true counts for a quarter (``changes`` replace fields), small cells included."""
    base = dict(
        period=Period(date(2026, 1, 1), date(2026, 3, 31)), conversations=40, chose=12,
        totals={"time_pressure": 23, "resources": 6, "staff_turnover": 3},
        by_month={"time_pressure": {"2026-01": 12, "2026-02": 8, "2026-03": 3}, "resources": {"2026-01": 1,
                  "2026-03": 5}, "staff_turnover": {"2026-02": 3}},
        by_level={"time_pressure": {"front_line": 10, "middle_manager": 6, "not_said": 9},
                  "resources": {"not_said": 6}, "staff_turnover": {"senior_leader": 3}},
        pairs={("time_pressure", "resources"): 4, ("time_pressure", "staff_turnover"): 0},
        strategies={"huddles": {"suggested": 30, "chosen": 9, "tried": 7, "helped": 5},
                    "protected_time": {"suggested": 12, "chosen": 6, "tried": 6, "helped": 2}},
        checkins={"sent": (4, 4), "answered": (9, 9), "cancelled": (2, 2)},
        checkin_conversations=15, completion_conversations=13)
    base.update(changes)
    return Counts(**base)


# --- the same figures, counted independently -------------------------------------------------

LEVELS = ("front_line", "middle_manager", "senior_leader")


@dataclass
class Expected:
    """Counts made with plain SQL, keyed as the figures' tables are: (row id, column id)."""

    cells: dict[str, dict[tuple[str, str], float]]
    behind: dict[tuple[str, str], int]  # check-ins: the conversations behind a cell
    conversations: int
    chose: int


def _sql(conn: Connection, statement: str, period: Period) -> list:
    start, end = period.bounds
    query = text(statement).bindparams(bindparam("a", start, type_=DateTime(timezone=True)),
                                       bindparam("b", end, type_=DateTime(timezone=True)))
    return conn.execute(query).all()


def independent_counts(engine: Engine, period: Period) -> Expected:
    postgres = engine.dialect.name == "postgresql"
    month = "to_char(MIN(confirmed_at) AT TIME ZONE 'UTC', 'YYYY-MM')" if postgres \
        else "strftime('%Y-%m', MIN(confirmed_at))"
    named = ("FROM confirmed_barriers cb CROSS JOIN LATERAL json_array_elements_text(CASE WHEN "
             "json_typeof(cb.levels) = 'array' THEN cb.levels ELSE '[]'::json END) AS je(value)") if postgres \
        else "FROM confirmed_barriers cb, json_each(cb.levels) je"
    in_period = "confirmed_at >= :a AND confirmed_at < :b"
    levels = "('front_line', 'middle_manager', 'senior_leader')"
    cells: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    behind: dict[tuple[str, str], int] = {}
    with engine.connect() as conn:
        for barrier, m, n in _sql(conn, f"SELECT barrier_id, m, COUNT(*) FROM (SELECT conversation_id, barrier_id, "
                                        f"{month} AS m FROM confirmed_barriers WHERE {in_period} "
                                        "GROUP BY conversation_id, barrier_id) t GROUP BY barrier_id, m", period):
            cells["barriers_by_month"][barrier, m] = n
        totals = dict(_sql(conn, "SELECT barrier_id, COUNT(DISTINCT conversation_id) FROM confirmed_barriers "
                                 f"WHERE {in_period} GROUP BY barrier_id", period))
        for barrier, n in totals.items():
            cells["barriers_by_month"][barrier, "total"] = cells["barriers_by_level"][barrier, "total"] = n
        for barrier, level, n in _sql(conn, f"SELECT cb.barrier_id, je.value, COUNT(DISTINCT cb.conversation_id) "
                                            f"{named} WHERE cb.{in_period} AND je.value IN {levels} "
                                            "GROUP BY cb.barrier_id, je.value", period):
            cells["barriers_by_level"][barrier, level] = n
        said = dict(_sql(conn, f"SELECT cb.barrier_id, COUNT(DISTINCT cb.conversation_id) {named} "
                               f"WHERE cb.{in_period} AND je.value IN {levels} GROUP BY cb.barrier_id", period))
        for barrier, n in totals.items():
            cells["barriers_by_level"][barrier, "not_said"] = n - said.get(barrier, 0)
        for a, b, n in _sql(conn, "SELECT x.barrier_id, y.barrier_id, COUNT(DISTINCT x.conversation_id) "
                                  "FROM confirmed_barriers x JOIN confirmed_barriers y ON x.conversation_id = "
                                  "y.conversation_id AND x.barrier_id < y.barrier_id WHERE x.confirmed_at >= :a AND "
                                  "x.confirmed_at < :b AND y.confirmed_at >= :a AND y.confirmed_at < :b "
                                  "GROUP BY x.barrier_id, y.barrier_id", period):
            cells["barrier_pairs"][",".join(sorted((a, b))), "conversations"] = n
        made = "FROM commitments WHERE created_at >= :a AND created_at < :b"
        for measure, statement in (
                ("suggested", "FROM strategy_suggestions WHERE created_at >= :a AND created_at < :b"),
                ("chosen", made), ("tried", f"{made} AND progress IN ('done', 'partly')"),
                ("helped", f"{made} AND progress IN ('done', 'partly') AND helped >= 4")):
            for strategy, n in _sql(conn, f"SELECT strategy_id, COUNT(DISTINCT conversation_id) {statement} "
                                          "GROUP BY strategy_id", period):
                cells["strategies"][strategy, measure] = n
        due = "FROM checkins WHERE due_at >= :a AND due_at < :b"
        for state, n, people in _sql(conn, f"SELECT state, COUNT(*), COUNT(DISTINCT conversation_id) {due} "
                                           "GROUP BY state", period):
            cells["checkins"]["checkins_due", state] = n
            behind["checkins_due", state] = people
        [(n, people)] = _sql(conn, f"SELECT COUNT(*), COUNT(DISTINCT conversation_id) {due}", period)
        cells["checkins"]["checkins_due", "due"], behind["checkins_due", "due"] = n, people
        [(people,)] = _sql(conn, f"SELECT COUNT(DISTINCT conversation_id) {due} AND state IN ('sent', 'answered')",
                           period)
        behind["checkins_due", "completion_rate"] = people
        [(conversations,)] = _sql(conn, f"SELECT COUNT(DISTINCT conversation_id) FROM confirmed_barriers "
                                        f"WHERE {in_period}", period)
        [(chose,)] = _sql(conn, f"SELECT COUNT(DISTINCT conversation_id) {made}", period)
    return Expected(dict(cells), behind, conversations, chose)


# --- a real server for the page --------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Served:
    """The insights routes on a Sanic app of their own, mounted where the web chat's are, and
    again under ``/limited`` with a rate limit of 3 a minute. One app per test session: Sanic
    21.12 rewrites its protocol class when a server starts, and cannot do it twice."""

    def __init__(self, engine: Engine | None):
        self.app = Sanic(f"insights{uuid.uuid4().hex[:12]}")
        for name, prefix, rate in (("insights_test", "/webhooks/webchat", "1000/minute"),
                                   ("insights_limited", "/limited/webhooks/webchat", "3/minute")):
            blueprint = Blueprint(name, url_prefix=prefix)
            add_insights_routes(blueprint, engine=engine, today=lambda: TODAY,
                                rate_limits=RateLimits(rate, "10000/minute", storage_url="memory://"))
            self.app.blueprint(blueprint)
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]

        async def boot():
            server = await self.app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
            await server.startup()
            await server.start_serving()
            return server

        self.server = self.loop.run_until_complete(boot())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            return Reply(answer.status, answer.headers, answer.read())
        finally:
            conn.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.server.close()
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.close()


@pytest.fixture
def lead_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("QI_COACH_LEAD_TOKEN", LEAD)
    return LEAD


@pytest.fixture(scope="session")
def served(sqlite_records: Engine) -> Iterator[Served]:
    server = Served(sqlite_records)
    yield server
    server.stop()
