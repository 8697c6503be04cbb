"""A synthetic data set to show the insights on: plausible, made up, and kept out of the real
database.

``demo_engine`` makes an in-memory SQLite database holding the curated content (so strategy
titles and the links between barriers and strategies are the real ones) and the records'
tables filled with made-up conversations (ids ``demo-...``) over the twelve months before
``today``: barriers that come together as they do in practice (no time with no resources,
resistant clinicians with imposed change), some organisational levels, strategies suggested
for a barrier from those linked to it, commitments with reported outcomes, and check-ins in
every state. A few barriers are rare enough to fall under the small-cell threshold, so the page
shows its suppression. The same seed and day give the same data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from knowledge.load import load_content
from knowledge.repository import KnowledgeStore
from knowledge.schema import BARRIER_IDS, LEVEL_IDS
from qi_coach.followup import ANSWERED, CANCELLED, FAILED, SCHEDULED, SENDING, SENT
from qi_coach.records import Checkin, Commitment, ConfirmedBarrier, StrategySuggestion, create_tables

PREFIX = "demo-"
SEED = 2024

#: How often each barrier is the one a conversation starts from (relative): time and money
#: lead, as in the seed documents; the last two are rare on purpose (they show suppression).
_WEIGHTS = {
    "time_pressure": 30, "resources": 17, "clinical_resistance": 16, "data_and_systems": 13,
    "management_support": 11, "skills_and_capacity": 9, "team_working": 8, "staff_turnover": 7,
    "ownership_and_fit": 6, "change_fatigue": 5, "process_burden": 4, "organisational_turbulence": 1.2,
    "incentives_recognition": 0.5,
}
#: Barriers that come along with another: (companion, chance).
_COMPANIONS = {
    "time_pressure": (("resources", 0.45), ("process_burden", 0.08)),
    "resources": (("time_pressure", 0.5), ("staff_turnover", 0.1)),
    "clinical_resistance": (("ownership_and_fit", 0.35), ("change_fatigue", 0.18)),
    "management_support": (("resources", 0.25), ("ownership_and_fit", 0.1)),
    "data_and_systems": (("skills_and_capacity", 0.4), ("time_pressure", 0.15)),
    "skills_and_capacity": (("data_and_systems", 0.2),),
    "staff_turnover": (("team_working", 0.3), ("skills_and_capacity", 0.2)),
    "team_working": (("clinical_resistance", 0.2),),
    "change_fatigue": (("time_pressure", 0.25), ("organisational_turbulence", 0.06)),
    "ownership_and_fit": (("clinical_resistance", 0.2),),
}
_LEVEL_WEIGHTS = {"front_line": 0.55, "middle_manager": 0.3, "senior_leader": 0.15}
_LEADERS = {"management_support", "incentives_recognition", "organisational_turbulence"}
_STATES = ((ANSWERED, 0.68), (SENT, 0.15), (CANCELLED, 0.1), (FAILED, 0.05), (SENDING, 0.02))


def demo_engine(seed: int = SEED, conversations: int = 400, today: date | None = None) -> Engine:
    """A new in-memory database with the content and ``conversations`` synthetic ones."""
    engine = create_engine("sqlite://", future=True, poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    load_content(engine, embed=_no_vectors)
    fill(engine, KnowledgeStore(engine), seed=seed, conversations=conversations, today=today)
    return engine


def _no_vectors(texts: Sequence[str]) -> np.ndarray:
    """Situation vectors are for matching what a person said; the demonstration says nothing."""
    return np.zeros((len(texts), 8), dtype=np.float32)


def fill(engine: Engine, store: KnowledgeStore, *, seed: int = SEED, conversations: int = 400,
         today: date | None = None, prefix: str = PREFIX) -> None:
    """Add synthetic records to ``engine`` (tests fill a database of their own with it)."""
    create_tables(engine)
    rng = random.Random(seed)
    today = today or datetime.now(timezone.utc).date()
    now = datetime.combine(today, time(17, 0), tzinfo=timezone.utc)
    first_day = today - timedelta(days=364)
    linked: dict[str, list[tuple[str, str]]] = {
        b: [(r.strategy_id, r.title) for r in store.recommend({b: 1.0}, limit=None)] for b in BARRIER_IDS}
    efficacy = {s: rng.uniform(-1, 1) for options in linked.values() for s, _ in options}
    days = [first_day + timedelta(days=d) for d in range(365)]
    uptake = [0.6 + 0.8 * d / 364 for d in range(365)]  # more teams use the coach as the year goes on

    barriers, suggestions, commitments = [], [], []
    for number in range(1, conversations + 1):
        conversation = f"{prefix}{number:04d}"
        start = datetime.combine(rng.choices(days, uptake)[0], time(8), tzinfo=timezone.utc) + \
            timedelta(minutes=rng.randrange(10 * 60))
        chosen = _barriers(rng, winter=start.month in (12, 1, 2))
        levels = _levels(rng, chosen)
        at = start + timedelta(minutes=3)
        for barrier in chosen:
            barriers.append(_confirmed(rng, conversation, barrier, levels, at))
        if rng.random() < 0.1:  # asked again later: the same barrier confirmed twice, counted once
            again = start + timedelta(days=rng.randint(1, 25))
            if again < now:
                more = sorted(set(levels or []) | {rng.choice(LEVEL_IDS)}, key=LEVEL_IDS.index)
                barriers.append(_confirmed(rng, conversation, chosen[0], more, again))
        shown: list[tuple[str, str, str]] = []
        for barrier in chosen:  # the coach's first few for each barrier, the best-ranked most often
            options = [o for o in linked[barrier][:5] if o[0] not in {s for s, _, _ in shown}]
            for strategy, title in _pick(rng, options, 2 if len(chosen) > 1 else 3):
                shown.append((strategy, title, barrier))
        suggestions += [{"conversation_id": conversation, "strategy_id": s, "barrier_id": b, "rank": rank,
                         "created_at": at + timedelta(minutes=2)} for rank, (s, _, b) in enumerate(shown, 1)]
        if shown and rng.random() < 0.65:
            picked = _pick(rng, shown, rng.choice((1, 1, 2)))
            commitments.append((conversation, at + timedelta(minutes=6), picked))

    with engine.begin() as conn:
        conn.execute(insert(ConfirmedBarrier), barriers)
        conn.execute(insert(StrategySuggestion), suggestions)
        for conversation, made, picked in commitments:
            checkin, answered_at = _checkin(rng, conversation, made, now)
            checkin_id = conn.execute(insert(Checkin).values(**checkin)).inserted_primary_key[0]
            conn.execute(insert(Commitment), [
                {"conversation_id": conversation, "checkin_id": checkin_id, "strategy_id": strategy,
                 "barrier_id": barrier, "title": title, "created_at": made,
                 **(_report(rng, efficacy[strategy], answered_at) if answered_at else {})}
                for strategy, title, barrier in picked])


def _pick(rng: random.Random, items: Sequence[Any], k: int) -> list[Any]:
    """Up to ``k`` of ``items`` without repeats, earlier ones likelier (the first twice the third)."""
    left: list[Any] = list(items)
    picked: list[Any] = []
    while left and len(picked) < k:
        item = rng.choices(left, [1 / (i + 2) for i in range(len(left))])[0]
        left.remove(item)
        picked.append(item)
    return picked


def _barriers(rng: random.Random, winter: bool) -> list[str]:
    weights = {b: w * (1.5 if winter and b == "time_pressure" else 1) for b, w in _WEIGHTS.items()}
    first = rng.choices(list(weights), list(weights.values()))[0]
    chosen = [first]
    for companion, chance in _COMPANIONS.get(first, ()):
        if rng.random() < chance and companion not in chosen:
            chosen.append(companion)
    if rng.random() < 0.15:
        extra = rng.choices(list(weights), list(weights.values()))[0]
        if extra not in chosen:
            chosen.append(extra)
    return chosen


def _levels(rng: random.Random, barriers: list[str]) -> list[str] | None:
    if rng.random() < 0.45:
        return rng.choice((None, []))  # not said (older rows hold no list at all)
    weights = dict(_LEVEL_WEIGHTS)
    if _LEADERS & set(barriers):
        weights.update(middle_manager=0.45, senior_leader=0.35)
    named = {rng.choices(list(weights), list(weights.values()))[0] for _ in range(rng.choice((1, 1, 1, 2)))}
    return sorted(named, key=LEVEL_IDS.index)


def _confirmed(rng: random.Random, conversation: str, barrier: str, levels: list[str] | None,
               at: datetime) -> dict[str, Any]:
    named = rng.random() < 0.12  # the person picked it themselves
    return {"conversation_id": conversation, "barrier_id": barrier, "levels": levels, "confirmed_at": at,
            "confidence": None if named else round(rng.uniform(0.55, 0.98), 2), "corrected": named,
            "origin": "user" if named else rng.choice(("classifier", "triage"))}


def _checkin(rng: random.Random, conversation: str, made: datetime, now: datetime
             ) -> tuple[dict[str, Any], datetime | None]:
    due = made + timedelta(days=rng.choice((7, 14, 14, 21, 28)))
    state = SCHEDULED if due > now else rng.choices([s for s, _ in _STATES], [w for _, w in _STATES])[0]
    sent_at = due + timedelta(minutes=rng.randrange(1, 30)) if state in (SENT, ANSWERED) else None
    answered_at = sent_at + timedelta(hours=rng.randint(1, 72)) if state == ANSWERED and sent_at else None
    if answered_at and answered_at > now:
        state, answered_at = SENT, None
    return ({"conversation_id": conversation, "channel": "webchat", "reply_to": {}, "due_at": due, "state": state,
             "attempts": 0 if state == SCHEDULED else 1, "sent_at": sent_at, "answered_at": answered_at,
             "created_at": made}, answered_at)


def _report(rng: random.Random, efficacy: float, answered_at: datetime) -> dict[str, Any]:
    progress = rng.choices(("done", "partly", "not_started"), (0.4, 0.35, 0.25))[0]
    helped = None if progress == "not_started" else max(1, min(5, round(rng.gauss(3.4 + efficacy, 1.0))))
    return {"progress": progress, "helped": helped, "reported_at": answered_at}
