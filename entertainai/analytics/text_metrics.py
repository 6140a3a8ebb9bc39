"""Classification metrics on indicator matrices: macro-F1, accuracy, per-label F1, calibration.

Single-label results are passed as one-hot matrices, so one implementation serves both kinds
of task: ``Y`` and ``P`` are (n, classes) 0/1 arrays (truth and prediction), ``probs`` the
predicted probabilities.
"""

from __future__ import annotations

import numpy as np

from entertainai.classifier import one_hot as one_hot  # one implementation, old import path


def per_label_f1(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """F1 of each label (column); a label absent from both truth and prediction scores 1."""
    Y, P = np.asarray(Y, bool), np.asarray(P, bool)
    tp = (Y & P).sum(axis=0).astype(float)
    denom = Y.sum(axis=0) + P.sum(axis=0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)


def macro_f1(Y: np.ndarray, P: np.ndarray, *, present_only: bool = True) -> float:
    """Mean per-label F1, over labels present in the truth (sklearn's default label set)."""
    f1 = per_label_f1(Y, P)
    if present_only:
        present = np.asarray(Y, bool).any(axis=0)
        f1 = f1[present] if present.any() else f1
    return float(f1.mean()) if f1.size else 0.0


def accuracy(Y: np.ndarray, P: np.ndarray) -> float:
    """Exact-match accuracy (for single-label tasks: the usual accuracy)."""
    Y, P = np.asarray(Y, bool), np.asarray(P, bool)
    return float((Y == P).all(axis=1).mean()) if len(Y) else 0.0


def calibration_error(
    probs: np.ndarray, Y: np.ndarray, *, multi_label: bool, bins: int = 10
) -> float:
    """Expected calibration error: top-label for single-label, every (text, label) pair else."""
    probs = np.asarray(probs, float)
    Y = np.asarray(Y, bool)
    if multi_label:
        confidence, correct = probs.ravel(), Y.ravel().astype(float)
    else:
        top = probs.argmax(axis=1)
        confidence = probs[np.arange(len(probs)), top]
        correct = Y[np.arange(len(probs)), top].astype(float)
    if not len(confidence):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(error)


def classification_report(
    Y: np.ndarray, P: np.ndarray, probs: np.ndarray, classes: tuple[str, ...], *, multi_label: bool
) -> dict[str, float]:
    """The metrics a trained text model is registered with."""
    report = {
        "macro_f1": macro_f1(Y, P),
        "accuracy": accuracy(Y, P),
        "ece": calibration_error(probs, Y, multi_label=multi_label),
        "n": float(len(Y)),
    }
    for name, f1 in zip(classes, per_label_f1(Y, P), strict=True):
        report[f"f1_{name}"] = float(f1)
    return report
