"""Where the database is: engines and sessions, created lazily from the environment.

The default is an SQLite file in ``var/`` (git-ignored, beside Rasa's ``data/`` but not in
it), so one machine needs no set-up. ``DATABASE_URL`` selects another database, PostgreSQL
in production. Nothing connects at import time.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from qi_coach.paths import VAR_DIR

DEFAULT_SQLITE_PATH = VAR_DIR / "qi_coach.db"


def utcnow() -> datetime:
    """Now, in UTC: the default of every table's timestamp column."""
    return datetime.now(timezone.utc)


def database_url() -> str:
    """The configured database: ``DATABASE_URL``, else the project's SQLite file."""
    return configured_url("DATABASE_URL", default=DEFAULT_SQLITE_PATH)


def configured_url(*variables: str, default: Path) -> str:
    """The first of the environment ``variables`` that is set (as SQLAlchemy wants it), else
    an SQLite file at ``default``."""
    url = next((value.strip() for name in variables if (value := os.environ.get(name, "")).strip()), "")
    if not url:
        return f"sqlite:///{default}"
    # Heroku-style URLs say postgres://, which SQLAlchemy no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def make_sqlite_folder(url: str) -> None:
    """Create the folder an SQLite file will live in (SQLite makes the file, not the folder)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine_for(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``url`` with the settings this project relies on.

    Args:
        url: an SQLAlchemy database URL.
        schema: PostgreSQL only: the schema to work in (tests use a throwaway one).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        make_sqlite_folder(url)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers go on during a reload.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@cache
def default_engine() -> Engine:
    """The process's engine for the configured database (made on first use)."""
    return create_engine_for(database_url())


class TablesOnFirstUse:
    """Base of a store that owns tables in the shared database: ``engine`` is the one given,
    else the configured database, with ``make_tables`` run on it once, on first use."""

    def __init__(self, engine: Engine | None = None):
        self._engine = engine
        self._tables_made = False

    def make_tables(self, engine: Engine) -> None:
        raise NotImplementedError

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = default_engine()
        if not self._tables_made:
            self.make_tables(self._engine)
            self._tables_made = True
        return self._engine
