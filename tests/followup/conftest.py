"""The follow-up store on SQLite and on PostgreSQL (a throwaway schema per test), with a clock
the test moves by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qi_coach.followup import FollowUps
from tests.knowledge.conftest import BACKENDS, _make_engine, postgres_admin  # noqa: F401 - fixtures

START = datetime(2026, 12, 7, 10, 30, tzinfo=timezone.utc)  # a Monday


class Clock:
    """A frozen clock: ``now`` moves only when the test says."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _make_engine(request.param, request, tmp_path)


@pytest.fixture
def followups(engine: Engine, clock: Clock) -> FollowUps:
    return FollowUps(engine, clock=clock)
