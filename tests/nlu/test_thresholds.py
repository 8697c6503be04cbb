"""The barrier classifier: its linear model, and thresholds that come from data (micro-F1, a precision target)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from qi_coach.nlu.barrier_classifier import LinearBarrierModel, choose_thresholds, confident_threshold, decide

LABELS = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [0, 0]])
PROBS = np.array([[0.9, 0.1], [0.55, 0.2], [0.2, 0.6], [0.45, 0.1], [0.3, 0.35]])


def test_thresholds_maximise_micro_f1_on_out_of_fold_predictions():
    top, more, table = choose_thresholds(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7])
    # 0.5 keeps all three true labels and drops the two false ones; among equals the higher pair wins
    assert (top, more) == (0.5, 0.7) and table[(0.5, 0.5)] == table[(0.5, 0.7)] == 1.0
    assert table[(0.3, 0.3)] < 1.0
    assert all(m >= t for t, m in table)  # a further barrier never needs less than the top one


def test_a_further_barrier_needs_more_evidence_than_the_top_one():
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0]])
    probs = np.array([[0.45, 0.42, 0.1], [0.8, 0.7, 0.1], [0.1, 0.46, 0.2], [0.9, 0.1, 0.44]])
    # one threshold cannot keep 0.45 and 0.46 (top, right) while dropping 0.42 and 0.44 (second, wrong)
    top, more, table = choose_thresholds(probs, labels, [0.4, 0.45, 0.5, 0.6])
    assert (top, more) == (0.45, 0.6) and table[(top, more)] == 1.0
    assert decide(probs, top, more).tolist() == [[True, False, False], [True, True, False],
                                                 [False, True, False], [True, False, False]]
    assert decide(probs, 0.4, 0.4, limit=1).sum(axis=1).max() == 1  # at most `limit` per message


def test_confident_threshold_is_the_lowest_reaching_the_precision_target():
    t, precision = confident_threshold(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7], floor=0.3, target=0.9)
    assert t == 0.5 and precision[0.5] == 1.0 and precision[0.4] < 0.9


def test_confident_threshold_never_goes_below_the_decision_threshold():
    t, _ = confident_threshold(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7], floor=0.7, target=0.5)
    assert t == 0.7


def test_the_linear_model_reads_counts_and_embeddings_and_copes_without_embeddings():
    counts = sp.csr_matrix(np.array([[2, 0, 1], [0, 3, 0], [1, 0, 2], [0, 1, 0]]))
    dense = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    model = LinearBarrierModel.fit(counts, dense, labels, c=8.0)
    assert model.coef.shape == (2, 5)  # three counts and two embedding dimensions
    probabilities = model.predict_proba(counts, dense)
    assert (probabilities.argmax(axis=1) == labels.argmax(axis=1)).all()
    # a batch with nothing embedded (no text) still gets an answer from its counts
    assert model.predict_proba(counts[:1], np.zeros((1, 0))).shape == (1, 2)
    with pytest.raises(ValueError, match="retrain"):
        model.predict_proba(counts[:1], np.zeros((1, 3)))


def test_each_featurizers_block_is_normalised_on_its_own():
    # one word column, then a block of many character n-grams: apart, each block has norm 1,
    # so the many character columns cannot drown the word
    counts = sp.csr_matrix(np.array([[1, 4, 4, 4, 4], [0, 1, 0, 0, 0]]))
    idf = np.ones(5)
    together = LinearBarrierModel.weigh(counts, idf).toarray()
    apart = LinearBarrierModel.weigh(counts, idf, (1, 4)).toarray()
    assert np.allclose(np.linalg.norm(apart[0, :1]), 1.0) and np.allclose(np.linalg.norm(apart[0, 1:]), 1.0)
    assert together[0, 0] < 0.3 and apart[0, 0] == pytest.approx(1.0)
    assert np.allclose(apart[1], [0, 1, 0, 0, 0])  # an empty block stays empty, not NaN


def test_blocks_must_cover_the_weights():
    with pytest.raises(ValueError, match="do not add up"):
        LinearBarrierModel(np.ones(5), np.zeros((2, 5)), np.zeros(2), 0.5, blocks=(1, 3))
