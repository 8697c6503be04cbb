"""Benchmark what redaction costs per message (not a test).

    make bench          # this with the others
    .venv/bin/python bench/bench_redaction.py --repeats 5

Every message passes through ``qi_coach.redaction.redact`` before anything else sees it. This
times it on the frozen real-language test set (real people's wording, long and short, almost
all with nothing to remove) and on the same texts with an NHS number, a phone number, an email
address, a postcode, a date of birth and a name pasted into each. Reports the median, p95 and
worst time per message, and the cost per 1,000 characters. Target (issue 15): median under
2 ms a message, so the parse (about 35 ms) stays the larger cost by far.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qi_coach.evaluation import corpus  # noqa: E402
from qi_coach.redaction import redact  # noqa: E402

TARGET_MEDIAN_MS = 2.0
PASTED = " Mrs Patel, NHS 943 476 5919, DOB 03/04/1951, LS1 4AP, 07700 900123, jo.bloggs@nhs.net."


def timings(texts: list[str], repeats: int) -> list[float]:
    found = []
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            redact(text)
            found.append((time.perf_counter() - started) * 1000)
    return found


def describe(name: str, texts: list[str], ms: list[float]) -> str:
    ordered = sorted(ms)
    chars = sum(len(t) for t in texts) * (len(ms) // len(texts))
    return (f"{name:<28} {len(texts):>4} messages  median {statistics.median(ms):6.3f} ms  "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1]:6.3f} ms  worst {ordered[-1]:6.3f} ms  "
            f"{sum(ms) / chars * 1000:6.3f} ms per 1,000 characters")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="passes over the texts")
    args = parser.parse_args()
    texts = [item.text for item in corpus.test_items()]
    pasted = [text + PASTED for text in texts]
    timings(texts[:20], 1)  # warm-up: the phone-number metadata loads on first use
    plain, with_details = timings(texts, args.repeats), timings(pasted, args.repeats)
    print("Redaction per message (qi_coach.redaction.redact), real-language test set")
    print(describe("as written", texts, plain))
    print(describe("with six details pasted in", pasted, with_details))
    median = statistics.median(with_details)
    verdict = "met" if median <= TARGET_MEDIAN_MS else "MISSED"
    print(f"Target: median <= {TARGET_MEDIAN_MS} ms with details pasted in: {verdict} ({median:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
