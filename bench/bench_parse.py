"""Benchmark how fast the trained model reads one message, and what it costs (not a test).

    make bench          # this and the knowledge-store benchmark
    .venv/bin/python bench/bench_parse.py --model models/qi-coach.tar.gz --repeats 3

One user, one message at a time, as in a conversation: every text of the frozen real-language
test set (real people's wording, long and short) is parsed in turn through Rasa's own
``Agent.parse_message``, after a warm-up. Reports the median and p95 latency, the resident
memory of the process with the model loaded (the Rasa server holds the same graph), and the
model archive's size. Targets (issue 12): median <= 150 ms; archive <= 150 MB; Rasa server
resident memory <= 1.8 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qi_coach.evaluation import corpus  # noqa: E402
from qi_coach.paths import PROJECT_ROOT  # noqa: E402

TARGET_MEDIAN_MS = 150
TARGET_ARCHIVE_MB = 150
TARGET_RSS_GB = 1.8


def resident_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(PROJECT_ROOT / "models" / "qi-coach.tar.gz"))
    parser.add_argument("--repeats", type=int, default=2, help="passes over the test texts")
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    texts = [item.text for item in corpus.test_items()]
    with contextlib.redirect_stdout(sys.stderr):
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
        started = time.monotonic()
        agent = Agent.load(args.model)
        loaded = time.monotonic() - started
    loop = asyncio.new_event_loop()
    for text in texts[:10]:  # warm-up: first calls build caches
        loop.run_until_complete(agent.parse_message(text))
    samples = []
    for _ in range(args.repeats):
        for text in texts:
            t0 = time.perf_counter()
            loop.run_until_complete(agent.parse_message(text))
            samples.append(time.perf_counter() - t0)
    ms = sorted(s * 1000 for s in samples)
    median, p95 = statistics.median(ms), statistics.quantiles(ms, n=100)[94]
    archive_mb = Path(args.model).stat().st_size / 1e6
    rss = resident_mb()
    words = statistics.median(len(t.split()) for t in texts)
    print(f"parse one message (real-language test set, median {words:.0f} words, n={len(ms)}): "
          f"median {median:.0f} ms, p95 {p95:.0f} ms   [target: median <= {TARGET_MEDIAN_MS} ms]")
    print(f"model load {loaded:.1f} s; archive {archive_mb:.1f} MB [target <= {TARGET_ARCHIVE_MB} MB]; "
          f"resident memory with the model loaded {rss:.0f} MB [target <= {TARGET_RSS_GB * 1024:.0f} MB]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
