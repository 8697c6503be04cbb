"""Multi-label metrics for barrier predictions, in plain Python (easy to check by hand).

A prediction is a list of ``{"id", "confidence"}``; truth is a list of ids. Empty truth means
"describes no barrier".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.schema import BARRIER_IDS

Prediction = Sequence[dict]


def ids(prediction: Prediction) -> set[str]:
    return {p["id"] for p in prediction}


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass
class Scores:
    per_barrier: dict[str, dict[str, float]]  # id -> precision, recall, f1, support
    macro_f1: float
    micro_f1: float
    exact_match: float
    top1_hit: float  # the top barrier is one of the true ones (messages with a barrier)
    no_barrier_accuracy: float  # nothing predicted for messages with no barrier
    n: int
    n_with_barrier: int
    n_without_barrier: int
    # a true barrier is among the three candidates a clarifying question would offer (messages with a barrier)
    top3_recall: float | None = None
    unsure_share: float | None = None  # messages the bot would call "unsure" (it asks instead of answering)


def score(truths: Sequence[Sequence[str]], predictions: Sequence[Prediction],
          candidates: Sequence[Prediction] | None = None, assessments: Sequence[str] | None = None) -> Scores:
    """Scores of one system; ``candidates`` (top three per message) and ``assessments``
    ("confident", "unsure", "none") when the system gives them."""
    assert len(truths) == len(predictions), "one prediction per message"
    counts = {b: {"tp": 0, "fp": 0, "fn": 0} for b in BARRIER_IDS}
    exact = top1 = quiet = with_barrier = 0
    for truth, prediction in zip(truths, predictions, strict=True):
        true, predicted = set(truth), ids(prediction)
        exact += true == predicted
        for b in BARRIER_IDS:
            counts[b]["tp"] += b in true and b in predicted
            counts[b]["fp"] += b not in true and b in predicted
            counts[b]["fn"] += b in true and b not in predicted
        if true:
            with_barrier += 1
            top = max(prediction, key=lambda p: p["confidence"], default=None)
            top1 += top is not None and top["id"] in true
        else:
            quiet += not predicted
    per_barrier = {}
    for b, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        per_barrier[b] = {"precision": precision, "recall": recall, "f1": f1(c["tp"], c["fp"], c["fn"]),
                          "support": c["tp"] + c["fn"]}
    supported = [v["f1"] for v in per_barrier.values() if v["support"]]
    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    n = len(truths)
    top3 = unsure = None
    if candidates is not None:
        hits = [bool(set(t) & ids(c)) for t, c in zip(truths, candidates, strict=True) if t]
        top3 = sum(hits) / len(hits) if hits else 0.0
    if assessments is not None:
        unsure = sum(a == "unsure" for a in assessments) / n if n else 0.0
    return Scores(
        per_barrier=per_barrier,
        macro_f1=sum(supported) / len(supported) if supported else 0.0,
        micro_f1=f1(total["tp"], total["fp"], total["fn"]),
        exact_match=exact / n if n else 0.0,
        top1_hit=top1 / with_barrier if with_barrier else 0.0,
        no_barrier_accuracy=quiet / (n - with_barrier) if n - with_barrier else 1.0,
        n=n, n_with_barrier=with_barrier, n_without_barrier=n - with_barrier,
        top3_recall=top3, unsure_share=unsure,
    )


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Agreement of two yes/no labellings beyond chance (1 perfect, 0 chance); 1.0 when both
    say the same constant thing (no disagreement to measure)."""
    n = len(a)
    assert n == len(b) and n, "two labellings of the same items"
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1.0 else (observed - expected) / (1 - expected)


def reliability(truths: Sequence[Sequence[str]], predictions: Sequence[Prediction],
                edges: Sequence[float] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)) -> list[dict]:
    """For each confidence band: how many predicted barriers fell in it and how many were right."""
    bands: list[dict[str, Any]] = [{"from": lo, "to": min(hi, 1.0), "predicted": 0, "correct": 0} for lo, hi in zip(edges, edges[1:], strict=False)]
    for truth, prediction in zip(truths, predictions, strict=True):
        for p in prediction:
            for band in bands:
                if band["from"] <= p["confidence"] < (band["to"] if band["to"] < 1.0 else 1.01):
                    band["predicted"] += 1
                    band["correct"] += p["id"] in truth
                    break
    for band in bands:
        band["precision"] = band["correct"] / band["predicted"] if band["predicted"] else None
    return bands


def co_occurrence(truths: Sequence[Sequence[str]], predictions: Sequence[Prediction]) -> list[list[int]]:
    """Rows: true barrier (plus a last row "none"); columns: predicted barrier (plus "none").
    Cell [t][p] counts messages where t was true and p was predicted."""
    index = {b: i for i, b in enumerate(BARRIER_IDS)}
    size = len(BARRIER_IDS) + 1
    matrix = [[0] * size for _ in range(size)]
    for truth, prediction in zip(truths, predictions, strict=True):
        rows = [index[b] for b in truth] or [size - 1]
        cols = [index[b] for b in ids(prediction)] or [size - 1]
        for r in rows:
            for c in cols:
                matrix[r][c] += 1
    return matrix


def iterative_folds(labels: Sequence[Sequence[str]], k: int, seed: int) -> list[int]:
    """Fold number per example, stratified for multi-label data (Sechidis et al. 2011):
    the rarest label is placed first, each example into the fold that most wants that label.
    Examples with no label are dealt out round-robin after a seeded shuffle."""
    import random

    rng = random.Random(seed)
    order = list(range(len(labels)))
    rng.shuffle(order)
    fold_of = [-1] * len(labels)
    remaining = {i for i in order if labels[i]}
    desired_total = [len(remaining) / k] * k
    desired = {b: [sum(b in labels[i] for i in remaining) / k] * k for b in BARRIER_IDS}
    while remaining:
        counts = {b: sum(b in labels[i] for i in remaining) for b in BARRIER_IDS}
        label = min((b for b in counts if counts[b]), key=lambda b: (counts[b], b))
        for i in [i for i in order if i in remaining and label in labels[i]]:
            best = max(range(k), key=lambda f: (desired[label][f], desired_total[f], -f))
            fold_of[i] = best
            remaining.discard(i)
            desired_total[best] -= 1
            for b in labels[i]:
                desired[b][best] -= 1
    unlabelled = [i for i in order if not labels[i]]
    for n, i in enumerate(unlabelled):
        fold_of[i] = n % k
    return fold_of
