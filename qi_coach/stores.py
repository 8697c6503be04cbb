"""Where Rasa keeps conversations: an SQL tracker store configured from the environment.

``endpoints.yml`` cannot say ``${DATABASE_URL}``: Rasa 3.6 refuses to start when such a
variable is unset. This class reads the environment itself, so the same ``endpoints.yml``
works with nothing set (an SQLite file, ``var/conversations.db``) and in production
(``TRACKER_DATABASE_URL``, else ``DATABASE_URL``, e.g. PostgreSQL shared by several servers).
Conversations therefore survive a restart of the Rasa server.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

from knowledge.db import configured_url, make_sqlite_folder
from qi_coach.paths import VAR_DIR

DEFAULT_SQLITE = VAR_DIR / "conversations.db"


def conversations_url() -> str:
    return configured_url("TRACKER_DATABASE_URL", "DATABASE_URL", default=DEFAULT_SQLITE)


class ConfiguredSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` on the database the environment names (SQLite by default)."""

    def __init__(self, domain: Any = None, host: str | None = None, event_broker: Any = None, **kwargs: Any):
        url = conversations_url()
        make_sqlite_folder(url)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
