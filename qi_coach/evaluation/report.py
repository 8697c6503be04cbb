"""The evaluation report: what a person reads to see how good the barrier hearing is."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.schema import BARRIER_IDS
from qi_coach.evaluation import metrics

BAR = {"macro_f1": 0.85, "top1_hit": 0.92, "every_barrier_f1": 0.70, "no_barrier_accuracy": 0.95,
       "precision_above_0_8": 0.90}
HEADLINE = [("macro_f1", "macro-F1"), ("micro_f1", "micro-F1"), ("exact_match", "exact match"),
            ("top1_hit", "top-1 hit"), ("no_barrier_accuracy", "no-barrier accuracy")]


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def precision_above(reliability: list[dict], threshold: float = 0.8) -> float | None:
    predicted = sum(b["predicted"] for b in reliability if b["from"] >= threshold)
    correct = sum(b["correct"] for b in reliability if b["from"] >= threshold)
    return correct / predicted if predicted else None


OTHER_FIGURES = ("micro_f1", "exact_match", "no_barrier_accuracy")


def bar_checks(heldout: dict, pipeline: str) -> list[tuple[str, bool, str]]:
    ours = heldout[pipeline]
    others = {k: v for k, v in heldout.items() if k not in (pipeline, "intent_accuracy")}
    weakest = min(ours["per_barrier"].items(), key=lambda kv: kv[1]["f1"])
    above = precision_above(ours["reliability"])
    checks = [
        ("macro-F1 >= 0.85", ours["macro_f1"] >= BAR["macro_f1"], f"{ours['macro_f1']:.3f}"),
        ("top-1 hit >= 0.92", ours["top1_hit"] >= BAR["top1_hit"], f"{ours['top1_hit']:.3f}"),
        ("every barrier F1 >= 0.70", weakest[1]["f1"] >= BAR["every_barrier_f1"],
         f"weakest {weakest[0]} {weakest[1]['f1']:.3f}"),
        ("no-barrier accuracy >= 0.95", ours["no_barrier_accuracy"] >= BAR["no_barrier_accuracy"],
         f"{ours['no_barrier_accuracy']:.3f}"),
        ("precision of predictions with confidence > 0.8 >= 0.90",
         above is not None and above >= BAR["precision_above_0_8"], _pct(above)),
    ]
    for name, theirs in others.items():
        ahead = ours["macro_f1"] > theirs["macro_f1"] and ours["top1_hit"] > theirs["top1_hit"]
        checks.append((f"ahead of {name} on macro-F1 and top-1", ahead,
                       f"{ours['macro_f1']:.3f}/{ours['top1_hit']:.3f} vs {theirs['macro_f1']:.3f}/{theirs['top1_hit']:.3f}"))
        if name.startswith("alternative"):
            continue  # alternatives must be beaten on the headline figures; baselines on every figure
        behind = [f for f in OTHER_FIGURES if round(ours[f], 3) < round(theirs[f], 3)]
        checks.append((f"behind {name} on none of micro-F1, exact match, no-barrier accuracy", not behind,
                       "behind on " + ", ".join(behind) if behind else
                       " / ".join(f"{ours[f]:.3f} vs {theirs[f]:.3f}" for f in OTHER_FIGURES)))
    return checks


def write_report(results: dict, runs: dict, out: Path) -> None:
    from qi_coach.evaluation.harness import PIPELINE

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, default=str))
    parts = ["# Barrier classification: evaluation report", "",
             f"Training examples: {results['examples']}; cross-validation: {results['folds']} folds x "
             f"{results['repeats']} repeat(s); run time {results['seconds']} s.", ""]
    for split in ("heldout", "cross_validation"):
        if split not in results:
            continue
        section = results[split]
        title = "Held-out set (tests/eval/heldout.jsonl, never trained on)" if split == "heldout" \
            else "Cross-validation on the training data"
        rows = [["system", *[label for _, label in HEADLINE]]]
        for name, s in section.items():
            if name != "intent_accuracy":
                rows.append([name, *[_pct(s[k]) for k, _ in HEADLINE]])
        parts += [f"## {title}", "", _table(rows), ""]
        ours = section[PIPELINE]
        per = [["barrier", "precision", "recall", "F1", "support"]]
        for b in BARRIER_IDS:
            v = ours["per_barrier"][b]
            per.append([b, _pct(v["precision"]), _pct(v["recall"]), _pct(v["f1"]), str(v["support"])])
        parts += ["Per barrier (qi-coach pipeline):", "", _table(per), ""]
        rel = [["confidence", "predicted", "correct", "precision"]]
        for band in ours["reliability"]:
            rel.append([f"{band['from']:.1f}-{band['to']:.1f}", str(band["predicted"]), str(band["correct"]),
                        _pct(band["precision"])])
        parts += ["Reliability (qi-coach pipeline): is a confident barrier a right one?", "", _table(rel), ""]
        if "intent_accuracy" in section:
            ia = section["intent_accuracy"]
            parts += [f"Intent accuracy: {ia['all']:.3f} overall, {ia['conversational']:.3f} on the "
                      f"conversational intents (n={ia['n']}).", ""]
    if "heldout" in results:
        parts += ["## Against the bar (held-out set)", ""]
        parts += [f"- {'PASS' if ok else 'FAIL'}: {name} ({value})" for name, ok, value in
                  bar_checks(results["heldout"], PIPELINE)]
        parts += ["", "Files: `confusion.png` (true barrier x predicted barrier, held-out), `errors.md` "
                  "(the worst errors, with text, truth and prediction), `metrics.json`.", ""]
        _heatmap(runs["heldout"], PIPELINE, out / "confusion.png")
        _errors(runs["heldout"], PIPELINE, out / "errors.md")
    (out / "summary.md").write_text("\n".join(parts))


def _heatmap(run, system: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = metrics.co_occurrence(run.truths, run.predicted[system])
    labels = list(BARRIER_IDS) + ["(none)"]
    fig, ax = plt.subplots(figsize=(10, 8.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted barrier")
    ax.set_ylabel("true barrier")
    ax.set_title(f"Held-out: true x predicted barriers ({system})")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > max(map(max, matrix)) / 2 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _errors(run, system: str, path: Path, limit: int = 40) -> None:
    """Worst first: most labels wrong, then the most confident wrong prediction."""
    rows = []
    for text, truth, prediction in zip(run.texts, run.truths, run.predicted[system], strict=True):
        predicted = metrics.ids(prediction)
        wrong = len(set(truth) ^ predicted)
        if wrong:
            confident_wrong = max((p["confidence"] for p in prediction if p["id"] not in truth), default=0.0)
            rows.append((wrong, confident_wrong, text, truth, prediction))
    rows.sort(key=lambda r: (-r[0], -r[1]))
    lines = [f"# Worst errors on the held-out set ({system})", "",
             f"{len(rows)} of {len(run.texts)} messages have at least one barrier wrong.", ""]
    for _, _, text, truth, prediction in rows[:limit]:
        shown = ", ".join(f"{p['id']} {p['confidence']:.2f}" for p in prediction) or "(none)"
        lines += [f"- **{text[:400]}**", f"  - truth: {', '.join(truth) or '(none)'}", f"  - predicted: {shown}"]
    path.write_text("\n".join(lines) + "\n")
