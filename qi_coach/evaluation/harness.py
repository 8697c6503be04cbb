"""``qi-coach eval``: how well the assistant hears barriers, measured properly.

1. Cross-validation on the training data: multi-label stratified k-fold (optionally
   repeated). For each fold the harness writes the other folds as Rasa NLU data, trains an
   NLU model with ``rasa train nlu`` and classifies the held-back fold with
   ``qi-coach classify --model``: the figures are those of the real pipeline.
2. The frozen held-out file ``tests/eval/heldout.jsonl`` (never trained on; its SHA-256 is
   checked against ``tests/eval/heldout.sha256``), classified by the current model.
3. The same splits scored by two baselines (``baselines.py``), side by side, and by the
   alternative configurations of the pipeline in ``VARIANTS`` (each trained the same way), so
   the report shows that the configuration kept in ``config.yml`` earns its place.
4. ``reports/eval/``: ``summary.md``, ``metrics.json``, ``confusion.png`` and ``errors.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from knowledge.db import PROJECT_ROOT
from qi_coach.evaluation import metrics
from qi_coach.evaluation.baselines import KeywordBaseline, TfidfBaseline

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
                    labels = ((item.get("metadata") or {}).get("barriers")) or []
                    out.append(Example(item["text"].strip(), list(labels), intent))
    return out


class HeldoutChanged(Exception):
    pass


def heldout(path: Path = HELDOUT, hash_file: Path = HELDOUT_HASH) -> list[dict]:
    """The frozen held-out set; refuses to run if it changed since it was frozen."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = hash_file.read_text().split()[0]
    if digest != expected:
        raise HeldoutChanged(f"{path} changed since it was frozen (sha256 {digest}, expected {expected}). "
                             "The held-out set is evaluation-only: restore it rather than edit it.")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_nlu(examples: Sequence[Example], folder: Path) -> Path:
    """Examples as Rasa NLU YAML (barrier labels as example metadata)."""
    by_intent: dict[str, list[Example]] = {}
    for e in examples:
        by_intent.setdefault(e.intent, []).append(e)
    blocks = []
    for intent, items in by_intent.items():
        if intent == PROBLEM:
            blocks.append({"intent": intent, "examples": [
                {"text": e.text, "metadata": {"barriers": e.barriers}} for e in items]})
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
    """Predictions of every system on one set of messages."""

    texts: list[str]
    truths: list[list[str]]
    intents: list[str | None] = field(default_factory=list)
    predicted: dict[str, list[list[dict]]] = field(default_factory=dict)
    predicted_intents: list[str | None] = field(default_factory=list)

    def extend(self, other: Run) -> None:
        self.texts += other.texts
        self.truths += other.truths
        self.intents += other.intents
        self.predicted_intents += other.predicted_intents
        for name, preds in other.predicted.items():
            self.predicted.setdefault(name, []).extend(preds)


PIPELINE = "qi-coach pipeline"


def _without(component: str) -> Callable[[dict], dict]:
    def variant(config: dict) -> dict:
        pipeline = [c for c in config["pipeline"] if not c["name"].endswith(component)]
        if len(pipeline) == len(config["pipeline"]):
            raise ValueError(f"config.yml has no {component} to leave out")
        return {**config, "pipeline": pipeline}

    return variant


# Alternatives to the kept configuration, scored beside it: name -> how to derive it from config.yml.
VARIANTS: dict[str, Callable[[dict], dict]] = {
    "alternative: n-grams only (no sentence embedding)": _without("SentenceEmbeddingFeaturizer"),
}


def variant_configs(folder: Path, config: Path = CONFIG, names: Sequence[str] | None = None) -> dict[str, Path]:
    """Write each alternative configuration (derived from ``config``) into ``folder``."""
    base = yaml.safe_load(config.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, name in enumerate(VARIANTS if names is None else names):
        path = folder / f"variant{i}.yml"
        path.write_text(yaml.safe_dump(VARIANTS[name](base), sort_keys=False))
        out[name] = path
    return out


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
        run.predicted[name] = [r["barriers"] for r in answers]
    run.predicted_intents = [r.get("intent") for r in results[PIPELINE]]
    for baseline in (KeywordBaseline(), TfidfBaseline()):
        baseline.fit([e.text for e in train], [e.barriers for e in train])
        run.predicted[baseline.name] = baseline.predict(test_texts)
    return run


def cross_validate(examples: list[Example], folds: int, repeats: int, work: Path, config: Path = CONFIG,
                   progress=print, variants: dict[str, Path] | None = None) -> Run:
    """k-fold cross-validation of the pipeline (and of each variant config), baselines beside."""
    total = Run([], [])
    for repeat in range(repeats):
        fold_of = metrics.iterative_folds([e.barriers for e in examples], folds, seed=101 + repeat)
        for fold in range(folds):
            started = time.monotonic()
            train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
            test = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
            progress(f"  cross-validation repeat {repeat + 1}/{repeats}, fold {fold + 1}/{folds}: "
                     f"training on {len(train)}, testing on {len(test)} ...")
            jobs = {PIPELINE: partial(train_nlu, train, work / f"r{repeat}f{fold}", f"fold{fold}", config)}
            for i, (name, path) in enumerate((variants or {}).items()):
                jobs[name] = partial(train_nlu, train, work / f"r{repeat}f{fold}v{i}", f"fold{fold}", path)
            models = _side_by_side(jobs)
            model = models.pop(PIPELINE)
            run = evaluate_split(train, [e.text for e in test], [e.barriers for e in test], model, models)
            run.intents = [e.intent for e in test]
            total.extend(run)
            progress(f"    done in {time.monotonic() - started:.0f} s")
    return total


def summarise(run: Run) -> dict:
    out = {}
    for name, preds in run.predicted.items():
        s = metrics.score(run.truths, preds)
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


def main(folds: int = 5, repeats: int = 1, limit: int | None = None, skip_cv: bool = False,
         out: Path = PROJECT_ROOT / "reports" / "eval", model: Path | None = None, compare: bool = True) -> int:
    from qi_coach.classify import resolve_model
    from qi_coach.evaluation.report import write_report

    started = time.monotonic()
    every_example = training_examples()
    examples = every_example
    if limit:
        import random

        examples = random.Random(7).sample(every_example, min(limit, len(every_example)))
    results: dict = {"folds": folds, "repeats": repeats, "examples": len(examples)}
    runs: dict[str, Run] = {}
    print(f"Evaluating barrier classification ({len(examples)} training examples)", flush=True)
    items = heldout()
    with tempfile.TemporaryDirectory(prefix="qi-eval-") as tmp:
        variants = variant_configs(Path(tmp) / "configs") if compare else {}
        if variants:
            print(f"Training {', '.join(variants)} on all the training data ...", flush=True)
        held_models = _side_by_side({name: partial(train_nlu, every_example, Path(tmp) / f"heldout-v{i}", "variant",
                                                   path) for i, (name, path) in enumerate(variants.items())})
        print(f"Held-out set: {len(items)} messages (hash verified); classifying with the current model ...",
              flush=True)
        runs["heldout"] = evaluate_split(every_example, [i["text"] for i in items], [i["barriers"] for i in items],
                                         resolve_model(str(model) if model else None), held_models)
        if not skip_cv:
            runs["cross_validation"] = cross_validate(examples, folds, repeats, Path(tmp),
                                                      progress=lambda m: print(m, flush=True), variants=variants)
    for name, run in runs.items():
        results[name] = summarise(run)
    results["seconds"] = round(time.monotonic() - started)
    write_report(results, runs, out)
    print(f"Report written to {out}/summary.md in {results['seconds']} s", flush=True)
    return 0
