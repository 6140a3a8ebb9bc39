"""The one classifier protocol text and image classifiers share, and its decision rule.

A classifier is a fitted :class:`~entertainai.model.Model` with

* ``classes_`` — the label names, in column order of every probability matrix;
* ``multi_label_`` — whether each input may carry several labels (sigmoid per class) or
  exactly one (softmax);
* ``thresholds_`` — one decision threshold per class (see :func:`decide`);
* ``predict_proba(inputs) -> (n, classes) float32`` — calibrated per-class probabilities;
* ``predict(inputs)`` — the task's typed prediction (labels with the probabilities).

One rule turns probabilities into decisions (:func:`decide`), so a text moderator, an image
moderator and the analytics CLI agree on what a threshold means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

NEUTRAL_THRESHOLD = 0.5  # single-label: every class 0.5 leaves the plain argmax


@runtime_checkable
class Classifier(Protocol):
    """What every fitted classifier offers (``TextClassifier``, ``ImageClassifier``)."""

    kind: str
    classes_: tuple[str, ...]
    multi_label_: bool
    thresholds_: np.ndarray

    def check_fitted(self) -> None: ...

    def predict_proba(self, inputs: Any) -> np.ndarray: ...

    def predict(self, inputs: Any) -> Any: ...


def one_hot(index: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(index), n), np.int8)
    out[np.arange(len(index)), index] = 1
    return out


def decide(probabilities: np.ndarray, thresholds: np.ndarray, multi_label: bool) -> np.ndarray:
    """(n, classes) 0/1 decisions from probabilities and per-class thresholds.

    Multi-label: every class whose probability reaches its threshold. Single-label: the class
    with the largest ``p - threshold + 0.5`` — with every threshold at 0.5 that is the plain
    argmax; thresholds tuned on validation shift the boundary towards rare classes for
    macro-F1 without changing the probabilities themselves.
    """
    probabilities = np.asarray(probabilities)
    n_classes = probabilities.shape[1] if probabilities.ndim == 2 else 0
    thresholds = np.asarray(thresholds, float).reshape(-1)
    if len(thresholds) != n_classes:
        thresholds = np.full(n_classes, NEUTRAL_THRESHOLD)
    if multi_label:
        return (probabilities >= thresholds[None, :]).astype(np.int8)
    margin = probabilities - thresholds[None, :]
    return one_hot(margin.argmax(axis=1), n_classes)


def label_names(decisions: np.ndarray, classes: Sequence[str]) -> list[list[str]]:
    return [[c for c, on in zip(classes, row, strict=True) if on] for row in decisions]
