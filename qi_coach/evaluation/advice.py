"""The advice evaluation: do the first three strategies hold what a QI expert would do first?

``tests/eval/advice/situations.jsonl`` (frozen by SHA-256) holds situations written from
published accounts by real staff, each with its source and the barriers it shows;
``tests/eval/advice/labels.jsonl`` (frozen too) holds, for each, the strategies two
labellers would put first, chosen independently from the whole catalogue, blind to each other,
to the ranking and to the strategies' situations. Items marked ``"split": "dev"`` were the
only ones looked at while the ranking's constants were chosen; the rest are the test set.

For every situation, four answers are compared, the first three strategies of:

- the barrier-only ranking and the situation-aware ranking (``knowledge.ranking``: the same
  call with and without what the person said),
- with the barriers as the shipped classifier reads them (the barriers it proposes; when it is
  unsure, the first it would offer in its clarifying question) and as the labels give them
  (perfect barriers, as if the user had corrected every reading).

Measures: how often the three hold an expert's first choice (either labeller's; and per
labeller, averaged), and nDCG@3 with graded relevance (an expert's first choice 3, second 2,
third 1, averaged over the two labellers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from knowledge.repository import KnowledgeStore
from knowledge.schema import BARRIER_IDS
from qi_coach import readings
from qi_coach.coaching.said import heard
from qi_coach.evaluation.corpus import CorpusError, read_frozen, reserved_addresses, sources_of
from qi_coach.paths import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "tests" / "eval" / "advice"
SITUATIONS = FOLDER / "situations.jsonl"
LABELS = FOLDER / "labels.jsonl"
TOP = 3
GAIN = (3.0, 2.0, 1.0)  # an expert's first, second and third choice
RANKINGS = ("barrier_only", "situation_aware")
READINGS = ("classifier", "perfect")


@dataclass(frozen=True)
class Situation:
    id: str
    text: str
    barriers: tuple[str, ...]
    source: str
    kind: str
    speaker: str
    split: str  # "dev" or "test"
    choices: tuple[tuple[str, ...], tuple[str, ...]]  # each labeller's strategies, first choice first


def load(situations: Path = SITUATIONS, labels: Path = LABELS) -> list[Situation]:
    """The frozen situations with both labellings, checked: known barriers and strategies
    (the caller's catalogue checks strategies), no reserved source, two labellings each."""
    rows = read_frozen(situations, situations.with_suffix(".sha256"))
    labelled = {row["id"]: row for row in read_frozen(labels, labels.with_suffix(".sha256"))}
    reserved = reserved_addresses()
    out = []
    for row in rows:
        where = f"{situations.name} item {row.get('id')}"
        if sources_of([row["source"]]) & reserved:
            raise CorpusError(f"{where}: its source is reserved for the independent evaluation")
        unknown = set(row["barriers"]) - set(BARRIER_IDS)
        if unknown or not row["barriers"]:
            raise CorpusError(f"{where}: barriers must be 1-3 taxonomy ids, got {row['barriers']}")
        label = labelled.get(row["id"])
        if label is None or not label.get("a") or not label.get("b"):
            raise CorpusError(f"{where}: needs two labellings (a and b) in {labels.name}")
        out.append(Situation(row["id"], row["text"], tuple(row["barriers"]), row["source"], row.get("kind", ""),
                             row.get("speaker", ""), row.get("split", "test"),
                             (tuple(label["a"][:TOP]), tuple(label["b"][:TOP]))))
    return out


def hit(top: Sequence[str], situation: Situation) -> bool:
    """The three hold either labeller's first choice."""
    return any(choice[0] in top for choice in situation.choices)


def hit_per_labeller(top: Sequence[str], situation: Situation) -> float:
    return mean(float(choice[0] in top) for choice in situation.choices)


def ndcg(top: Sequence[str], situation: Situation) -> float:
    """nDCG@3, relevance averaged over the labellers (first choice 3, second 2, third 1)."""
    gains: dict[str, float] = {}
    for choice in situation.choices:
        for rank, strategy in enumerate(choice[:TOP]):
            gains[strategy] = gains.get(strategy, 0.0) + GAIN[rank] / len(situation.choices)
    dcg = sum(gains.get(s, 0.0) / math.log2(i + 2) for i, s in enumerate(top[:TOP]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gains.values(), reverse=True)[:TOP]))
    return dcg / ideal if ideal else 0.0


def classifier_barriers(parse: dict[str, Any]) -> dict[str, float]:
    """What the conversation would confirm: the proposed barriers with their confidences;
    when none is proposed, the first barrier the clarifying question offers."""
    proposed = readings.from_parse(parse)
    if proposed:
        return readings.weights(proposed)
    candidates = readings.from_parse(parse, readings.BARRIER_CANDIDATES)
    return readings.weights(candidates[:1])


def answers(store: KnowledgeStore, situations: Sequence[Situation], parses: Sequence[dict[str, Any]],
            progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, list[list[str]]]]:
    """The first three strategy ids per situation, for each reading and ranking; under "pool",
    every strategy either ranking chooses from (those for the barriers read)."""
    out: dict[str, dict[str, list[list[str]]]] = {r: {k: [] for k in (*RANKINGS, "pool")} for r in READINGS}
    for i, (situation, parse) in enumerate(zip(situations, parses, strict=True)):
        said = heard([situation.text])
        levels = readings.levels(parse.get(readings.LEVELS))
        weights = {"classifier": classifier_barriers(parse), "perfect": dict.fromkeys(situation.barriers, 1.0)}
        for reading in READINGS:
            for ranking in RANKINGS:
                recs = store.recommend(weights[reading], levels=levels, limit=TOP, top_up=True,
                                       said=said if ranking == "situation_aware" else None) if weights[reading] else []
                out[reading][ranking].append([r.strategy_id for r in recs])
            pool = store.recommend(weights[reading], limit=None) if weights[reading] else []
            out[reading]["pool"].append([r.strategy_id for r in pool])
        if progress:
            progress(i + 1, len(situations))
    return out


def score(situations: Sequence[Situation], tops: Sequence[Sequence[str]]) -> dict[str, float]:
    n = len(situations)
    return {
        "n": n,
        "first_choice_in_top3": round(sum(hit(t, s) for t, s in zip(tops, situations, strict=True)) / n, 3),
        "first_choice_in_top3_per_labeller": round(
            mean(hit_per_labeller(t, s) for t, s in zip(tops, situations, strict=True)), 3),
        "ndcg_at_3": round(mean(ndcg(t, s) for t, s in zip(tops, situations, strict=True)), 3),
    }


def agreement(situations: Sequence[Situation]) -> dict[str, float]:
    """How far the two labellers agree: the same first choice; one's first choice among the
    other's three; the share of their threes in common."""
    a_first = [s.choices[0][0] == s.choices[1][0] for s in situations]
    crossed = [mean([s.choices[0][0] in s.choices[1], s.choices[1][0] in s.choices[0]]) for s in situations]
    overlap = [len(set(s.choices[0]) & set(s.choices[1])) / TOP for s in situations]
    return {"n": len(situations), "same_first_choice": round(mean(a_first), 3),
            "first_choice_in_others_three": round(mean(crossed), 3), "top3_overlap": round(mean(overlap), 3)}


def evaluate(store: KnowledgeStore, situations: Sequence[Situation], parses: Sequence[dict[str, Any]],
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Every figure of the advice evaluation, per split (test first), reading and ranking. A
    strategy the labellers chose that has since been merged into another counts as that one."""
    situations = [replace(s, choices=(tuple(store.current_strategy_ids(s.choices[0])),
                                      tuple(store.current_strategy_ids(s.choices[1]))))
                  for s in situations]
    known = set(store.strategy_ids())
    for s in situations:
        unknown = {x for choice in s.choices for x in choice} - known
        if unknown:
            raise CorpusError(f"situation {s.id}: labelled with unknown strategies {sorted(unknown)}")
    tops = answers(store, situations, parses, progress)
    results: dict[str, Any] = {"agreement": agreement(situations)}
    for split in ("test", "dev"):
        rows = [i for i, s in enumerate(situations) if s.split == split]
        if not rows:
            continue
        chosen = [situations[i] for i in rows]
        results[split] = {reading: {ranking: score(chosen, [tops[reading][ranking][i] for i in rows])
                                    for ranking in RANKINGS} for reading in READINGS}
        for reading in READINGS:  # the most any ranking among these strategies could reach
            results[split][reading]["reachable"] = round(
                mean(hit(tops[reading]["pool"][i], situations[i]) for i in rows), 3)
        results[split]["sources"] = len({situations[i].source for i in rows})
    results["examples"] = [
        {"id": s.id, "text": s.text, "experts": [list(c) for c in s.choices],
         **{f"{reading}/{ranking}": tops[reading][ranking][i] for reading in READINGS for ranking in RANKINGS}}
        for i, s in enumerate(situations) if s.split == "test"]
    return results


# --- running it, and the report ---------------------------------------------------------------

LABEL = {"barrier_only": "barrier-only", "situation_aware": "situation-aware",
         "classifier": "barriers read by the classifier", "perfect": "barriers given perfectly"}
TARGET_TOP3 = 0.80


def run(model: Path, out: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Classify every situation with the shipped model, rank both ways against the shipped
    content (loaded into a temporary SQLite file), write ``advice.md``, ``advice.json`` and
    ``advice.png`` under ``out``; returns the figures."""
    import tempfile  # noqa: PLC0415

    from knowledge.db import create_engine_for  # noqa: PLC0415
    from knowledge.load import load_content  # noqa: PLC0415
    from qi_coach.evaluation.harness import classify  # noqa: PLC0415

    situations = load()
    say(f"Advice evaluation: {len(situations)} situations ({sum(s.split == 'test' for s in situations)} test), "
        "classifying them with the shipped model ...")
    parses = classify(model, [s.text for s in situations])
    with tempfile.TemporaryDirectory(prefix="qi-advice-") as tmp:
        engine = create_engine_for(f"sqlite:///{Path(tmp) / 'knowledge.db'}")
        load_content(engine)
        results = evaluate(KnowledgeStore(engine), situations, parses,
                           progress=lambda done, n: say(f"  ranked {done} of {n}") if done % 20 == 0 else None)
        engine.dispose()
    write_report(results, out)
    test = results["test"]["classifier"]["situation_aware"]
    say(f"Advice: first choice in the top three {test['first_choice_in_top3']:.0%} (classifier barriers, "
        f"situation-aware); report in {out / 'advice.md'}")
    return results


def write_report(results: dict[str, Any], out: Path) -> None:
    import json  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    (out / "advice.json").write_text(json.dumps(results, indent=2))
    test = results["test"]
    agree = results["agreement"]
    lines = ["# Advice evaluation: do the first three strategies hold an expert's first choice?", "",
             f"Test set: {test['classifier']['barrier_only']['n']} situations from {test['sources']} published "
             "accounts (`tests/eval/advice/`), each labelled by two labellers independently. "
             "`qi_coach/evaluation/advice.py` says how.", "",
             "| barriers | ranking | expert's first choice in top 3 | per labeller | nDCG@3 |", "|---|---|---|---|---|"]
    for reading in READINGS:
        for ranking in RANKINGS:
            f = test[reading][ranking]
            lines.append(f"| {LABEL[reading]} | {LABEL[ranking]} | {f['first_choice_in_top3']:.1%} | "
                         f"{f['first_choice_in_top3_per_labeller']:.1%} | {f['ndcg_at_3']:.3f} |")
    aware = test["classifier"]["situation_aware"]
    checks = [
        (f"first choice in top 3 >= {TARGET_TOP3:.0%} with classifier barriers",
         aware["first_choice_in_top3"] >= TARGET_TOP3, f"{aware['first_choice_in_top3']:.1%}"),
        *[(f"situation-aware ahead of barrier-only on both measures, {LABEL[reading]}",
           all(test[reading]["situation_aware"][k] > test[reading]["barrier_only"][k]
               for k in ("first_choice_in_top3", "ndcg_at_3")),
           f"{test[reading]['barrier_only']['first_choice_in_top3']:.1%} -> "
           f"{test[reading]['situation_aware']['first_choice_in_top3']:.1%}, nDCG "
           f"{test[reading]['barrier_only']['ndcg_at_3']:.3f} -> {test[reading]['situation_aware']['ndcg_at_3']:.3f}")
          for reading in READINGS],
    ]
    lines += ["", "The most any ranking of the strategies for the barriers read could reach (an expert's first "
              f"choice among them at all): {test['classifier']['reachable']:.1%} with the classifier's barriers, "
              f"{test['perfect']['reachable']:.1%} with perfect barriers.", ""]
    lines += ["## Against the targets", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {name} ({value})" for name, ok, value in checks]
    lines += ["", "## Labellers' agreement (all situations)", "",
              f"Same first choice {agree['same_first_choice']:.1%}; one's first choice among the other's three "
              f"{agree['first_choice_in_others_three']:.1%}; threes in common {agree['top3_overlap']:.1%}.", ""]
    if "dev" in results:
        dev = results["dev"]
        lines += ["## Development set (looked at while the ranking's constants were chosen: not a test)", "",
                  "| barriers | ranking | first choice in top 3 | nDCG@3 |", "|---|---|---|---|"]
        lines += [f"| {LABEL[r]} | {LABEL[k]} | {dev[r][k]['first_choice_in_top3']:.1%} | {dev[r][k]['ndcg_at_3']:.3f} |"
                  for r in READINGS for k in RANKINGS]
        lines.append("")
    misses = [e for e in results["examples"]
              if not any(c[0] in e["classifier/situation_aware"] for c in e["experts"])]
    lines += [f"## Test situations whose top three miss both first choices ({len(misses)})", ""]
    for e in misses:
        lines.append(f"- **{e['id']}**: {e['text']}  \n  experts: {', '.join(c[0] for c in e['experts'])}; "
                     f"given: {', '.join(e['classifier/situation_aware']) or 'nothing'}")
    lines += ["", "Plot: `advice.png`.", ""]
    (out / "advice.md").write_text("\n".join(lines))
    _plot(test, out / "advice.png")


def _plot(test: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (key, title) in zip(axes, (("first_choice_in_top3", "Expert's first choice in top 3"),
                                       ("ndcg_at_3", "nDCG@3")), strict=True):
        x = np.arange(len(READINGS))
        for j, ranking in enumerate(RANKINGS):
            values = [test[r][ranking][key] for r in READINGS]
            bars = ax.bar(x + (j - 0.5) * 0.38, values, 0.38, label=LABEL[ranking],
                          color=("#9aa5b1", "#005eb8")[j])
            ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8)
        if key == "first_choice_in_top3":
            ax.axhline(TARGET_TOP3, color="#d5281b", linestyle="--", linewidth=1, label="target")
        ax.set_xticks(x, ["classifier's barriers", "perfect barriers"])
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
