"""Metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from entertainai.analytics.text_metrics import (
    accuracy,
    calibration_error,
    macro_f1,
    one_hot,
    per_label_f1,
)


def test_macro_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    Y, P = one_hot(y, 4), one_hot(p, 4)
    assert np.isclose(macro_f1(Y, P), f1_score(y, p, average="macro"))
    assert np.isclose(accuracy(Y, P), (y == p).mean())
    Ym, Pm = rng.random((50, 3)) < 0.3, rng.random((50, 3)) < 0.3
    assert np.isclose(macro_f1(Ym, Pm), f1_score(Ym, Pm, average="macro", zero_division=1.0))


def test_per_label_f1_by_hand():
    Y = np.array([[1, 0], [1, 0], [0, 1]])
    P = np.array([[1, 0], [0, 0], [0, 1]])
    assert np.allclose(per_label_f1(Y, P), [2 / 3, 1.0])


def test_calibration_error():
    probs = np.array([[0.9, 0.1]] * 10)
    Y = one_hot(np.array([0] * 9 + [1]), 2)
    assert np.isclose(calibration_error(probs, Y, multi_label=False), 0.0)
    Y = one_hot(np.array([0] * 5 + [1] * 5), 2)
    assert np.isclose(calibration_error(probs, Y, multi_label=False), 0.4)
