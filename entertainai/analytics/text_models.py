"""The text classifiers' shared contract: base class, predictions, calibration and thresholds.

Every classifier is a :class:`~entertainai.model.Model` that fits on
:class:`~entertainai.analytics.text_data.LabelledTexts` (single- or multi-label) and predicts
:class:`TextPredictions`: per-class probabilities, the labels, and for sentiment a compound
score ``P(positive) - P(negative)``. Trained classifiers hold out a validation split to
calibrate their probabilities (one temperature) and, when multi-label, to tune one threshold
per label for F1 (single-label: per-class thresholds for macro-F1, when the config asks).
Nothing is pickled: vocabularies are JSON, weights ``.npz``. The classifier protocol and the
decision rule are shared with image classifiers (:mod:`entertainai.classifier`).

The models, one per file: ``lexicon.py`` (``lexicon_sentiment``, VADER), ``tfidf_linear.py``
(``tfidf_linear``), ``neural_text.py`` (``neural_text``, tf-keras) and ``encoder_text.py``
(``encoder_text``, a pretrained sentence encoder beside TF-IDF; optional extra).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from entertainai.analytics.text_data import LabelledTexts
from entertainai.analytics.text_metrics import macro_f1
from entertainai.classifier import decide, label_names
from entertainai.errors import InputError
from entertainai.model import ConfigT, Model

log = logging.getLogger(__name__)

SENTIMENT_CLASSES = ("negative", "neutral", "positive")
LABELS_FILE = "labels.json"
_THRESHOLD_GRID = np.round(np.linspace(0.05, 0.95, 19), 2)


# ---- the shared output ---------------------------------------------------------------------


@dataclass(frozen=True)
class TextPredictions:
    """Per-class probabilities of a batch of texts, and the labels they imply."""

    classes: tuple[str, ...]
    probabilities: np.ndarray  # (n, classes) float32
    multi_label: bool
    thresholds: np.ndarray  # (classes,) decision thresholds (multi-label only)
    model: str = ""

    def indicators(self) -> np.ndarray:
        """(n, classes) 0/1 decisions (:func:`entertainai.classifier.decide`)."""
        return decide(self.probabilities, self.thresholds, self.multi_label)

    def labels(self) -> list[list[str]]:
        return label_names(self.indicators(), self.classes)

    @property
    def compound(self) -> np.ndarray | None:
        """P(positive) - P(negative) in [-1, 1], when both classes exist."""
        if "positive" in self.classes and "negative" in self.classes:
            pos, neg = self.classes.index("positive"), self.classes.index("negative")
            return self.probabilities[:, pos] - self.probabilities[:, neg]
        return None

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-able dict per text: label(s), per-class probabilities, compound if any."""
        compound = self.compound
        out = []
        for i, labels in enumerate(self.labels()):
            row: dict[str, Any] = {
                "label": labels[0] if (labels and not self.multi_label) else None,
                "labels": labels,
                "probabilities": {
                    c: round(float(p), 6)
                    for c, p in zip(self.classes, self.probabilities[i], strict=True)
                },
            }
            if self.multi_label:
                top = int(self.probabilities[i].argmax())
                row["label"] = "|".join(labels) if labels else None
                row["top"] = self.classes[top]
            if compound is not None:
                row["compound"] = round(float(compound[i]), 6)
            out.append(row)
        return out


# ---- shared helpers ------------------------------------------------------------------------


def indicator_matrix(labels: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    Y = np.zeros((len(labels), len(classes)), dtype=np.int8)
    for row, names in enumerate(labels):
        for name in names:
            if name in index:
                Y[row, index[name]] = 1
    return Y


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def activate(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    return sigmoid(logits) if multi_label else softmax(logits)


def fit_temperature(logits: np.ndarray, Y: np.ndarray, multi_label: bool) -> float:
    """The temperature T minimising validation log-loss of ``activate(logits / T)``."""
    from scipy.optimize import minimize_scalar

    if len(logits) == 0:
        return 1.0
    eps = 1e-7

    def nll(log_t: float) -> float:
        p = np.clip(activate(logits / np.exp(log_t), multi_label), eps, 1 - eps)
        if multi_label:
            return float(-(Y * np.log(p) + (1 - Y) * np.log(1 - p)).mean())
        return float(-np.log(p[Y.astype(bool)]).mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def tune_thresholds(probs: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-label thresholds maximising validation F1 (0.5 where a label never occurs)."""
    thresholds = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        truth = Y[:, j].astype(bool)
        if not truth.any():
            continue
        best = -1.0
        for t in _THRESHOLD_GRID:
            pred = probs[:, j] >= t
            tp = float((pred & truth).sum())
            f1 = 2 * tp / max(float(pred.sum() + truth.sum()), 1.0)
            # Ties go to the threshold nearest 0.5: the least tuned to this particular sample.
            if f1 > best + 1e-12 or (
                abs(f1 - best) <= 1e-12 and abs(t - 0.5) < abs(thresholds[j] - 0.5)
            ):
                best, thresholds[j] = f1, t
    return thresholds


_OFFSETS = np.round(np.linspace(-0.3, 0.3, 25), 3)


def tune_class_thresholds(probs: np.ndarray, Y: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Single-label thresholds (``argmax(p - t)``) maximising validation macro-F1.

    Coordinate ascent from 0.5 everywhere (the plain argmax); a change must gain more than
    0.002 macro-F1 so that noise in a small validation split does not move the boundary.
    """
    n = probs.shape[1]
    thresholds = np.full(n, 0.5)
    if len(probs) == 0 or n < 2:
        return thresholds

    def score(t: np.ndarray) -> float:
        return macro_f1(Y, decide(probs, t, False))

    best = score(thresholds)
    for _ in range(rounds):
        changed = False
        for j in range(n):
            for offset in _OFFSETS:
                trial = thresholds.copy()
                trial[j] = 0.5 + offset
                value = score(trial)
                if value > best + 0.002:
                    best, thresholds, changed = value, trial, True
        if not changed:
            break
    return thresholds


def validate_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list of strings, or an InputError naming the first bad one.

    (Input validation; not to be confused with ``moderation.text.check_texts``, which
    moderates texts.)
    """
    if isinstance(texts, str):
        raise InputError("expected a list of texts, got one string")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(
                f"expected a string, got {type(text).__name__}", location=f"texts[{i}]"
            )
        out.append(text)
    return out


# ---- the base class ------------------------------------------------------------------------


class TextClassifier(Model[ConfigT]):
    """Fit on labelled texts, predict calibrated per-class probabilities."""

    calibrated: ClassVar[bool] = True  # fit a temperature (and thresholds) on validation

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.classes_: tuple[str, ...] = ()
        self.multi_label_ = False
        self.temperature_ = 1.0
        self.thresholds_ = np.zeros(0)
        self.validation_macro_f1_ = float("nan")  # on the split it held out (model selection)

    @property
    def labels_(self) -> tuple[str, ...]:
        """The label names (the classifier protocol's other spelling of ``classes_``)."""
        return self.classes_

    def fit(self, data: LabelledTexts) -> Self:
        """Fit on ``data`` minus a seeded validation split, then calibrate on that split.

        With ``calibration_folds`` > 1 in the config, calibrate instead on out-of-fold
        predictions over every row (k models, each fit on the other folds), then fit once on
        all rows: thresholds for a rare class come from all of its examples, not 15% of them.
        """
        if len(data) < 2:
            raise InputError(f"need at least two labelled texts, got {len(data)}")
        self.classes_ = data.classes
        self.multi_label_ = data.multi_label
        if not self.multi_label_ and len(self.classes_) < 2:
            raise InputError(f"need at least two classes, got {list(self.classes_)}")
        seed = int(getattr(self.config, "seed", 0))
        folds = int(getattr(self.config, "calibration_folds", 0))
        if self.calibrated and folds > 1 and len(data) >= 5 * folds:
            return self._fit_cross(data, folds, seed)
        fraction = float(getattr(self.config, "validation_fraction", 0.0))
        if self.calibrated and fraction > 0 and len(data) >= 10:
            train, val = data.split(fraction, seed)
        else:
            train, val = data, data.subset(np.zeros(0, int))
        Y_train = indicator_matrix(train.labels, self.classes_)
        Y_val = indicator_matrix(val.labels, self.classes_)
        self._fit(train.texts, Y_train, val.texts, Y_val)
        self._calibrate(self._logits(val.texts) if len(val) else None, Y_val)
        self.fitted_ = True
        return self

    def _fit_cross(self, data: LabelledTexts, k: int, seed: int) -> Self:
        Y = indicator_matrix(data.labels, self.classes_)
        logits = np.zeros(Y.shape, np.float64)
        for rows in data.folds(k, seed):
            rest = np.setdiff1d(np.arange(len(data)), rows)
            part = type(self)(self.config)
            part.classes_, part.multi_label_ = self.classes_, self.multi_label_
            # No validation texts for the fold's fit: the held-out fold must stay unseen.
            part._fit(data.subset(rest).texts, Y[rest], [], Y[:0])
            logits[rows] = part._logits(data.subset(rows).texts)
        self._fit(data.texts, Y, [], Y[:0])
        self._calibrate(logits, Y)
        self.fitted_ = True
        return self

    def _calibrate(self, logits: np.ndarray | None, Y_val: np.ndarray) -> None:
        """Temperature and thresholds from held-out logits (none: identity and 0.5)."""
        self.temperature_ = 1.0
        self.thresholds_ = np.full(len(self.classes_), 0.5)
        if logits is None or not self.calibrated:
            return
        self.temperature_ = fit_temperature(logits, Y_val, self.multi_label_)
        probs = activate(logits / self.temperature_, self.multi_label_)
        if self.multi_label_:
            self.thresholds_ = tune_thresholds(probs, Y_val)
        elif getattr(self.config, "class_thresholds", False):
            self.thresholds_ = tune_class_thresholds(probs, Y_val)
        decided = decide(probs, self.thresholds_, self.multi_label_)
        self.validation_macro_f1_ = macro_f1(Y_val, decided)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.check_fitted()
        texts = validate_texts(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)), np.float32)
        logits = self._logits(texts) / self.temperature_
        return activate(logits, self.multi_label_).astype(np.float32)

    def predict(self, texts: Sequence[str]) -> TextPredictions:
        """Probabilities and labels of a batch of texts (in input order)."""
        return TextPredictions(
            self.classes_, self.predict_proba(texts), self.multi_label_, self.thresholds_, self.kind
        )

    # subclasses ------------------------------------------------------------------------------

    def _fit(
        self, texts: list[str], Y: np.ndarray, val_texts: list[str], Y_val: np.ndarray
    ) -> None:
        raise NotImplementedError

    def _logits(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _save_labels(self, directory: Path) -> None:
        state = {
            "classes": list(self.classes_),
            "multi_label": self.multi_label_,
            "temperature": self.temperature_,
            "thresholds": [float(t) for t in self.thresholds_],
        }
        (directory / LABELS_FILE).write_text(json.dumps(state, indent=2))

    def _load_labels(self, directory: Path) -> None:
        state = json.loads((directory / LABELS_FILE).read_text())
        self.classes_ = tuple(state["classes"])
        self.multi_label_ = bool(state["multi_label"])
        self.temperature_ = float(state["temperature"])
        self.thresholds_ = np.asarray(state["thresholds"], float)
        if len(self.thresholds_) != len(self.classes_):
            raise ValueError("thresholds do not match classes")


# Where the models used to live: older imports (``from ...text_models import TfidfLinear``) keep
# working; new code imports from the model's own module.
_MOVED = {
    "LexiconSentiment": "lexicon",
    "LexiconConfig": "lexicon",
    "lexicon_scores": "lexicon",
    "TfidfLinear": "tfidf_linear",
    "TfidfConfig": "tfidf_linear",
    "tfidf_vectorizer": "tfidf_linear",
    "save_vectorizer": "tfidf_linear",
    "load_vectorizer": "tfidf_linear",
    "NeuralText": "neural_text",
    "NeuralConfig": "neural_text",
    "keras_modules": "neural_text",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"entertainai.analytics.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
