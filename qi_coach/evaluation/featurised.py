"""Comparing barrier models quickly: the pipeline's features computed once, the model refitted.

A full ``rasa train nlu`` takes about four minutes here, so grouped cross-validation of several
configurations, each trained per fold, would not fit the half-hour ``make eval`` budget. The
barrier decision, though, is only the last step: the featurizers (spaCy lemmas, word and
character n-grams, the sentence embedding) turn text into vectors, and ``BarrierClassifier``
fits a model on them with ``fit_barrier_model``. So the shipped model's featurizers embed every
text once, and each configuration (``Recipe``) is refitted on each fold's training rows with that
same function, thresholds chosen inside the training rows exactly as in training.

What differs from a full retraining per fold: the n-gram vocabularies are those of the shipped
model, which saw the training texts of every fold (but no test-set text). A word seen only in a
held-out fold gets a column, but no weight, since its column is empty in the fold's training rows.
The frozen test sets are also scored by the shipped model itself (``qi-coach classify``), which
is the figure the bot lives by; the two agree closely (both are in the report).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from qi_coach.nlu.barrier_classifier import FitOptions, LinearBarrierModel, fit_barrier_model, label_matrix, read


@dataclass
class Features:
    """Every text's sentence features from one trained pipeline."""

    counts: sp.csr_matrix
    dense: np.ndarray
    blocks: tuple[int, ...]
    index: dict[str, int]  # text -> row

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.index[t] for t in texts], dtype=int)


def pipeline_features(model: Path, texts: Sequence[str], batch: int = 256, progress=print) -> Features:
    """Run the model's NLU graph on the texts and keep the features its featurizers made."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    unique = list(dict.fromkeys(texts))
    with contextlib.redirect_stdout(sys.stderr):
        from rasa.core.agent import Agent
        from rasa.core.channels import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker
        from rasa.utils.log_utils import configure_structlog

        from qi_coach.nlu.barrier_classifier import sentence_features

        configure_structlog(logging.WARNING)
        processor = Agent.load(str(model)).processor
        target = processor.model_metadata.nlu_target
        tracker = DialogueStateTracker("evaluation", slots=[])
        counts, dense = [], []
        blocks: tuple[int, ...] = ()
        for start in range(0, len(unique), batch):
            chunk = [UserMessage(t) for t in unique[start:start + batch]]
            messages = processor.graph_runner.run(inputs={PLACEHOLDER_MESSAGE: chunk, PLACEHOLDER_TRACKER: tracker},
                                                  targets=[target])[target]
            c, d, blocks = sentence_features(messages)
            counts.append(c)
            dense.append(d)
            progress(f"    features: {min(start + batch, len(unique))}/{len(unique)} texts")
    width = max(c.shape[1] for c in counts)
    counts = [c if c.shape[1] == width else sp.hstack([c, sp.csr_matrix((c.shape[0], width - c.shape[1]))])
              for c in counts]
    dense_width = max(d.shape[1] for d in dense)
    dense = [d if d.shape[1] == dense_width else np.zeros((d.shape[0], dense_width)) for d in dense]
    return Features(sp.vstack(counts).tocsr(), np.vstack(dense), tuple(blocks),
                    {t: i for i, t in enumerate(unique)})


@dataclass(frozen=True)
class Recipe:
    """One configuration of the barrier model to compare: which features, which training rows,
    how thresholds are chosen."""

    name: str
    options: FitOptions = field(default_factory=FitOptions)
    use_real_training: bool = True  # train on the real-language items too
    use_counts: bool = True
    use_dense: bool = True
    dense_scale: float = 1.0  # the embedding's weight beside the n-grams, relative to the pipeline's


@dataclass
class Fitted:
    recipe: Recipe
    model: LinearBarrierModel
    report: dict
    seconds: float = 0.0


def _design(features: Features, rows: np.ndarray, recipe: Recipe) -> tuple[sp.csr_matrix, np.ndarray, tuple[int, ...]]:
    counts = features.counts[rows] if recipe.use_counts else sp.csr_matrix((len(rows), 0))
    dense = features.dense[rows] if recipe.use_dense else np.zeros((len(rows), 0))
    if recipe.use_dense and recipe.dense_scale != 1.0:
        dense = dense * recipe.dense_scale
    blocks = features.blocks if recipe.use_counts else (0,)
    return counts, dense, blocks


def fit(recipe: Recipe, features: Features, texts: Sequence[str], labels: Sequence[Sequence[str]],
        sources: Sequence[str]) -> Fitted:
    """Fit one recipe on the given training texts (``sources``: '' for synthetic examples)."""
    import time

    started = time.monotonic()
    keep = [i for i, s in enumerate(sources) if recipe.use_real_training or not s]
    rows = features.rows([texts[i] for i in keep])
    y = label_matrix([labels[i] for i in keep])
    counts, dense, blocks = _design(features, rows, recipe)
    model, report = fit_barrier_model(counts, dense, y, blocks, [sources[i] for i in keep], recipe.options)
    return Fitted(recipe, model, report, time.monotonic() - started)


def predict(fitted: Fitted, features: Features, texts: Sequence[str]) -> list[dict]:
    """Readings for the texts: ``{"barriers", "candidates", "assessment"}`` each."""
    counts, dense, _ = _design(features, features.rows(texts), fitted.recipe)
    probabilities = fitted.model.predict_proba(counts, dense)
    out = []
    for row in probabilities:
        reading = read(row, fitted.model, fitted.recipe.options.max_barriers)
        out.append({"barriers": reading.barriers, "candidates": reading.candidates,
                    "assessment": reading.assessment})
    return out


# --- running many fits side by side ------------------------------------------------------------
# One fit takes about 45 s and holds the GIL (liblinear), so fits run in worker processes. The
# workers are spawned, not forked (the parent has TensorFlow loaded), and read the features
# from a file once each.

@dataclass(frozen=True)
class Job:
    """Fit ``recipe`` on the training rows, then read ``test_texts``; ``key`` says what it is for."""

    key: tuple
    recipe: Recipe
    texts: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]
    test_texts: tuple[str, ...]


@dataclass
class JobResult:
    key: tuple
    readings: list[dict]
    report: dict
    seconds: float


_FEATURES: Features | None = None


def save(features: Features, path: Path) -> None:
    np.savez(path, data=features.counts.data, indices=features.counts.indices, indptr=features.counts.indptr,
             shape=np.array(features.counts.shape), dense=features.dense, blocks=np.array(features.blocks),
             texts=np.array(list(features.index), dtype=object))


def load(path: Path) -> Features:
    arrays = np.load(path, allow_pickle=True)  # our own file, written a moment ago by save()
    counts = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
    return Features(counts, arrays["dense"], tuple(int(b) for b in arrays["blocks"]),
                    {str(t): i for i, t in enumerate(arrays["texts"])})


def _load_shared(path: str) -> None:
    global _FEATURES
    _FEATURES = load(Path(path))


def _run(job: Job) -> JobResult:
    assert _FEATURES is not None, "worker started without features"
    fitted = fit(job.recipe, _FEATURES, job.texts, job.labels, job.sources)
    return JobResult(job.key, predict(fitted, _FEATURES, job.test_texts), fitted.report, fitted.seconds)


def run_jobs(features: Features, jobs: Sequence[Job], work: Path, workers: int = 2,
             progress=print) -> list[JobResult]:
    """Every job, ``workers`` at a time, in the order given; progress after each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    path = work / "features.npz"
    save(features, path)
    results = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_load_shared, initargs=(str(path),)) as pool:
        for n, result in enumerate(pool.map(_run, jobs), 1):
            results.append(result)
            progress(f"    {n}/{len(jobs)} fits done ({', '.join(map(str, result.key))}, {result.seconds:.0f} s)")
    return results

