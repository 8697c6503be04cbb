"""What several Rasa servers must share outside the database: one owner for where it lives.

Redis (``QI_COACH_REDIS_URL``, e.g. ``redis://127.0.0.1:6379/0``) holds the conversation locks
(``qi_coach.locks``), the rate-limit counts (``qi_coach.channels.intake``) and socket.io's rooms
(``qi_coach.channels.webchat``). Unset, one server keeps all three in its own memory, which is
right for one server and wrong for several (see ``docs/deploy.md``).
"""

from __future__ import annotations

import os


def redis_url() -> str | None:
    """The Redis every server shares, or None (one server, everything in memory)."""
    return os.environ.get("QI_COACH_REDIS_URL", "").strip() or None
