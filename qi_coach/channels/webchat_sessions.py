"""Web chat sessions: server-issued tokens that expire, can be revoked, and survive a key change.

A token is ``<session id>.<key id>.<signature>``: an HMAC of the session id under one of the
server's keys. The signature proves the server issued the id; the ``webchat_sessions`` table
(in the project's database, so every server behind a load balancer sees it) says whether the
session is still open:

- it expires after ``IDLE`` without a message (default 12 hours; ``QI_COACH_WEBCHAT_IDLE_HOURS``)
  and ``MAX_AGE`` after it began (default 7 days; ``QI_COACH_WEBCHAT_MAX_DAYS``), so on a shared
  ward computer the next person does not find the last person's conversation;
- "Start a new conversation" and "Delete my data" revoke it on the server, not only in the page.
- a session whose person asked for a check-in stays open until ``KEPT_AFTER_CHECKIN`` after the
  check-in's day, so the check-in is waiting for them on this device (the reply that schedules
  it says so); "Start a new conversation" still ends it at once, and cancels its check-ins.

Keys: ``QI_COACH_WEBCHAT_SECRET`` signs (else one made once, kept in ``var/webchat-secret`` with
mode 600); ``QI_COACH_WEBCHAT_PREVIOUS_SECRETS`` (comma-separated) are still accepted, and a
session signed with one gets a token under the current key when it next connects. So a key is
rotated by moving it to the previous list and setting a new one: nobody is logged out at once.
A key shorter than 32 bytes is refused at start, with a message that says how to make one.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, String, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

from knowledge.db import TablesOnFirstUse
from qi_coach.paths import VAR_DIR

SECRET_FILE = VAR_DIR / "webchat-secret"
SESSION_PREFIX = "web-"
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 200
#: ``last_seen_at`` is written at most this often, not on every message.
TOUCH_EVERY = timedelta(minutes=1)
#: How long after a check-in's day its web chat session stays open for the person to answer it.
KEPT_AFTER_CHECKIN = timedelta(days=7)

Base: Any = declarative_base()


class SecretError(ValueError):
    """A web chat key that would make sessions forgeable."""


class WebChatSession(Base):
    """One web chat session: when it began, when it was last used, and whether it was revoked."""

    __tablename__ = "webchat_sessions"
    session_id = Column(String(64), primary_key=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    last_seen_at = Column(DateTime(timezone=True), nullable=False)
    revoked_at = Column(DateTime(timezone=True))


def _hours(variable: str, default: float) -> timedelta:
    try:
        value = float(os.environ.get(variable) or default)
    except ValueError as error:
        raise ValueError(f"{variable} must be a number of hours (or days), not {os.environ.get(variable)!r}") \
            from error
    return timedelta(hours=value)


def idle_limit() -> timedelta:
    return _hours("QI_COACH_WEBCHAT_IDLE_HOURS", 12)


def max_age() -> timedelta:
    return _hours("QI_COACH_WEBCHAT_MAX_DAYS", 7) * 24


def _checked(secret: str, where: str) -> bytes:
    key = secret.strip().encode()
    if len(key) < MIN_SECRET_BYTES:
        raise SecretError(
            f"{where} is {len(key)} bytes long; the web chat needs a key of at least {MIN_SECRET_BYTES} bytes, or "
            "anyone could forge a session. Make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    return key


def load_keys(path: Path = SECRET_FILE) -> list[bytes]:
    """The signing keys, current first: from the environment, else the kept file (made once)."""
    if "QI_COACH_WEBCHAT_SECRET" in os.environ:  # set but empty is a mistake, not "use the file"
        current = _checked(os.environ["QI_COACH_WEBCHAT_SECRET"], "QI_COACH_WEBCHAT_SECRET")
    else:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        current = _checked(path.read_text(), str(path))
    previous = [_checked(s, "a key in QI_COACH_WEBCHAT_PREVIOUS_SECRETS")
                for s in os.environ.get("QI_COACH_WEBCHAT_PREVIOUS_SECRETS", "").split(",") if s.strip()]
    return [current, *previous]


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"qi-coach-webchat-key:" + key).hexdigest()[:8]


class SessionSigner:
    """Issues session ids and checks the tokens that carry them (no database: a forged token is
    refused before anything is looked up)."""

    def __init__(self, keys: bytes | list[bytes]):
        self._keys = {_key_id(k): k for k in ([keys] if isinstance(keys, bytes) else keys)}
        self._current = next(iter(self._keys))

    @staticmethod
    def _signature(key: bytes, session_id: str) -> str:
        digest = hmac.new(key, f"webchat-session:{session_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, session_id: str) -> str:
        """A token for ``session_id`` under the current key."""
        return f"{session_id}.{self._current}.{self._signature(self._keys[self._current], session_id)}"

    def issue(self) -> tuple[str, str]:
        """A new session: ``(session_id, token)``."""
        session_id = SESSION_PREFIX + secrets.token_hex(16)
        return session_id, self.sign(session_id)

    def verify(self, token: Any) -> str | None:
        """The session id a token carries, or None if it is missing, malformed or forged."""
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > MAX_TOKEN_CHARS:
            return None
        session_id, key_id, signature = token.split(".")
        key = self._keys.get(key_id)
        if key is None or not session_id.startswith(SESSION_PREFIX):
            return None
        return session_id if hmac.compare_digest(signature, self._signature(key, session_id)) else None

    def is_current(self, token: str) -> bool:
        return token.split(".")[1] == self._current


class Check(enum.Enum):
    OPEN = "open"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # forged, malformed, or purged


@dataclass(frozen=True)
class Verdict:
    check: Check
    session_id: str | None = None
    token: str | None = None  # the token to use from now on (re-signed after a key change)

    @property
    def open(self) -> bool:
        return self.check is Check.OPEN


class WebChatSessions(TablesOnFirstUse):
    """Sessions in the database, against a clock (tests freeze it)."""

    def __init__(self, signer: SessionSigner | None = None, engine: Engine | None = None,
                 clock: Callable[[], datetime] | None = None, idle: timedelta | None = None,
                 lifetime: timedelta | None = None):
        super().__init__(engine)
        self._signer = signer
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.idle = idle or idle_limit()
        self.lifetime = lifetime or max_age()

    @property
    def signer(self) -> SessionSigner:
        if self._signer is None:
            self._signer = SessionSigner(load_keys())
        return self._signer

    def make_tables(self, engine: Engine) -> None:
        from qi_coach.records import create_tables

        Base.metadata.create_all(engine)
        create_tables(engine)  # the check-ins a session may be kept open for

    def start(self) -> tuple[str, str]:
        """A new open session: ``(session_id, token)``."""
        session_id, token = self.signer.issue()
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(insert(WebChatSession).values(session_id=session_id, created_at=now, last_seen_at=now))
        return session_id, token

    def check(self, token: Any, touch: bool = True) -> Verdict:
        """Whether ``token`` opens a session now; a message on an open session keeps it alive."""
        session_id = self.signer.verify(token)
        if session_id is None:
            return Verdict(Check.UNKNOWN)
        with self.engine.connect() as conn:
            row = conn.execute(select(WebChatSession).where(WebChatSession.session_id == session_id)).first()
        if row is None:
            return Verdict(Check.UNKNOWN)
        now = self.clock()
        if row.revoked_at is not None:
            return Verdict(Check.REVOKED, session_id)
        if ((now - _aware(row.created_at) > self.lifetime or now - _aware(row.last_seen_at) > self.idle)
                and not self._awaits_checkin(session_id, now)):
            return Verdict(Check.EXPIRED, session_id)
        if touch and now - _aware(row.last_seen_at) >= TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(WebChatSession).where(WebChatSession.session_id == session_id)
                             .values(last_seen_at=now))
        fresh = token if self.signer.is_current(token) else self.signer.sign(session_id)
        return Verdict(Check.OPEN, session_id, fresh)

    def _awaits_checkin(self, session_id: str, now: datetime) -> bool:
        """Whether the session has a check-in to come, or one sent less than a week ago and not
        yet answered (``qi_coach.followup``'s open states)."""
        from qi_coach.followup import OPEN_STATES
        from qi_coach.records import Checkin

        with self.engine.connect() as conn:
            return conn.execute(select(Checkin.id).where(
                Checkin.conversation_id == session_id, Checkin.state.in_(OPEN_STATES),
                Checkin.due_at > now - KEPT_AFTER_CHECKIN).limit(1)).first() is not None

    def revoke(self, session_id: str) -> None:
        """End a session; its check-ins are cancelled too, since nobody can open it to answer them."""
        from qi_coach.followup import FollowUps

        with self.engine.begin() as conn:
            conn.execute(update(WebChatSession).where(WebChatSession.session_id == session_id,
                                                      WebChatSession.revoked_at.is_(None))
                         .values(revoked_at=self.clock()))
        FollowUps(self.engine).cancel(session_id)

    def purge(self, before: datetime) -> int:
        """Forget sessions begun before ``before`` (they expired long ago); how many."""
        with self.engine.begin() as conn:
            return conn.execute(delete(WebChatSession).where(WebChatSession.created_at < before)).rowcount


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
