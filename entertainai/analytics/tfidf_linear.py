"""``tfidf_linear``: TF-IDF n-grams and logistic regression (softmax, or one per label).

Word n-grams, optionally beside character n-grams (``char_ngram_max`` > 0: robust to the
misspellings, elongations and hashtags of tweets and comments). The vectorizers are saved as
JSON vocabularies and ``.npz`` idf arrays, the weights as ``.npz``: nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from entertainai.analytics.text_models import TextClassifier
from entertainai.errors import InputError
from entertainai.model import load_arrays, save_arrays

TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"  # keeps one-letter words and contractions ("didn't")


@dataclass(frozen=True)
class TfidfConfig:
    ngram_max: int = 2
    min_df: int = 1
    max_features: int = 100_000
    sublinear_tf: bool = True
    # Character n-grams (within word boundaries) beside the words; 0 = words only (the
    # default, so artifacts saved before this option load unchanged).
    char_ngram_max: int = 0
    char_ngram_min: int = 2
    char_min_df: int = 2
    char_max_features: int = 200_000
    # VADER's compound/pos/neu/neg scores as four extra columns (scaled by lexicon_weight):
    # prior knowledge of sentiment words that a few thousand sentences cannot teach.
    lexicon_features: bool = False
    lexicon_weight: float = 1.0
    C: float = 4.0  # inverse L2 strength of the logistic regression
    class_weight: str = "balanced"  # or "none"
    # Single-label: tune one decision threshold per class on validation for macro-F1.
    class_thresholds: bool = False
    # Naive-Bayes feature weighting (NBSVM, Wang & Manning 2012): one binary model per class
    # over the features scaled by their log-count ratio for that class vs the rest.
    nb_weighting: bool = False
    validation_fraction: float = 0.15
    # > 1: calibrate and tune thresholds on out-of-fold predictions of this many folds over
    # all training rows, then fit on all of them (instead of holding validation_fraction out).
    calibration_folds: int = 0
    seed: int = 0


def tfidf_vectorizer(
    ngram_max: int,
    min_df: int = 1,
    max_features: int | None = None,
    sublinear_tf: bool = True,
    vocabulary: dict[str, int] | None = None,
    idf: np.ndarray | None = None,
    *,
    analyzer: str = "word",
    ngram_min: int = 1,
) -> Any:
    """A scikit-learn TF-IDF vectorizer, fresh or rebuilt from a saved vocabulary and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=(ngram_min if analyzer != "word" else 1, ngram_max),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        token_pattern=TOKEN_PATTERN if analyzer == "word" else None,
        vocabulary=vocabulary,
        dtype=np.float32,
    )
    if vocabulary is not None and idf is not None:
        vectorizer.idf_ = idf  # the setter builds the fitted transformer: no pickle needed
    return vectorizer


def save_vectorizer(vectorizer: Any, directory: Path, prefix: str) -> None:
    vocabulary = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
    (directory / f"{prefix}_vocabulary.json").write_text(json.dumps(vocabulary, sort_keys=True))
    save_arrays(directory / f"{prefix}_idf.npz", idf=np.asarray(vectorizer.idf_, np.float64))


def load_vectorizer(
    directory: Path,
    prefix: str,
    ngram_max: int,
    sublinear_tf: bool,
    *,
    analyzer: str = "word",
    ngram_min: int = 1,
) -> Any:
    vocabulary = json.loads((directory / f"{prefix}_vocabulary.json").read_text())
    idf = load_arrays(directory / f"{prefix}_idf.npz")["idf"]
    if len(idf) != len(vocabulary):
        raise ValueError("idf and vocabulary sizes differ")
    return tfidf_vectorizer(
        ngram_max,
        sublinear_tf=sublinear_tf,
        vocabulary=vocabulary,
        idf=idf,
        analyzer=analyzer,
        ngram_min=ngram_min,
    )


def nb_ratios(X: Any, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes log-count ratios of each feature for the rows where ``y`` vs the rest:
    log of (its share of the present-features mass in one group / in the other), smoothed."""
    present = (X > 0).astype(np.float32)
    p = np.asarray(present[y].sum(axis=0)).ravel() + alpha
    q = np.asarray(present[~y].sum(axis=0)).ravel() + alpha
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def fit_linear(
    X: Any,
    Y: np.ndarray,
    multi_label: bool,
    C: float,
    class_weight: str,
    *,
    nb_weighting: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(coef (classes, features), intercept (classes,)) of logistic regression on ``X``:
    softmax over the classes, or one binary model per label when multi-label or NB-weighted
    (whose per-class feature scaling folds into that class's weights: ``X·diag(r)·w = X·(r∘w)``)."""
    from scipy.sparse import diags
    from sklearn.linear_model import LogisticRegression

    if class_weight not in ("balanced", "none"):
        raise InputError(f"class_weight must be 'balanced' or 'none', got {class_weight!r}")
    weight = "balanced" if class_weight == "balanced" else None
    n_features, n_classes = X.shape[1], Y.shape[1]
    coef = np.zeros((n_classes, n_features), np.float32)
    intercept = np.zeros(n_classes, np.float32)
    if multi_label or nb_weighting:
        for j in range(n_classes):
            y = Y[:, j].astype(bool)
            if y.min() == y.max():  # a label always or never present: a constant
                intercept[j] = 8.0 if y[0] else -8.0
                continue
            ratios = nb_ratios(X, y) if nb_weighting else None
            features = X @ diags(ratios) if ratios is not None else X
            lr = LogisticRegression(C=C, class_weight=weight, max_iter=2000)
            lr.fit(features, y)
            coef[j] = lr.coef_[0] * ratios if ratios is not None else lr.coef_[0]
            intercept[j] = lr.intercept_[0]
        if not multi_label:  # one-vs-rest margins under a softmax: absent classes never win
            intercept[Y.sum(axis=0) == 0] = -30.0
        return coef, intercept
    y = Y.argmax(axis=1)
    lr = LogisticRegression(C=C, class_weight=weight, max_iter=2000)
    lr.fit(X, y)
    present = lr.classes_
    if len(present) == 2 and n_classes == 2:  # binary: one weight vector, split in half
        coef[0], coef[1] = -lr.coef_[0] / 2, lr.coef_[0] / 2
        intercept[0], intercept[1] = -lr.intercept_[0] / 2, lr.intercept_[0] / 2
    else:
        intercept[:] = -30.0  # classes missing from the training split never win
        coef[present], intercept[present] = lr.coef_, lr.intercept_
    return coef, intercept


TfidfConfigT = TypeVar("TfidfConfigT", bound=TfidfConfig)


class TfidfClassifier(TextClassifier[TfidfConfigT]):
    """TF-IDF word (and character) n-grams and logistic regression, over any config that
    extends ``TfidfConfig`` (generic, so EncoderText keeps its own config's type)."""

    def _fit_features(self, texts: list[str]) -> Any:
        """Fit the vectorizers on the training texts; their feature matrix."""
        from scipy.sparse import hstack

        c = self.config
        self.vectorizer_ = tfidf_vectorizer(c.ngram_max, c.min_df, c.max_features, c.sublinear_tf)
        X = self.vectorizer_.fit_transform(texts)
        self.char_vectorizer_ = None
        if c.char_ngram_max > 0:
            self.char_vectorizer_ = tfidf_vectorizer(
                c.char_ngram_max,
                c.char_min_df,
                c.char_max_features,
                c.sublinear_tf,
                analyzer="char_wb",
                ngram_min=c.char_ngram_min,
            )
            X = hstack([X, self.char_vectorizer_.fit_transform(texts)]).tocsr()
        return self._with_lexicon(X, texts)

    def _with_lexicon(self, X: Any, texts: list[str]) -> Any:
        if not self.config.lexicon_features:
            return X
        from scipy.sparse import csr_matrix, hstack

        from entertainai.analytics.lexicon import lexicon_scores

        scores = lexicon_scores(texts) * float(self.config.lexicon_weight)
        return hstack([X, csr_matrix(scores)]).tocsr()

    def _features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        X = self.vectorizer_.transform(texts)
        if self.char_vectorizer_ is not None:
            X = hstack([X, self.char_vectorizer_.transform(texts)]).tocsr()
        return self._with_lexicon(X, texts)

    def _fit(
        self, texts: list[str], Y: np.ndarray, val_texts: list[str], Y_val: np.ndarray
    ) -> None:
        c = self.config
        if c.class_weight not in ("balanced", "none"):
            raise InputError(f"class_weight must be 'balanced' or 'none', got {c.class_weight!r}")
        self._fit_heads(self._fit_features(texts), Y, texts)

    def _fit_heads(self, X: Any, Y: np.ndarray, texts: list[str]) -> None:
        """Fit the linear model over the features (``texts``: for a head with inputs of its
        own, as the ensemble's encoder head)."""
        c = self.config
        self.coef_, self.intercept_ = fit_linear(
            X, Y, self.multi_label_, c.C, c.class_weight, nb_weighting=c.nb_weighting
        )

    def _logits(self, texts: list[str]) -> np.ndarray:
        return self._head_logits(self._features(texts), texts)

    def _head_logits(self, X: Any, texts: list[str]) -> np.ndarray:
        return np.asarray(X @ self.coef_.T, np.float64) + self.intercept_[None, :]

    def _n_features(self) -> int:
        n = len(self.vectorizer_.vocabulary_) + 4 * bool(self.config.lexicon_features)
        return n + (len(self.char_vectorizer_.vocabulary_) if self.char_vectorizer_ else 0)

    def _save_state(self, directory: Path) -> None:
        self._save_labels(directory)
        save_vectorizer(self.vectorizer_, directory, "tfidf")
        if self.char_vectorizer_ is not None:
            save_vectorizer(self.char_vectorizer_, directory, "chars")
        save_arrays(directory / "linear.npz", coef=self.coef_, intercept=self.intercept_)

    def _load_state(self, directory: Path) -> None:
        self._load_labels(directory)
        c = self.config
        self.vectorizer_ = load_vectorizer(directory, "tfidf", c.ngram_max, c.sublinear_tf)
        self.char_vectorizer_ = None
        if c.char_ngram_max > 0:
            self.char_vectorizer_ = load_vectorizer(
                directory,
                "chars",
                c.char_ngram_max,
                c.sublinear_tf,
                analyzer="char_wb",
                ngram_min=c.char_ngram_min,
            )
        arrays = load_arrays(directory / "linear.npz")
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        if self.coef_.shape != (len(self.classes_), self._n_features()):
            raise ValueError(f"coefficients of shape {self.coef_.shape} do not fit the vocabulary")


class TfidfLinear(TfidfClassifier[TfidfConfig]):
    """TF-IDF word (and character) n-grams and logistic regression."""

    kind = "tfidf_linear"
    Config = TfidfConfig
