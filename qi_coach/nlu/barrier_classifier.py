"""The multi-label barrier classifier: which of the 13 barriers a message describes.

Rasa's intents are single-label, so this is a component of the project's own. It learns from
every training example: ``describe_problem`` examples carry ``metadata: {barriers: [...]}``,
and every other example (greetings, tool questions, out of scope...) is a negative for all 13.

Model: one logistic regression per barrier over the pipeline's sentence features: the sparse
ones (lemma and character n-grams from the CountVectorsFeaturizers), TF-IDF weighted and L2
normalised so a long message is not "more" of every barrier, beside the dense ones (the
sentence embedding), which carry meaning the n-grams miss. Each featurizer's block is
normalised on its own: normalised together, the character n-grams (dozens per word) would
drown the lemma n-grams (one or two per word); apart, each counts the same. The decision thresholds are not
guessed: training runs k-fold cross-validation and keeps the pair that maximises micro-F1 on
the out-of-fold predictions (the grid, the chosen values and the figures are saved with the
model in ``barrier_cv.json``). There are two because the questions differ: is this message
about a barrier at all (the top barrier's threshold), and does it also describe another one
(a further barrier must clear a threshold at least as high)?

Output (added to every parse result):
- ``barriers``: ``[{"id", "confidence"}]`` above the thresholds, most confident first;
- ``barrier_candidates``: the top three whatever their confidence, for clarifying questions;
- ``barrier_assessment``: ``confident`` when the top barrier reaches the confidence at which
  cross-validated precision was at least 90%, ``unsure`` when something is there but below
  that (the bot then asks instead of guessing), ``none`` otherwise.
A confident barrier reading wins over a conversational intent: short complaints such as
"no budget" or "IT says no" look like a "deny" to the intent classifier, but the barrier
model, trained with every conversational example as a negative, knows better, so the intent
becomes ``describe_problem``. Intents that carry a request of their own (a tool question,
"we already tried X") keep theirs. Otherwise, messages whose intent is confidently
conversational (a greeting, a thank-you...) get no barriers: the taxonomy says they describe none.

The trained weights are plain arrays in an ``.npz`` file, loaded with pickling disabled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.schema import BARRIER_IDS
from qi_coach.readings import BARRIER_ASSESSMENT, BARRIER_CANDIDATES, BARRIERS, Assessment, BarrierReading, Origin

logger = logging.getLogger(__name__)

TARGET_PRECISION = 0.9
PROBLEM_INTENT = "describe_problem"
WEIGHTS_FILE = "barrier_model.npz"
CV_FILE = "barrier_cv.json"


def example_barriers(message: Message) -> list[str]:
    """The barrier labels a training example carries (``metadata: {barriers: [...]}``)."""
    metadata = message.get("metadata") or {}
    example = metadata.get("example") if isinstance(metadata, dict) else None
    labels = (example or {}).get("barriers") or []
    unknown = [b for b in labels if b not in BARRIER_IDS]
    if unknown:
        raise ValueError(f"training example '{message.get(TEXT)}' has unknown barrier ids {unknown}")
    return list(labels)


def label_matrix(label_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per example, one 0/1 column per barrier id (in ``BARRIER_IDS`` order)."""
    labels = np.zeros((len(label_lists), len(BARRIER_IDS)), dtype=int)
    for i, barriers in enumerate(label_lists):
        for barrier in barriers:
            labels[i, BARRIER_IDS.index(barrier)] = 1
    return labels


def example_source(message: Message) -> str:
    """Where a real-language training example came from (``metadata: {source: ...}``), else ''."""
    metadata = message.get("metadata") or {}
    example = metadata.get("example") if isinstance(metadata, dict) else None
    return str((example or {}).get("source") or "")


def sentence_features(messages: list[Message]) -> tuple[sp.csr_matrix, np.ndarray, tuple[int, ...]]:
    """The sentence-level features every featurizer before us produced: sparse counts, dense
    vectors, and the width of each sparse featurizer's block within the counts."""
    rows, dense, blocks = [], [], ()
    for message in messages:
        if not blocks:
            blocks = tuple(message.get_sparse_feature_sizes(TEXT)[FEATURE_TYPE_SENTENCE])
        _, sentence = message.get_sparse_features(TEXT)
        rows.append(sp.csr_matrix(sentence.features) if sentence is not None else None)
        _, vector = message.get_dense_features(TEXT)
        dense.append(np.asarray(vector.features, dtype=np.float64).reshape(-1) if vector is not None else None)
    width = max((r.shape[1] for r in rows if r is not None), default=0)
    counts = sp.vstack([r if r is not None else sp.csr_matrix((1, width)) for r in rows]).tocsr()
    dense_width = max((len(d) for d in dense if d is not None), default=0)
    vectors = np.vstack([d if d is not None else np.zeros(dense_width) for d in dense]) if dense_width \
        else np.zeros((len(messages), 0))
    return counts, vectors, blocks or (counts.shape[1],)


class LinearBarrierModel:
    """TF-IDF weighting and L2 norm of each block of counts, the dense vectors beside them,
    then one logistic regression per barrier."""

    def __init__(self, idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray, threshold: float,
                 confident: float = 1.0, threshold_more: float | None = None,
                 blocks: tuple[int, ...] | None = None):
        self.idf, self.coef, self.intercept = idf, coef, intercept
        self.threshold, self.confident = float(threshold), float(confident)
        self.threshold_more = float(threshold if threshold_more is None else threshold_more)
        self.blocks = tuple(int(b) for b in blocks) if blocks is not None else (idf.shape[0],)
        if sum(self.blocks) != idf.shape[0]:
            raise ValueError(f"feature blocks {self.blocks} do not add up to the {idf.shape[0]} weights")

    @staticmethod
    def weigh(counts: sp.csr_matrix, idf: np.ndarray, blocks: tuple[int, ...] | None = None) -> sp.csr_matrix:
        """Sublinear TF-IDF, each block (one featurizer's columns) L2-normalised on its own."""
        from sklearn.preprocessing import normalize

        tf = counts.copy().astype(np.float64).tocsr()
        tf.data = 1.0 + np.log(np.maximum(tf.data, 1e-12))  # sublinear term frequency
        weighted = tf.multiply(idf.reshape(1, -1)).tocsc()
        edges = np.cumsum((0, *(blocks or (idf.shape[0],))))
        parts = [normalize(weighted[:, a:b], norm="l2", axis=1)
                 for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
        return sp.hstack(parts).tocsr() if parts else sp.csr_matrix((counts.shape[0], 0))

    @staticmethod
    def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        return np.log((1 + counts.shape[0]) / (1 + df)) + 1.0

    @staticmethod
    def _design(weighted: sp.csr_matrix, dense: np.ndarray) -> sp.csr_matrix:
        return sp.hstack([weighted, sp.csr_matrix(dense)]).tocsr() if dense.shape[1] else weighted

    @classmethod
    def fit(cls, counts: sp.csr_matrix, dense: np.ndarray, labels: np.ndarray, c: float,
            threshold: float = 0.5, blocks: tuple[int, ...] | None = None,
            weights: np.ndarray | None = None) -> LinearBarrierModel:
        from sklearn.linear_model import LogisticRegression

        idf = cls.fit_idf(counts)
        x = cls._design(cls.weigh(counts, idf, blocks), dense)
        coef = np.zeros((labels.shape[1], x.shape[1]))
        intercept = np.zeros(labels.shape[1])
        for j in range(labels.shape[1]):
            if labels[:, j].sum() == 0:
                intercept[j] = -10.0  # never seen: never predicted
                continue
            clf = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=1000,
                                     random_state=0)
            clf.fit(x, labels[:, j], sample_weight=weights)
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        return cls(idf, coef, intercept, threshold, blocks=blocks)

    def predict_proba(self, counts: sp.csr_matrix, dense: np.ndarray) -> np.ndarray:
        width, dense_width = self.idf.shape[0], self.coef.shape[1] - self.idf.shape[0]
        if counts.shape[1] != width:  # defensive: a featurizer vocabulary that changed shape
            counts = sp.csr_matrix(counts)[:, :width] if counts.shape[1] > width else sp.hstack(
                [counts, sp.csr_matrix((counts.shape[0], width - counts.shape[1]))]).tocsr()
        if dense.shape[1] == 0 and dense_width:  # no message in the batch had text to embed
            dense = np.zeros((counts.shape[0], dense_width))
        if dense.shape[1] != dense_width:
            raise ValueError(f"the barrier model was trained with {dense_width} dense features, "
                             f"the pipeline gave {dense.shape[1]}: retrain the model")
        scores = self._design(self.weigh(counts, self.idf, self.blocks), dense) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(scores)))


def decide(probabilities: np.ndarray, threshold: float, threshold_more: float, limit: int = 13) -> np.ndarray:
    """Which barriers each row predicts: the top one if it clears ``threshold``, each further
    one (up to ``limit`` in all) if it clears ``threshold_more``."""
    ranks = np.argsort(np.argsort(-probabilities, axis=1, kind="stable"), axis=1, kind="stable")
    needed = np.where(ranks == 0, threshold, threshold_more)
    return (probabilities >= needed) & (ranks < limit)


def micro_f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    """F1 over every (message, barrier) decision given; for one barrier's column, its own F1."""
    tp = float((predicted & (labels == 1)).sum())
    fp = float((predicted & (labels == 0)).sum())
    fn = float((~predicted & (labels == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def choose_thresholds(probabilities: np.ndarray, labels: np.ndarray, grid: list[float],
                      limit: int = 13) -> tuple[float, float, dict]:
    """The pair (top barrier, further barriers) from the grid, further >= top, with the best
    micro-F1 on out-of-fold predictions (ties: the higher pair)."""
    table = {}
    for top in grid:
        for more in (g for g in grid if g >= top):
            table[(round(top, 3), round(more, 3))] = round(micro_f1(decide(probabilities, top, more, limit), labels), 4)
    best = max(table, key=lambda pair: (table[pair], pair))
    return best[0], best[1], table


def per_barrier_f1(predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {barrier: round(micro_f1(predicted[:, j], labels[:, j]), 4) for j, barrier in enumerate(BARRIER_IDS)}


def confident_threshold(probabilities: np.ndarray, labels: np.ndarray, grid: list[float],
                        floor: float, target: float = TARGET_PRECISION) -> tuple[float, dict]:
    """The lowest grid value (not below ``floor``) whose predictions reach ``target`` precision."""
    table = {}
    for t in grid + [0.85, 0.9, 0.95]:
        predicted = probabilities >= t
        n = int(predicted.sum())
        table[round(t, 3)] = round(float((predicted & (labels == 1)).sum()) / n, 4) if n else 1.0
    for t in sorted(table):
        if t >= floor and table[t] >= target:
            return t, table
    return max(table), table


def inner_folds(sources: list[str], k: int, seed: int = 13) -> np.ndarray:
    """A fold per training example for choosing thresholds: synthetic examples shuffled into k
    folds, real-language examples grouped by source (one source never on both sides)."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(sources), dtype=int)
    synthetic = [i for i, s in enumerate(sources) if not s]
    for n, i in enumerate(rng.permutation(synthetic)):
        fold[i] = n % k
    real: dict[str, list[int]] = {}
    for i, s in enumerate(sources):
        if s:
            real.setdefault(s, []).append(i)
    sizes = [0] * k
    for source in sorted(real, key=lambda s: (-len(real[s]), s)):  # largest first, into the smallest fold
        f = min(range(k), key=lambda j: (sizes[j], j))
        fold[real[source]] = f
        sizes[f] += len(real[source])
    return fold


@dataclass(frozen=True)
class FitOptions:
    """How the barrier model is fitted and its thresholds chosen (the component's config)."""

    c: float = 8.0  # inverse regularisation of each logistic regression
    cv_folds: int = 3  # 3 folds chose thresholds as well as 5 in the comparisons and train 40% faster
    threshold_grid: tuple[float, ...] = tuple(round(0.2 + 0.025 * i, 3) for i in range(25))  # 0.20 .. 0.80
    max_barriers: int = 4
    real_weight: float = 1.0  # sample weight of a real-language example (synthetic ones weigh 1)
    calibrate_on: str = "all"  # "all" examples' out-of-fold predictions, or only the "real" ones'

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FitOptions:
        return cls(c=float(config["C"]), cv_folds=int(config["cv_folds"]),
                   threshold_grid=tuple(config["threshold_grid"]), max_barriers=int(config["max_barriers"]),
                   real_weight=float(config.get("real_weight", 1.0)),
                   calibrate_on=str(config.get("calibrate_on", "all")))


def fit_barrier_model(counts: sp.csr_matrix, dense: np.ndarray, labels: np.ndarray, blocks: tuple[int, ...],
                      sources: list[str], options: FitOptions = FitOptions()) -> tuple[LinearBarrierModel, dict]:
    """The barrier model and its thresholds, from training features alone.

    k-fold cross-validation inside the training data gives out-of-fold probabilities; the
    decision thresholds maximise micro-F1 on them, and "confident" starts where precision
    reaches ``TARGET_PRECISION``. With ``calibrate_on="real"`` (and real-language examples
    present) only the real examples' out-of-fold predictions choose them: the thresholds then
    fit how people write, not how the synthetic data was written. The evaluation calls this
    same function, so what it measures is the rule the bot trains with.
    """
    if options.calibrate_on not in ("all", "real"):
        raise ValueError(f"calibrate_on must be 'all' or 'real', not {options.calibrate_on!r}")
    is_real = np.array([bool(s) for s in sources])
    weights = np.where(is_real, options.real_weight, 1.0) if options.real_weight != 1.0 else None
    folds = inner_folds(sources, options.cv_folds)
    oof = np.zeros(labels.shape, dtype=float)
    for f in range(options.cv_folds):
        train, test = folds != f, folds == f
        if not test.any():
            continue
        model = LinearBarrierModel.fit(counts[train], dense[train], labels[train], options.c, blocks=blocks,
                                       weights=None if weights is None else weights[train])
        oof[test] = model.predict_proba(counts[test], dense[test])
    use = is_real if options.calibrate_on == "real" and is_real.any() else np.ones(len(sources), dtype=bool)
    grid = list(options.threshold_grid)
    threshold, more, table = choose_thresholds(oof[use], labels[use], grid, options.max_barriers)
    confident, precision = confident_threshold(oof[use], labels[use], grid, threshold)
    per_barrier = per_barrier_f1(decide(oof[use], threshold, more, options.max_barriers), labels[use])
    model = LinearBarrierModel.fit(counts, dense, labels, options.c, threshold, blocks, weights)
    model.confident, model.threshold_more = confident, more
    return model, {
        "folds": options.cv_folds, "examples": int(labels.shape[0]), "real_examples": int(is_real.sum()),
        "calibrated_on": "real" if use is is_real else "all", "calibration_examples": int(use.sum()),
        "real_weight": options.real_weight, "chosen_threshold": threshold, "chosen_threshold_further": more,
        "micro_f1": table[(threshold, more)],
        "macro_f1": round(float(np.mean(list(per_barrier.values()))), 4),
        "f1_by_barrier": per_barrier,
        "micro_f1_by_thresholds": {f"{a}/{b}": v for (a, b), v in table.items()},
        "confident_threshold": confident,
        "precision_at_or_above": precision,
    }


@dataclass(frozen=True)
class Reading:
    """What the classifier makes of one message (before the intent is taken into account)."""

    barriers: list[dict]  # readings (their dict form) above the thresholds, most confident first
    candidates: list[dict]  # the top three whatever their confidence, for clarifying
    assessment: str  # an Assessment value


def read(row: np.ndarray, model: LinearBarrierModel, max_barriers: int = 4) -> Reading:
    """One message's barrier probabilities as a reading: the one rule for barriers, candidates
    and how sure the bot is, used by the component and by the evaluation."""
    ranked = [BarrierReading(b, min(1.0, max(0.0, round(float(p), 4))), Origin.CLASSIFIER).as_dict()
              for b, p in sorted(zip(BARRIER_IDS, row, strict=True), key=lambda bp: (-bp[1], bp[0]))]
    candidates = ranked[:3]
    barriers = [r for i, r in enumerate(ranked[:max_barriers])
                if r["confidence"] >= (model.threshold if i == 0 else model.threshold_more)]
    if barriers and barriers[0]["confidence"] >= model.confident:
        assessment = Assessment.CONFIDENT
    elif barriers or candidates[0]["confidence"] >= model.threshold / 2:
        assessment = Assessment.UNSURE
    else:
        assessment = Assessment.NONE
    return Reading(barriers, candidates, assessment.value)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BarrierClassifier(GraphComponent):
    """Multi-label barrier classifier (see the module docstring)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        fitting = FitOptions()  # the fitting defaults have one owner; config.yml may override each
        return {
            "C": fitting.c,
            "cv_folds": fitting.cv_folds,
            "threshold_grid": list(fitting.threshold_grid),
            "max_barriers": fitting.max_barriers,
            "real_weight": fitting.real_weight,
            "calibrate_on": fitting.calibrate_on,
            # intents that describe no barrier (taxonomy: "Not a barrier"), when this sure
            "conversational_intents": ["greet", "goodbye", "thank", "affirm", "deny", "ask_capabilities",
                                       "ask_tool", "ask_human", "ask_more", "feedback_useful",
                                       "feedback_not_useful", "out_of_scope", "describe_project",
                                       "start_triage", "skip_question", "previous_question", "cancel", "show_plan"],
            "conversational_confidence": 0.7,
            # intents a confident barrier reading may replace with describe_problem
            "overridable_intents": ["greet", "goodbye", "thank", "affirm", "deny", "feedback_useful",
                                    "feedback_not_useful", "out_of_scope", "describe_project",
                                    "unreadable_input", "ask_capabilities", "ask_human", "ask_more"],
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: LinearBarrierModel | None = None):
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> BarrierClassifier:
        return cls(config, model_storage, resource)

    # training ----------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.training_examples if m.get(TEXT) and m.get(INTENT)]
        counts, dense, blocks = sentence_features(examples)
        labels = label_matrix([example_barriers(m) for m in examples])
        sources = [example_source(m) for m in examples]
        self.model, report = fit_barrier_model(counts, dense, labels, blocks, sources,
                                               FitOptions.from_config(self.config))
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(folder / WEIGHTS_FILE, idf=self.model.idf, coef=self.model.coef,
                     intercept=self.model.intercept,
                     threshold=np.array([self.model.threshold, self.model.confident, self.model.threshold_more]),
                     blocks=np.array(blocks))
            (folder / CV_FILE).write_text(json.dumps(report, indent=2))
        logger.info("Barrier classifier trained on %d examples (%d real); thresholds %.3f (top), %.3f (further)",
                    len(examples), report["real_examples"], self.model.threshold, self.model.threshold_more)
        return self._resource

    # prediction --------------------------------------------------------------------------

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> BarrierClassifier:
        with model_storage.read_from(resource) as folder:
            arrays = np.load(folder / WEIGHTS_FILE, allow_pickle=False)
            thresholds = [float(t) for t in arrays["threshold"]]  # top, confident[, further]
            blocks = tuple(arrays["blocks"]) if "blocks" in arrays.files else None  # older models: one block
            model = LinearBarrierModel(arrays["idf"], arrays["coef"], arrays["intercept"], thresholds[0],
                                       confident=thresholds[1] if len(thresholds) > 1 else 1.0,
                                       threshold_more=thresholds[2] if len(thresholds) > 2 else None, blocks=blocks)
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        counts, dense, _ = sentence_features(messages)
        probabilities = self.model.predict_proba(counts, dense)
        for message, row in zip(messages, probabilities, strict=True):
            reading = read(row, self.model, self.config["max_barriers"])
            barriers, assessment = reading.barriers, reading.assessment
            if assessment == Assessment.CONFIDENT.value:
                self._prefer_problem_intent(message, barriers[0]["confidence"])
            if self._conversational(message):
                barriers, assessment = [], Assessment.NONE.value
            message.set(BARRIERS, barriers, add_to_output=True)
            message.set(BARRIER_CANDIDATES, reading.candidates, add_to_output=True)
            message.set(BARRIER_ASSESSMENT, assessment, add_to_output=True)
        return messages

    def _prefer_problem_intent(self, message: Message, confidence: float) -> None:
        intent = message.get(INTENT) or {}
        if intent.get("name") not in [*self.config["overridable_intents"], PROBLEM_INTENT]:
            return
        top = {"name": PROBLEM_INTENT, "confidence": max(confidence, intent.get("confidence") or 0.0)}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != PROBLEM_INTENT]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)

    def _conversational(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        return (intent.get("name") in self.config["conversational_intents"]
                and (intent.get("confidence") or 0.0) >= self.config["conversational_confidence"])
