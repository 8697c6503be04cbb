"""Fixtures for the knowledge store: the same tests run on SQLite and on PostgreSQL.

PostgreSQL is the real server named by ``QI_COACH_TEST_POSTGRES_URL`` (the Makefile sets
it to the machine's local server). Each test gets a throwaway schema, dropped afterwards,
so nothing touches data outside it. If the server is unreachable the tests fail, loudly:
deselect them explicitly with ``-m "not postgres"`` on a machine without one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine

from knowledge.db import create_engine_for
from knowledge.load import load_content
from knowledge.repository import KnowledgeStore
from knowledge.validate import CONTENT_DIR

POSTGRES_URL = os.environ.get("QI_COACH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = create_engine_for(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported the same way
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable ({exc.__class__.__name__}); "
                    "start it, set QI_COACH_TEST_POSTGRES_URL, or deselect with -m 'not postgres'")
    yield engine
    engine.dispose()


def _make_engine(backend: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = create_engine_for(f"sqlite:///{folder / 'knowledge.db'}")
        yield engine
        engine.dispose()
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"qi_coach_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    engine = create_engine_for(POSTGRES_URL, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database, per test."""
    yield from _make_engine(request.param, request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeStore]:
    """The shipped content, loaded once per module and backend; read-only tests only."""
    for engine in _make_engine(request.param, request, tmp_path_factory.mktemp("store")):
        load_content(engine)
        yield KnowledgeStore(engine)


class ContentCopy:
    """A copy of the shipped content in a temporary folder, to break on purpose."""

    def __init__(self, root: Path):
        self.root = root  # .../knowledge/content, so messages read "knowledge/content/..."

    def path(self, relative: str) -> Path:
        return self.root / relative

    def edit(self, relative: str, change: Callable[[dict], None]) -> None:
        """Parse a file, let ``change`` mutate the data, write it back."""
        path = self.path(relative)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def write(self, relative: str, raw: str | bytes) -> None:
        path = self.path(relative)
        path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))


@pytest.fixture
def content_copy(tmp_path: Path) -> ContentCopy:
    root = tmp_path / "knowledge" / "content"
    shutil.copytree(CONTENT_DIR, root)
    return ContentCopy(root)
