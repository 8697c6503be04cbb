"""How far two careful readers agree on the barriers in real-language items: the ceiling.

``tests/eval/agreement/labelling.jsonl`` holds a sample of corpus items, each labelled by two
labellers who saw only the text and the taxonomy (not each other's labels, not the source's
theme): ``{"text", "a": [...], "b": [...], "corpus": [...]}`` where ``corpus`` is the label the
corpus gives it (the authors' theme mapped onto the taxonomy). Per barrier, Cohen's kappa of
``a`` against ``b``; overall, the macro-F1 of one labelling scored against the other (the same
figure the classifier is judged by, so the two can be read side by side).
"""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.schema import BARRIER_IDS
from qi_coach.evaluation import metrics
from qi_coach.paths import PROJECT_ROOT

LABELLING = PROJECT_ROOT / "tests" / "eval" / "agreement" / "labelling.jsonl"


def load(path: Path = LABELLING) -> list[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for n, row in enumerate(rows, 1):
        for key in ("a", "b", "corpus"):
            unknown = [b for b in row.get(key, []) if b not in BARRIER_IDS]
            if unknown or key not in row:
                raise ValueError(f"{path.name}, line {n}: '{key}' missing or with unknown ids {unknown}")
    return rows


def _as_predictions(labels: list[list[str]]) -> list[list[dict]]:
    return [[{"id": b, "confidence": 1.0} for b in row] for row in labels]


def agreement_figures(path: Path = LABELLING) -> dict:
    """Kappa per barrier and macro-F1 between the labellers (and each against the corpus)."""
    rows = load(path)
    if not rows:
        return {}
    a, b, c = [r["a"] for r in rows], [r["b"] for r in rows], [r["corpus"] for r in rows]
    kappa = {}
    for barrier in BARRIER_IDS:
        in_a, in_b = [barrier in x for x in a], [barrier in x for x in b]
        kappa[barrier] = {"kappa": round(metrics.cohen_kappa(in_a, in_b), 3), "a": sum(in_a), "b": sum(in_b)}
    a_vs_b = metrics.score(a, _as_predictions(b))
    b_vs_a = metrics.score(b, _as_predictions(a))
    return {
        "n": len(rows),
        "kappa": kappa,
        "mean_kappa": round(sum(k["kappa"] for k in kappa.values()) / len(kappa), 3),
        "macro_f1_a_vs_b": round(a_vs_b.macro_f1, 3),
        "macro_f1_b_vs_a": round(b_vs_a.macro_f1, 3),
        "micro_f1": round(a_vs_b.micro_f1, 3),
        "exact_match": round(a_vs_b.exact_match, 3),
        "top_label_shared": round(sum(bool(set(x) & set(y)) for x, y in zip(a, b, strict=True) if x and y)
                                  / max(1, sum(bool(x and y) for x, y in zip(a, b, strict=True))), 3),
        "macro_f1_a_vs_corpus": round(metrics.score(c, _as_predictions(a)).macro_f1, 3),
        "macro_f1_b_vs_corpus": round(metrics.score(c, _as_predictions(b)).macro_f1, 3),
    }
