"""Follow-up: the strategies a person chose to try, the check-in that asks how they went, and
what they reported, kept in the database (never in a process: Rasa's own reminders die with
their server).

A check-in moves through these states::

    scheduled --claim--> sending --delivered--> sent --answered--> answered
        ^                   |                     |
        +---- not delivered (retried with back-off, ``MAX_ATTEMPTS``) or "remind me later"
    any open state --"stop reminding me"--> cancelled;  too many failed attempts --> failed

``claim_due`` is how a check-in is sent once however many scheduler loops run, on however
many machines: each due row is taken by one conditional UPDATE, which only one loop can win;
a claim whose loop died (``STALE_CLAIM``) can be taken again. The reports (``Commitment``
rows with a progress) are what ``knowledge.ranking`` weighs as reported outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Engine

from knowledge.db import TablesOnFirstUse
from knowledge.ranking import Reports
from knowledge.repository import StoreError
from qi_coach.limits import MESSAGE_CHARS
from qi_coach.records import Checkin, Commitment, create_tables

SCHEDULED, SENDING, SENT, ANSWERED, CANCELLED, FAILED = "scheduled", "sending", "sent", "answered", "cancelled", "failed"
OPEN_STATES = (SCHEDULED, SENDING, SENT)
PROGRESS = ("done", "partly", "not_started")
TRIED = ("done", "partly")
HELPED_FROM = 4  # a rating of 4 or 5 out of 5 counts as "said it helped"
MAX_ATTEMPTS = 6
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
STALE_CLAIM = timedelta(minutes=5)
MAX_COMMITMENTS = 6
CHANNELS = ("slack", "teams", "webchat", "rest")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Chosen:
    """A strategy the person chose to try, and the barrier they chose it for."""

    strategy_id: str
    title: str
    barrier_id: str | None = None


@dataclass(frozen=True)
class CommitmentView:
    id: int
    strategy_id: str
    barrier_id: str | None
    title: str
    progress: str | None
    helped: int | None
    obstacle: str | None


@dataclass(frozen=True)
class CheckinView:
    id: int
    conversation_id: str
    channel: str
    reply_to: dict[str, Any]
    due_at: datetime
    state: str
    attempts: int
    sent_at: datetime | None
    commitments: tuple[CommitmentView, ...]

    @property
    def unreported(self) -> list[CommitmentView]:
        return [c for c in self.commitments if c.progress is None]


class FollowUps(TablesOnFirstUse):
    """Commitments, check-ins and reports in the project's database."""

    def __init__(self, engine: Engine | None = None, clock: Callable[[], datetime] = utc_now):
        super().__init__(engine)
        self.clock = clock

    def make_tables(self, engine: Engine) -> None:
        create_tables(engine)

    # --- committing ------------------------------------------------------------------------

    def schedule(self, conversation_id: str, channel: str, reply_to: dict[str, Any], due_at: datetime,
                 chosen: Sequence[Chosen]) -> CheckinView:
        """Keep what the person will try and when to ask about it; the check-in's view."""
        if not conversation_id or not conversation_id.strip():
            raise StoreError("a conversation id is needed to schedule a check-in")
        if channel not in CHANNELS:
            raise StoreError(f"unknown channel '{channel}'; check-ins go through {', '.join(CHANNELS)}")
        unique = list({c.strategy_id: c for c in chosen}.values())
        if not unique:
            raise StoreError("a check-in needs at least one strategy to ask about")
        if len(unique) > MAX_COMMITMENTS:
            raise StoreError(f"at most {MAX_COMMITMENTS} strategies per check-in")
        now = self.clock()
        with self.engine.begin() as conn:
            checkin_id = conn.execute(insert(Checkin).values(
                conversation_id=conversation_id, channel=channel, reply_to=reply_to, due_at=due_at,
                state=SCHEDULED, attempts=0, created_at=now)).inserted_primary_key[0]
            conn.execute(insert(Commitment), [
                {"conversation_id": conversation_id, "checkin_id": checkin_id, "strategy_id": c.strategy_id,
                 "barrier_id": c.barrier_id, "title": c.title, "created_at": now} for c in unique])
        found = self.get(checkin_id)
        assert found is not None
        return found

    # --- sending, once ---------------------------------------------------------------------

    def claim_due(self, worker: str, now: datetime | None = None, limit: int = 20) -> list[CheckinView]:
        """Take the check-ins due by ``now`` for ``worker`` to send: scheduled ones, and ones whose
        claim went stale. Each is taken by one worker only, however many run at once."""
        now = now or self.clock()
        due = or_(and_(Checkin.state == SCHEDULED, Checkin.due_at <= now),
                  and_(Checkin.state == SENDING, Checkin.claimed_at < now - STALE_CLAIM))
        with self.engine.connect() as conn:
            rows = conn.execute(select(Checkin.id, Checkin.state, Checkin.claimed_at).where(due)
                                .order_by(Checkin.due_at, Checkin.id).limit(limit)).all()
        taken = []
        for row in rows:
            same = Checkin.claimed_at.is_(None) if row.claimed_at is None else Checkin.claimed_at == row.claimed_at
            with self.engine.begin() as conn:
                won = conn.execute(update(Checkin).where(Checkin.id == row.id, Checkin.state == row.state, same)
                                   .values(state=SENDING, claimed_by=worker[:80], claimed_at=now)).rowcount
            if won == 1:
                view = self.get(row.id)
                if view is not None:
                    taken.append(view)
        return taken

    def mark_sent(self, checkin_id: int, waiting: list[dict] | None = None) -> None:
        """The check-in reached the person's conversation (``waiting``: replies kept for a channel
        that cannot push, until it asks for them)."""
        with self.engine.begin() as conn:
            conn.execute(update(Checkin).where(Checkin.id == checkin_id, Checkin.state.in_(OPEN_STATES))
                         .values(state=SENT, sent_at=self.clock(), waiting=waiting or None))

    def release(self, checkin_id: int, reason: str) -> str:
        """Sending failed: try again later (back-off), or give up after ``MAX_ATTEMPTS``; the new state."""
        now = self.clock()
        with self.engine.begin() as conn:
            attempts = conn.execute(select(Checkin.attempts).where(Checkin.id == checkin_id)).scalar_one() + 1
            state = FAILED if attempts >= MAX_ATTEMPTS else SCHEDULED
            retry_at = now + RETRY_AFTER[min(attempts - 1, len(RETRY_AFTER) - 1)]
            conn.execute(update(Checkin).where(Checkin.id == checkin_id, Checkin.state == SENDING).values(
                state=state, attempts=attempts, claimed_by=None, claimed_at=None,
                **({"due_at": retry_at} if state == SCHEDULED else {})))
        return state

    def take_waiting(self, conversation_id: str) -> list[dict]:
        """Replies kept for a conversation that could not be pushed to, oldest first; cleared."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(Checkin.id, Checkin.waiting).where(
                Checkin.conversation_id == conversation_id, Checkin.waiting.isnot(None)).order_by(Checkin.id)).all()
            for row in rows:
                conn.execute(update(Checkin).where(Checkin.id == row.id).values(waiting=None))
        return [message for row in rows for message in (row.waiting or [])]

    # --- the check-in itself ---------------------------------------------------------------

    def get(self, checkin_id: int) -> CheckinView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(Checkin).where(Checkin.id == checkin_id)).first()
            if row is None:
                return None
            commitments = conn.execute(select(Commitment).where(Commitment.checkin_id == checkin_id)
                                       .order_by(Commitment.id)).all()
        return CheckinView(row.id, row.conversation_id, row.channel, dict(row.reply_to or {}), _aware(row.due_at),
                           row.state, row.attempts, _aware(row.sent_at) if row.sent_at else None,
                           tuple(CommitmentView(c.id, c.strategy_id, c.barrier_id, c.title, c.progress, c.helped,
                                                c.obstacle) for c in commitments))

    def of_conversation(self, conversation_id: str, states: Iterable[str] = OPEN_STATES) -> list[CheckinView]:
        """The conversation's check-ins in ``states``, soonest first."""
        with self.engine.connect() as conn:
            ids = conn.execute(select(Checkin.id).where(Checkin.conversation_id == conversation_id,
                                                        Checkin.state.in_(list(states)))
                               .order_by(Checkin.due_at, Checkin.id)).scalars().all()
        return [view for view in (self.get(i) for i in ids) if view is not None]

    def report(self, commitment_id: int, progress: str, helped: int | None, obstacle: str | None) -> None:
        """How one strategy went: ``progress`` (done, partly, not_started), ``helped`` 1-5 (None
        when not started), and what got in the way in their words."""
        if progress not in PROGRESS:
            raise StoreError(f"progress must be one of {', '.join(PROGRESS)}, not {progress!r}")
        if helped is not None and not 1 <= helped <= 5:
            raise StoreError(f"helped must be 1 to 5, not {helped!r}")
        with self.engine.begin() as conn:
            conn.execute(update(Commitment).where(Commitment.id == commitment_id).values(
                progress=progress, helped=helped if progress in TRIED else None,
                obstacle=(obstacle or None) and obstacle[:MESSAGE_CHARS], reported_at=self.clock()))

    def mark_answered(self, checkin_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Checkin).where(Checkin.id == checkin_id, Checkin.state.in_(OPEN_STATES))
                         .values(state=ANSWERED, answered_at=self.clock(), waiting=None))

    def snooze(self, checkin_id: int, until: datetime) -> None:
        """"Remind me later": ask again at ``until``."""
        with self.engine.begin() as conn:
            conn.execute(update(Checkin).where(Checkin.id == checkin_id, Checkin.state.in_(OPEN_STATES))
                         .values(state=SCHEDULED, due_at=until, claimed_by=None, claimed_at=None, waiting=None))

    def cancel(self, conversation_id: str) -> int:
        """"Stop reminding me": every open check-in of the conversation; how many."""
        with self.engine.begin() as conn:
            return conn.execute(update(Checkin).where(Checkin.conversation_id == conversation_id,
                                                      Checkin.state.in_(OPEN_STATES))
                                .values(state=CANCELLED, waiting=None)).rowcount

    # --- what the ranking learns -----------------------------------------------------------

    def reports(self, barrier_ids: Iterable[str] = ()) -> dict[tuple[str, str], Reports]:
        """``{(strategy id, barrier id): Reports}`` over every check-in answered (for the given
        barriers, or all)."""
        helped = func.sum(case((Commitment.helped >= HELPED_FROM, 1), else_=0))
        query = (select(Commitment.strategy_id, Commitment.barrier_id, func.count().label("tried"),
                        helped.label("helped"))
                 .where(Commitment.progress.in_(TRIED), Commitment.barrier_id.isnot(None))
                 .group_by(Commitment.strategy_id, Commitment.barrier_id))
        wanted = list(barrier_ids)
        if wanted:
            query = query.where(Commitment.barrier_id.in_(wanted))
        with self.engine.connect() as conn:
            return {(row.strategy_id, row.barrier_id): Reports(int(row.tried), int(row.helped or 0))
                    for row in conn.execute(query)}

    def listing(self, states: Iterable[str] | None = None, limit: int = 200) -> list[CheckinView]:
        """Check-ins for ``qi-coach checkins list``: soonest first."""
        query = select(Checkin.id).order_by(Checkin.due_at, Checkin.id).limit(limit)
        if states is not None:
            query = query.where(Checkin.state.in_(list(states)))
        with self.engine.connect() as conn:
            ids = conn.execute(query).scalars().all()
        return [view for view in (self.get(i) for i in ids) if view is not None]


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
