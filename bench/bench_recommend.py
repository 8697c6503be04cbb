"""Benchmark the knowledge store's query API on the shipped content (not a test).

    make bench                       # SQLite (a fresh file under var/bench/)
    make bench BENCH_ARGS=--postgres # also the PostgreSQL server of QI_COACH_TEST_POSTGRES_URL

Reports p50/p95/p99 latency of ``recommend`` (the call every strategy reply makes), and of
``find_tool`` and ``find_strategies``. Target: ``recommend`` p50 well under 5 ms.

Then what situation-aware ranking adds to a strategy reply: hearing what the person said
(redacting and embedding their newest message; earlier ones are cached, as in the action
server) and ranking with it, minus the same ``recommend`` without it, paired call by call.
Target: at most 20 ms added at the median. The messages are the synthetic held-out set's
(``tests/eval/heldout.jsonl``), so each reply embeds a message the cache has not seen.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.db import create_engine_for  # noqa: E402
from knowledge.load import load_content  # noqa: E402
from knowledge.repository import KnowledgeStore  # noqa: E402
from knowledge.schema import BARRIER_IDS, Level  # noqa: E402
from qi_coach.coaching import said as said_module  # noqa: E402
from qi_coach.paths import PROJECT_ROOT  # noqa: E402

QUERIES = ["PDSA", "stakeholder map", "what is a driver diagram?", "bulet proofing",
           "we already tried protected time", "champions", "xyzzy", "run charts"]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:6.2f} ms   p95 {q[94]:6.2f} ms   p99 {q[98]:6.2f} ms   (n={len(ms)})"


def run(store: KnowledgeStore, n: int, label: str) -> None:
    rng = random.Random(42)
    levels = [None, *[[lv.value] for lv in Level]]
    requests = []
    for _ in range(n):
        chosen = rng.sample(BARRIER_IDS, rng.choice([1, 1, 2, 2, 3]))
        requests.append(({b: round(rng.uniform(0.4, 1.0), 2) for b in chosen}, rng.choice(levels)))
    for barriers, lv in requests[:50]:  # warm-up: connection pool, statement caches
        store.recommend(barriers, levels=lv)
    timings = []
    for barriers, lv in requests:
        start = time.perf_counter()
        store.recommend(barriers, levels=lv, limit=3)
        timings.append(time.perf_counter() - start)
    print(f"{label:<10} recommend        {percentiles(timings)}")
    for name, fn in (("find_tool", store.find_tool), ("find_strategies", store.find_strategies)):
        samples = []
        for i in range(n // 4):
            start = time.perf_counter()
            fn(QUERIES[i % len(QUERIES)])
            samples.append(time.perf_counter() - start)
        print(f"{label:<10} {name:<16} {percentiles(samples)}")


def run_situations(store: KnowledgeStore, label: str, n: int = 200) -> None:
    """What situation-aware ranking adds to a strategy reply, paired call by call with the
    same ``recommend`` without it: as the action server runs it (the newest message embedded
    in the background when it arrived, while the person read the barriers and confirmed them),
    and cold (nothing embedded ahead: the worst case, e.g. a reply straight after a restart).
    Also the embedding's own time per message, which the background thread spends."""
    messages = [json.loads(line)["text"] for line in (PROJECT_ROOT / "tests" / "eval" / "heldout.jsonl").open()]
    rng = random.Random(7)
    said_module.heard(["warm the encoder up with one sentence here"])
    warm, cold, embedding = [], [], []
    conversation: list[str] = []
    for i in range(min(2 * n, len(messages))):
        conversation = (conversation + [messages[i]])[-6:]
        barriers = {b: round(rng.uniform(0.4, 1.0), 2) for b in rng.sample(BARRIER_IDS, rng.choice([1, 2]))}
        start = time.perf_counter()
        store.recommend(barriers, limit=3, top_up=True)
        plain = time.perf_counter() - start
        if i % 2 == 0:  # as served: the message arrived a turn ago and was prefetched
            start = time.perf_counter()
            future = said_module.prefetch([messages[i]])
            if future is not None:
                future.result()
            embedding.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.recommend(barriers, limit=3, top_up=True, said=said_module.heard(conversation))
        (warm if i % 2 == 0 else cold).append(time.perf_counter() - start - plain)
    print(f"{label:<10} situation added  {percentiles(warm)}   as served (target: p50 <= 20 ms)")
    print(f"{label:<10}   cold           {percentiles(cold)}   nothing embedded ahead")
    print(f"{label:<10}   embedding      {percentiles(embedding)}   per message, in the background")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="recommend calls per backend")
    parser.add_argument("--postgres", action="store_true", help="also benchmark PostgreSQL")
    args = parser.parse_args()

    folder = PROJECT_ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = create_engine_for(f"sqlite:///{db}")
    load_content(engine)
    print("Knowledge store benchmark (shipped content; wall-clock latency per call)")
    run(KnowledgeStore(engine), args.n, "sqlite")
    run_situations(KnowledgeStore(engine), "sqlite")

    if args.postgres:
        url = os.environ.get("QI_COACH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
        schema = f"qi_coach_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine_for(url)
        with admin.begin() as conn:
            conn.execute(text(f'create schema "{schema}"'))
        try:
            pg = create_engine_for(url, schema=schema)
            load_content(pg)
            run(KnowledgeStore(pg), args.n, "postgresql")
            pg.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'drop schema "{schema}" cascade'))


if __name__ == "__main__":
    main()
