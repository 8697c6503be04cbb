"""Where Rasa keeps conversations: an SQL tracker store configured from the environment.

``endpoints.yml`` cannot say ``${DATABASE_URL}``: Rasa 3.6 refuses to start when such a
variable is unset. This class reads the environment itself, so the same ``endpoints.yml``
works with nothing set (an SQLite file, ``var/conversations.db``) and in production
(``TRACKER_DATABASE_URL``, else ``DATABASE_URL``, e.g. PostgreSQL shared by several servers).
Conversations therefore survive a restart of the Rasa server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url

from knowledge.db import PROJECT_ROOT

DEFAULT_SQLITE = PROJECT_ROOT / "var" / "conversations.db"


def conversations_url() -> str:
    url = (os.environ.get("TRACKER_DATABASE_URL") or os.environ.get("DATABASE_URL") or "").strip()
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


class ConfiguredSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` on the database the environment names (SQLite by default)."""

    def __init__(self, domain: Any = None, host: str | None = None, event_broker: Any = None, **kwargs: Any):
        url = conversations_url()
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
