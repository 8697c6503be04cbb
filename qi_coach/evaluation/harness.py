"""``qi-coach eval``: how well the assistant hears barriers, real language first.

1. The frozen real-language test set (``corpus.test_items``: paraphrases of what real people
   said, from sources used nowhere in training), classified by the shipped model with
   ``qi-coach classify``: the headline.
2. Grouped cross-validation by source over the real-language training items: each fold holds
   out whole sources and trains on everything else (the synthetic data and the other sources).
3. The synthetic held-out set ``tests/eval/heldout.jsonl`` (frozen, never trained on), second.
4. On every split, the configurations in ``RECIPES`` (refitted on the shipped model's features,
   see ``featurised.py``) and two baselines (``baselines.py``), so the report shows why the
   configuration kept in ``config.yml`` was kept.
5. The advice evaluation (``advice.py``): whether the first three strategies hold what a QI
   expert would do first, barrier-only against situation-aware ranking (``advice.md``).
6. ``reports/eval/``: ``summary.md``, ``metrics.json``, ``per_barrier_f1.png`` (real against
   synthetic), ``confusion.png`` and ``errors.md`` (real-language test set), and the labellers'
   agreement when ``tests/eval/agreement/`` holds two labellings.

``--rasa-cv`` adds the older check: stratified k-fold cross-validation of the synthetic data
with a full ``rasa train nlu`` per fold (about four minutes a fold).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from qi_coach.evaluation import corpus, featurised, metrics
from qi_coach.evaluation.baselines import KeywordBaseline, TfidfBaseline
from qi_coach.evaluation.report import SHIPPED, write_report
from qi_coach.nlu.barrier_classifier import FitOptions
from qi_coach.paths import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"
HELDOUT = PROJECT_ROOT / "tests" / "eval" / "heldout.jsonl"
HELDOUT_HASH = PROJECT_ROOT / "tests" / "eval" / "heldout.sha256"
CONFIG = PROJECT_ROOT / "config.yml"
PROBLEM = "describe_problem"
PARALLEL_JOBS = 2  # trainings or classifications run side by side (CI and these machines: 2 cores)


@dataclass
class Example:
    text: str
    barriers: list[str]
    intent: str
    source: str = ""  # a real-language example's source address ('' for synthetic data)


def training_examples(data: Path = DATA) -> list[Example]:
    """Every NLU example of the project, with its barriers and intent."""
    out = []
    for path in sorted((data / "nlu").rglob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            intent = block.get("intent")
            if not intent:
                continue
            examples = block["examples"]
            if isinstance(examples, str):
                for line in examples.splitlines():
                    if line.strip().startswith("- "):
                        out.append(Example(line.strip()[2:].strip(), [], intent))
            else:
                for item in examples:
                    metadata = item.get("metadata") or {}
                    out.append(Example(item["text"].strip(), list(metadata.get("barriers") or []), intent,
                                       str(metadata.get("source") or "")))
    return out


HeldoutChanged = corpus.FrozenSetChanged


def heldout(path: Path = HELDOUT, hash_file: Path = HELDOUT_HASH) -> list[dict]:
    """The frozen synthetic held-out set; refuses to run if it changed since it was frozen."""
    return corpus.read_frozen(path, hash_file)


def write_nlu(examples: Sequence[Example], folder: Path) -> Path:
    """Examples as Rasa NLU YAML (barrier labels as example metadata)."""
    by_intent: dict[str, list[Example]] = {}
    for e in examples:
        by_intent.setdefault(e.intent, []).append(e)
    blocks = []
    for intent, items in by_intent.items():
        if intent == PROBLEM:
            blocks.append({"intent": intent, "examples": [
                {"text": e.text, "metadata": {"barriers": e.barriers, **({"source": e.source} if e.source else {})}}
                for e in items]})
        else:
            blocks.append({"intent": intent, "examples": "".join(f"- {e.text}\n" for e in items)})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nlu.yml"
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, allow_unicode=True))
    return path


def train_nlu(examples: Sequence[Example], folder: Path, name: str, config: Path = CONFIG) -> Path:
    nlu = write_nlu(examples, folder / "data")
    # Each training gets its own (disabled) Rasa training cache: trainings run side by side would
    # otherwise write the same .rasa/cache database at once, and fold models are never reused.
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RASA_CACHE_DIRECTORY": str(folder / "rasa-cache"),
           "RASA_MAX_CACHE_SIZE": "0"}
    rasa = Path(sys.executable).parent / "rasa"
    done = subprocess.run([str(rasa), "train", "nlu", "--nlu", str(nlu), "--config", str(config),
                           "--out", str(folder), "--fixed-model-name", name], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True)
    model = folder / f"{name}.tar.gz"
    if done.returncode != 0 or not model.exists():
        raise RuntimeError(f"rasa train nlu failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return model


def classify(model: Path, texts: Sequence[str]) -> list[dict]:
    """``qi-coach classify --model`` on the texts (as JSON lines, so any text is safe)."""
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    done = subprocess.run([sys.executable, "-m", "qi_coach.cli", "classify", "--model", str(model),
                           "--with-intent"], input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or len(results) != len(texts):
        raise RuntimeError(f"qi-coach classify failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return results


@dataclass
class Run:
    """What every system made of one set of messages."""

    texts: list[str]
    truths: list[list[str]]
    intents: list[str | None] = field(default_factory=list)
    predicted: dict[str, list[list[dict]]] = field(default_factory=dict)
    candidates: dict[str, list[list[dict]]] = field(default_factory=dict)
    assessments: dict[str, list[str]] = field(default_factory=dict)
    predicted_intents: list[str | None] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # a real-language item's kind of source

    def add(self, name: str, readings: Sequence[dict]) -> None:
        """A system's readings (``barriers``, and ``candidates`` and ``assessment`` if it gives them)."""
        assert len(readings) == len(self.texts), "one reading per message"
        self.predicted[name] = [list(r["barriers"]) for r in readings]
        if all("candidates" in r for r in readings):
            self.candidates[name] = [list(r["candidates"]) for r in readings]
        if all("assessment" in r for r in readings):
            self.assessments[name] = [r["assessment"] for r in readings]

    def extend(self, other: Run) -> None:
        self.texts += other.texts
        self.truths += other.truths
        self.intents += other.intents
        self.predicted_intents += other.predicted_intents
        self.kinds += other.kinds
        pairs: tuple[tuple[dict[str, list[Any]], dict[str, list[Any]]], ...] = (
            (self.predicted, other.predicted), (self.candidates, other.candidates),
            (self.assessments, other.assessments))
        for mine, theirs in pairs:
            for name, values in theirs.items():
                mine.setdefault(name, []).extend(values)


def baseline_readings(predictions: list[list[dict]]) -> list[dict]:
    """A baseline's predictions as readings: its three most confident predictions are its candidates."""
    return [{"barriers": p, "candidates": sorted(p, key=lambda r: -r["confidence"])[:3]} for p in predictions]


PIPELINE = "qi-coach pipeline"


def _side_by_side(jobs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent jobs (each a subprocess: a training or a classification) two at a time:
    much of Rasa's training is single-threaded, so on 2 cores this nearly halves the wait."""
    with ThreadPoolExecutor(max_workers=PARALLEL_JOBS) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def evaluate_split(train: Sequence[Example], test_texts: list[str], test_truths: list[list[str]],
                   model: Path, variant_models: dict[str, Path] | None = None) -> Run:
    run = Run(list(test_texts), [list(t) for t in test_truths])
    models = {PIPELINE: model, **(variant_models or {})}
    results = _side_by_side({name: partial(classify, m, test_texts) for name, m in models.items()})
    for name, answers in results.items():
        run.add(name, answers)
    run.predicted_intents = [r.get("intent") for r in results[PIPELINE]]
    add_baselines(run, train)
    return run


def add_baselines(run: Run, train: Sequence[Example]) -> None:
    """Both baselines, fitted on ``train``, on the run's messages."""
    for baseline in (KeywordBaseline(), TfidfBaseline()):
        baseline.fit([e.text for e in train], [e.barriers for e in train])
        run.add(baseline.name, baseline_readings(baseline.predict(run.texts)))


def cross_validate(examples: list[Example], folds: int, repeats: int, work: Path, config: Path = CONFIG,
                   progress=print) -> Run:
    """k-fold cross-validation of the pipeline, each fold trained with ``rasa train nlu``, baselines beside."""
    total = Run([], [])
    for repeat in range(repeats):
        fold_of = metrics.iterative_folds([e.barriers for e in examples], folds, seed=101 + repeat)
        for fold in range(folds):
            started = time.monotonic()
            train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
            test = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
            progress(f"  cross-validation repeat {repeat + 1}/{repeats}, fold {fold + 1}/{folds}: "
                     f"training on {len(train)}, testing on {len(test)} ...")
            model = train_nlu(train, work / f"r{repeat}f{fold}", f"fold{fold}", config)
            run = evaluate_split(train, [e.text for e in test], [e.barriers for e in test], model)
            run.intents = [e.intent for e in test]
            total.extend(run)
            progress(f"    done in {time.monotonic() - started:.0f} s")
    return total


def summarise(run: Run) -> dict:
    out = {}
    for name, preds in run.predicted.items():
        s = metrics.score(run.truths, preds, run.candidates.get(name), run.assessments.get(name))
        out[name] = {**asdict(s), "reliability": metrics.reliability(run.truths, preds)}
    if run.intents and run.predicted_intents:
        pairs = [(t, p) for t, p in zip(run.intents, run.predicted_intents, strict=True) if t]
        conversational = [(t, p) for t, p in pairs if t != PROBLEM]
        out["intent_accuracy"] = {
            "all": sum(t == p for t, p in pairs) / len(pairs),
            "conversational": sum(t == p for t, p in conversational) / max(1, len(conversational)),
            "n": len(pairs),
        }
    return out


def config_options(config: Path = CONFIG) -> FitOptions:
    """The barrier classifier's options as ``config.yml`` sets them."""
    from qi_coach.nlu.barrier_classifier import BarrierClassifier

    entry: dict[str, Any] = next((c for c in yaml.safe_load(config.read_text())["pipeline"] if c["name"].endswith("BarrierClassifier")),
                 {})
    return FitOptions.from_config({**BarrierClassifier.get_default_config(), **entry})


def recipes(config: Path = CONFIG) -> list[featurised.Recipe]:
    """The configurations compared on every split. The one matching ``config.yml`` is the kept one."""
    kept = config_options(config)
    base = replace(kept, real_weight=1.0, calibrate_on="all")
    recipe = featurised.Recipe
    real_calibrated = replace(base, calibrate_on="real")
    return [
        recipe("synthetic data only (before real language)", base, use_real_training=False),
        recipe("+ real-language data", base),
        recipe("+ real data, thresholds from real-language folds", real_calibrated),
        recipe("+ real data weighted x3, thresholds from real folds", replace(real_calibrated, real_weight=3.0)),
        recipe("+ real data, stronger regularisation (C=2)", replace(base, c=2.0)),
        recipe("n-grams only (+ real data)", base, use_dense=False),
        recipe("sentence embedding only (+ real data)", base, use_counts=False),
    ]


def kept_recipe(all_recipes: Sequence[featurised.Recipe], config: Path = CONFIG) -> str | None:
    options = config_options(config)
    kept = [r.name for r in all_recipes if r.options == options and r.use_counts and r.use_dense
            and r.use_real_training and r.dense_scale == 1.0]
    return kept[0] if kept else None


def _real_run(items: Sequence[corpus.RealItem]) -> Run:
    return Run([i.text for i in items], [list(i.barriers) for i in items], kinds=[i.kind for i in items])


def _job(key: tuple, recipe: featurised.Recipe, train: Sequence[Example], test_texts: Sequence[str]) -> featurised.Job:
    return featurised.Job(key, recipe, tuple(e.text for e in train), tuple(tuple(e.barriers) for e in train),
                          tuple(e.source for e in train), tuple(test_texts))


def compare_recipes(examples: Sequence[Example], runs: dict[str, Run], features: featurised.Features,
                    all_recipes: Sequence[featurised.Recipe], folds: int, work: Path, cross_validate_real: bool,
                    progress=print) -> tuple[Run | None, dict]:
    """Every recipe fitted on all the training data (read on both frozen test sets) and, with
    ``cross_validate_real``, on each fold of the real-language items grouped by source (each fold
    trained on the synthetic data and the other folds' sources).

    Returns the grouped cross-validation's run (or None) and each full fit's report."""
    frozen_texts = runs["real_test"].texts + runs["heldout"].texts
    jobs = [_job(("all data", r.name), r, examples, frozen_texts) for r in all_recipes]
    real = [e for e in examples if e.source]
    synthetic = [e for e in examples if not e.source]
    fold_of = corpus.group_folds([e.source for e in real], folds) if cross_validate_real and real else []
    cv = Run([], [])  # filled only when there are folds
    for fold in range(folds if fold_of else 0):
        test = [e for e, f in zip(real, fold_of, strict=True) if f == fold]
        train = synthetic + [e for e, f in zip(real, fold_of, strict=True) if f != fold]
        jobs += [_job((f"fold {fold + 1}", r.name), r, train, [e.text for e in test]) for r in all_recipes]
        run = Run([e.text for e in test], [e.barriers for e in test], kinds=[""] * len(test))
        add_baselines(run, train)
        cv.extend(run)
    progress(f"Fitting {len(all_recipes)} configurations on all the training data"
             + (f" and on {folds} folds of the real-language items grouped by source "
                f"({len(corpus.sources_of(e.source for e in real))} sources)" if fold_of else "")
             + f": {len(jobs)} fits, two at a time ...")
    results = featurised.run_jobs(features, jobs, work, progress=progress)
    reports = {}
    per_fold: dict[str, list[dict]] = {}
    n_real = len(runs["real_test"].texts)
    for result in results:
        scope, name = result.key
        if scope == "all data":
            runs["real_test"].add(name, result.readings[:n_real])
            runs["heldout"].add(name, result.readings[n_real:])
            reports[name] = {**result.report, "seconds": result.seconds}
        else:
            per_fold.setdefault(name, []).extend(result.readings)  # folds come back in order
    for name, readings in per_fold.items():
        cv.add(name, readings)
    return (cv if fold_of else None), reports


def main(folds: int = 5, repeats: int = 1, limit: int | None = None, skip_cv: bool = False,
         out: Path = PROJECT_ROOT / "reports" / "eval", model: Path | None = None, compare: bool = True,
         rasa_cv: bool = False) -> int:
    from qi_coach.classify import resolve_model
    from qi_coach.evaluation import advice
    from qi_coach.evaluation.agreement import agreement_figures

    started = time.monotonic()
    say = partial(print, flush=True)
    examples = training_examples()
    real_test = corpus.test_items()
    held = heldout()
    shipped = resolve_model(str(model) if model else None)
    real_train = [e for e in examples if e.source]
    results: dict = {"folds": folds, "repeats": repeats, "examples": len(examples),
                     "real_training_items": len(real_train),
                     "real_training_sources": len(corpus.sources_of(e.source for e in real_train)),
                     "real_test_items": len(real_test), "real_test_sources": len(corpus.sources(real_test))}
    say(f"Evaluating barrier classification: {len(examples)} training examples ({len(real_train)} real-language, "
        f"from {results['real_training_sources']} sources); real-language test set {len(real_test)} items from "
        f"{results['real_test_sources']} sources (hash verified); synthetic held-out set {len(held)}.")
    runs = {"real_test": _real_run(real_test),
            "heldout": Run([i["text"] for i in held], [i["barriers"] for i in held])}
    say("Classifying both test sets with the shipped model ...")
    answers = classify(shipped, runs["real_test"].texts + runs["heldout"].texts)
    runs["real_test"].add(SHIPPED, answers[:len(real_test)])
    runs["heldout"].add(SHIPPED, answers[len(real_test):])
    all_recipes = recipes() if compare else [r for r in recipes() if r.name == kept_recipe(recipes())]
    for split in ("real_test", "heldout"):
        add_baselines(runs[split], examples)
    fits: dict = {}
    with tempfile.TemporaryDirectory(prefix="qi-eval-") as tmp:
        if all_recipes:
            say("Computing the shipped pipeline's features for every text (once) ...")
            texts = [e.text for e in examples] + runs["real_test"].texts + runs["heldout"].texts
            features = featurised.pipeline_features(shipped, texts, progress=lambda m: None)
            cv, fits = compare_recipes(examples, runs, features, all_recipes, folds, Path(tmp),
                                       cross_validate_real=not skip_cv, progress=say)
            if cv is not None:
                runs["grouped_cv"] = cv
        if rasa_cv:
            synthetic = [e for e in examples if not e.source]
            if limit:
                import random

                synthetic = random.Random(7).sample(synthetic, min(limit, len(synthetic)))
            say(f"Cross-validation of the synthetic data with rasa train nlu per fold ({len(synthetic)} examples) ...")
            runs["rasa_cv"] = cross_validate(synthetic, folds, repeats, Path(tmp), progress=say)
    for name, run in runs.items():
        results[name] = summarise(run)
    results["by_kind"] = by_kind(runs["real_test"])
    results["fits"] = {name: {k: v for k, v in report.items() if not k.startswith(("micro_f1_by", "precision_at"))}
                       for name, report in fits.items()}
    results["kept"] = kept_recipe(all_recipes)
    results["agreement"] = agreement_figures()
    results["advice"] = advice.run(shipped, out, say)
    results["seconds"] = round(time.monotonic() - started)
    write_report(results, runs, out)
    say(f"Report written to {out}/summary.md in {results['seconds']} s")
    return 0


def by_kind(run: Run) -> dict:
    """Each system's headline figures on the real-language test set, per kind of source."""
    out: dict = {}
    for kind in sorted(set(run.kinds)):
        rows = [i for i, k in enumerate(run.kinds) if k == kind]
        out[kind] = {"n": len(rows)}
        for name, preds in run.predicted.items():
            s = metrics.score([run.truths[i] for i in rows], [preds[i] for i in rows])
            out[kind][name] = {"macro_f1": s.macro_f1, "top1_hit": s.top1_hit}
    return out
