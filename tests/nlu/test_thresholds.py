"""The barrier classifier's thresholds come from data: micro-F1 and a precision target."""

from __future__ import annotations

import numpy as np

from qi_coach.nlu.barrier_classifier import choose_threshold, confident_threshold

LABELS = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [0, 0]])
PROBS = np.array([[0.9, 0.1], [0.55, 0.2], [0.2, 0.6], [0.45, 0.1], [0.3, 0.35]])


def test_threshold_maximises_micro_f1_on_out_of_fold_predictions():
    best, table = choose_threshold(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7])
    assert best == 0.5  # keeps all three true labels, drops the two false ones
    assert table[0.5] == 1.0 and table[0.3] < 1.0


def test_confident_threshold_is_the_lowest_reaching_the_precision_target():
    t, precision = confident_threshold(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7], floor=0.3, target=0.9)
    assert t == 0.5 and precision[0.5] == 1.0 and precision[0.4] < 0.9


def test_confident_threshold_never_goes_below_the_decision_threshold():
    t, _ = confident_threshold(PROBS, LABELS, [0.3, 0.4, 0.5, 0.7], floor=0.7, target=0.5)
    assert t == 0.7
