"""Text classifiers with one train/predict interface: lexicon, TF-IDF + linear, neural (Keras).

Every classifier is a :class:`~entertainai.model.Model` that fits on
:class:`~entertainai.analytics.text_data.LabelledTexts` (single- or multi-label) and predicts
:class:`TextPredictions`: per-class probabilities, the labels, and for sentiment a compound
score ``P(positive) - P(negative)``. Trained classifiers hold out a validation split to
calibrate their probabilities (one temperature) and, when multi-label, to tune one threshold
per label for F1. Nothing is pickled: vocabularies are JSON, weights ``.npz``.

* ``lexicon_sentiment`` — VADER's rule-based compound score; needs no training (``fit`` only
  adapts it to a label set without "neutral").
* ``tfidf_linear`` — word n-gram TF-IDF and logistic regression (softmax, or one per label).
* ``neural_text`` — tf-keras: ``TextVectorization`` ids → embedding → parallel 1-D
  convolutions with max pooling, beside a wide linear branch over a bag of n-grams.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from entertainai.analytics.text_data import LabelledTexts
from entertainai.analytics.text_metrics import one_hot
from entertainai.errors import InputError
from entertainai.model import Model, load_arrays, save_arrays

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
        """(n, classes) 0/1 decisions: the top class, or every class over its threshold."""
        if self.multi_label:
            return (self.probabilities >= self.thresholds[None, :]).astype(np.int8)
        return one_hot(self.probabilities.argmax(axis=1), len(self.classes))

    def labels(self) -> list[list[str]]:
        decided = self.indicators()
        return [[c for c, on in zip(self.classes, row, strict=True) if on] for row in decided]

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


def check_texts(texts: Sequence[str]) -> list[str]:
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


class TextClassifier(Model):
    """Fit on labelled texts, predict calibrated per-class probabilities."""

    calibrated: ClassVar[bool] = True  # fit a temperature (and thresholds) on validation

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.classes_: tuple[str, ...] = ()
        self.multi_label_ = False
        self.temperature_ = 1.0
        self.thresholds_ = np.zeros(0)

    def fit(self, data: LabelledTexts) -> Self:
        """Fit on ``data`` minus a seeded validation split, then calibrate on that split."""
        if len(data) < 2:
            raise InputError(f"need at least two labelled texts, got {len(data)}")
        self.classes_ = data.classes
        self.multi_label_ = data.multi_label
        if not self.multi_label_ and len(self.classes_) < 2:
            raise InputError(f"need at least two classes, got {list(self.classes_)}")
        fraction = float(getattr(self.config, "validation_fraction", 0.0))
        if self.calibrated and fraction > 0 and len(data) >= 10:
            train, val = data.split(fraction, int(getattr(self.config, "seed", 0)))
        else:
            train, val = data, data.subset(np.zeros(0, int))
        Y_train = indicator_matrix(train.labels, self.classes_)
        Y_val = indicator_matrix(val.labels, self.classes_)
        self._fit(train.texts, Y_train, val.texts, Y_val)
        self.temperature_ = 1.0
        self.thresholds_ = np.full(len(self.classes_), 0.5)
        if self.calibrated and len(val):
            logits = self._logits(val.texts)
            self.temperature_ = fit_temperature(logits, Y_val, self.multi_label_)
            if self.multi_label_:
                probs = activate(logits / self.temperature_, True)
                self.thresholds_ = tune_thresholds(probs, Y_val)
        self.fitted_ = True
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.check_fitted()
        texts = check_texts(texts)
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


# ---- lexicon (VADER) -----------------------------------------------------------------------


@dataclass(frozen=True)
class LexiconConfig:
    threshold: float = 0.05  # VADER's own neutral band on the compound score
    sharpness: float = 6.0  # how fast probabilities leave the band


_VADER: Any = None


def _vader() -> Any:
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


def lexicon_scores(texts: Sequence[str]) -> np.ndarray:
    """(n, 4) VADER compound, pos, neu, neg of each text."""
    analyzer = _vader()
    keys = ("compound", "pos", "neu", "neg")
    return np.array(
        [[scores[k] for k in keys] for scores in map(analyzer.polarity_scores, texts)],
        np.float32,
    ).reshape(len(texts), 4)


class LexiconSentiment(TextClassifier):
    """VADER compound score as sentiment probabilities: a zero-training fallback.

    Logits ``k·[-c, t, c]`` make the argmax VADER's rule (negative below -t, positive above t)
    and the probabilities a smooth function of the compound score c.
    """

    kind = "lexicon_sentiment"
    Config = LexiconConfig
    calibrated = False

    @classmethod
    def default(cls) -> LexiconSentiment:
        """Ready to predict negative/neutral/positive without any data."""
        model = cls()
        model.classes_ = SENTIMENT_CLASSES
        model.thresholds_ = np.full(3, 0.5)
        model.fitted_ = True
        return model

    def fit(self, data: LabelledTexts) -> Self:
        """Adapt to the data's label set (a subset of negative/neutral/positive); no learning."""
        unknown = sorted(set(data.classes) - set(SENTIMENT_CLASSES))
        if data.multi_label or unknown:
            raise InputError(
                f"the lexicon model predicts {list(SENTIMENT_CLASSES)} only; "
                f"the data has {unknown or 'multi-label'} labels"
            )
        self.classes_ = tuple(c for c in SENTIMENT_CLASSES if c in data.classes)
        self.multi_label_ = False
        self.thresholds_ = np.full(len(self.classes_), 0.5)
        self.fitted_ = True
        return self

    def compound(self, texts: list[str]) -> np.ndarray:
        analyzer = _vader()
        return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], float)

    def _logits(self, texts: list[str]) -> np.ndarray:
        c = self.compound(texts)
        k, t = self.config.sharpness, self.config.threshold
        full = {"negative": -k * c, "neutral": np.full_like(c, k * t), "positive": k * c}
        return np.stack([full[name] for name in self.classes_], axis=1)

    def _save_state(self, directory: Path) -> None:
        self._save_labels(directory)

    def _load_state(self, directory: Path) -> None:
        self._load_labels(directory)


# ---- TF-IDF + logistic regression ----------------------------------------------------------

TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"  # keeps one-letter words and contractions ("didn't")


@dataclass(frozen=True)
class TfidfConfig:
    ngram_max: int = 2
    min_df: int = 1
    max_features: int = 100_000
    sublinear_tf: bool = True
    C: float = 4.0  # inverse L2 strength of the logistic regression
    class_weight: str = "balanced"  # or "none"
    validation_fraction: float = 0.15
    seed: int = 0


def tfidf_vectorizer(
    ngram_max: int,
    min_df: int = 1,
    max_features: int | None = None,
    sublinear_tf: bool = True,
    vocabulary: dict[str, int] | None = None,
    idf: np.ndarray | None = None,
) -> Any:
    """A scikit-learn TF-IDF vectorizer, fresh or rebuilt from a saved vocabulary and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        ngram_range=(1, ngram_max),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        token_pattern=TOKEN_PATTERN,
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


def load_vectorizer(directory: Path, prefix: str, ngram_max: int, sublinear_tf: bool) -> Any:
    vocabulary = json.loads((directory / f"{prefix}_vocabulary.json").read_text())
    idf = load_arrays(directory / f"{prefix}_idf.npz")["idf"]
    if len(idf) != len(vocabulary):
        raise ValueError("idf and vocabulary sizes differ")
    return tfidf_vectorizer(ngram_max, sublinear_tf=sublinear_tf, vocabulary=vocabulary, idf=idf)


class TfidfLinear(TextClassifier):
    """TF-IDF word n-grams and logistic regression: softmax, or one binary model per label."""

    kind = "tfidf_linear"
    Config = TfidfConfig

    def _fit(
        self, texts: list[str], Y: np.ndarray, val_texts: list[str], Y_val: np.ndarray
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        c = self.config
        if c.class_weight not in ("balanced", "none"):
            raise InputError(f"class_weight must be 'balanced' or 'none', got {c.class_weight!r}")
        self.vectorizer_ = tfidf_vectorizer(c.ngram_max, c.min_df, c.max_features, c.sublinear_tf)
        X = self.vectorizer_.fit_transform(texts)
        weight = "balanced" if c.class_weight == "balanced" else None
        n_features, n_classes = X.shape[1], Y.shape[1]
        coef = np.zeros((n_classes, n_features), np.float32)
        intercept = np.zeros(n_classes, np.float32)
        if self.multi_label_:
            for j in range(n_classes):
                y = Y[:, j]
                if y.min() == y.max():  # a label always or never present: a constant
                    intercept[j] = 8.0 if y[0] else -8.0
                    continue
                lr = LogisticRegression(C=c.C, class_weight=weight, max_iter=2000)
                lr.fit(X, y)
                coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
        else:
            y = Y.argmax(axis=1)
            lr = LogisticRegression(C=c.C, class_weight=weight, max_iter=2000)
            lr.fit(X, y)
            present = lr.classes_
            if len(present) == 2 and n_classes == 2:  # binary: one weight vector, split in half
                coef[0], coef[1] = -lr.coef_[0] / 2, lr.coef_[0] / 2
                intercept[0], intercept[1] = -lr.intercept_[0] / 2, lr.intercept_[0] / 2
            else:
                intercept[:] = -30.0  # classes missing from the training split never win
                coef[present], intercept[present] = lr.coef_, lr.intercept_
        self.coef_, self.intercept_ = coef, intercept

    def _logits(self, texts: list[str]) -> np.ndarray:
        X = self.vectorizer_.transform(texts)
        return np.asarray(X @ self.coef_.T, np.float64) + self.intercept_[None, :]

    def _save_state(self, directory: Path) -> None:
        self._save_labels(directory)
        save_vectorizer(self.vectorizer_, directory, "tfidf")
        save_arrays(directory / "linear.npz", coef=self.coef_, intercept=self.intercept_)

    def _load_state(self, directory: Path) -> None:
        self._load_labels(directory)
        c = self.config
        self.vectorizer_ = load_vectorizer(directory, "tfidf", c.ngram_max, c.sublinear_tf)
        arrays = load_arrays(directory / "linear.npz")
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        if self.coef_.shape != (len(self.classes_), len(self.vectorizer_.vocabulary_)):
            raise ValueError(f"coefficients of shape {self.coef_.shape} do not fit the vocabulary")


# ---- neural (tf-keras) ---------------------------------------------------------------------


@dataclass(frozen=True)
class NeuralConfig:
    max_tokens: int = 20_000  # word vocabulary of the embedding
    sequence_length: int = 64
    embedding_dim: int = 64
    filters: int = 64
    kernel_sizes: tuple[int, ...] = (1, 2, 3)
    hidden: int = 64
    dropout: float = 0.4
    wide: bool = True  # a linear bag-of-n-grams branch beside the convolutions
    wide_tokens: int = 30_000
    wide_dropout: float = 0.4  # dropout on the bag of n-grams
    # VADER's compound/pos/neu/neg scores as four extra inputs: prior knowledge of sentiment
    # words, which a few thousand training sentences cannot teach (on by default for sentiment).
    lexicon_features: bool = False
    ngram_max: int = 2
    # Multi-label: > 1 weighs each label's positives by min(negatives / positives, cap).
    # Off by default: on the benchmark it did not raise macro-F1 (spam 0.966 either way, demo
    # toxicity 0.805 -> 0.807, demo emotion 0.823 -> 0.810) and it worsened calibration.
    positive_weight_cap: float = 1.0
    l2: float = 1e-5
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 3  # epochs without validation improvement before stopping
    validation_fraction: float = 0.15
    seed: int = 0
    threads: int = 2


def keras_modules(threads: int = 2) -> tuple[Any, Any]:
    """(tensorflow, tf_keras), imported lazily with Keras 2 semantics and bounded threads."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras

    try:  # only possible before TensorFlow's runtime starts; later calls keep the first value
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass
    return tf, tf_keras


class NeuralText(TextClassifier):
    """Embedding + parallel convolutions with max pooling (+ a wide n-gram branch), tf-keras."""

    kind = "neural_text"
    Config = NeuralConfig

    def _vectorizers(self, vocab: list[str] | None = None, wide_vocab: list[str] | None = None):
        _, keras = keras_modules(self.config.threads)
        from tf_keras.layers import TextVectorization

        c = self.config
        ids = TextVectorization(
            max_tokens=c.max_tokens,
            output_sequence_length=c.sequence_length,
            vocabulary=vocab,
        )
        bag = None
        if c.wide:
            bag = TextVectorization(
                max_tokens=c.wide_tokens,
                output_mode="multi_hot",
                ngrams=c.ngram_max,
                vocabulary=wide_vocab,
            )
        return ids, bag

    def _inputs(self, texts: list[str]) -> list[np.ndarray]:
        tf, _ = keras_modules(self.config.threads)
        tensor = tf.constant(texts)
        inputs = [self.ids_(tensor).numpy()]
        if self.bag_ is not None:
            inputs.append(self.bag_(tensor).numpy().astype(np.float32))
        if self.config.lexicon_features:
            inputs.append(lexicon_scores(texts))
        return inputs

    def _build(self, n_classes: int) -> Any:
        _, keras = keras_modules(self.config.threads)
        layers, c = keras.layers, self.config
        reg = keras.regularizers.l2(c.l2) if c.l2 > 0 else None
        ids = keras.Input((c.sequence_length,), dtype="int64", name="ids")
        x = layers.Embedding(self.ids_.vocabulary_size(), c.embedding_dim, name="embedding")(ids)
        pooled = [
            layers.GlobalMaxPooling1D()(
                layers.Conv1D(c.filters, k, padding="same", activation="relu")(x)
            )
            for k in c.kernel_sizes
        ]
        lexicon = None
        if c.lexicon_features:
            lexicon = keras.Input((4,), dtype="float32", name="lexicon")
        deep = layers.Concatenate()(pooled) if len(pooled) > 1 else pooled[0]
        deep = layers.Dropout(c.dropout)(deep)
        if lexicon is not None:
            deep = layers.Concatenate()([deep, lexicon])
        deep = layers.Dense(c.hidden, activation="relu", kernel_regularizer=reg)(deep)
        deep = layers.Dropout(c.dropout)(deep)
        logits = layers.Dense(n_classes, kernel_regularizer=reg, name="deep_logits")(deep)
        inputs = [ids]
        if self.bag_ is not None:
            bag = keras.Input((self.bag_.vocabulary_size(),), dtype="float32", name="bag")
            wide = layers.Dropout(c.wide_dropout)(bag) if c.wide_dropout > 0 else bag
            wide = layers.Dense(n_classes, kernel_regularizer=reg, name="wide_logits")(wide)
            logits = layers.Add()([logits, wide])
            inputs.append(bag)
        if lexicon is not None:
            logits = layers.Add()([logits, layers.Dense(n_classes, name="lexicon_logits")(lexicon)])
            inputs.append(lexicon)
        return keras.Model(inputs, logits)

    def _fit(
        self, texts: list[str], Y: np.ndarray, val_texts: list[str], Y_val: np.ndarray
    ) -> None:
        tf, keras = keras_modules(self.config.threads)
        c = self.config
        keras.utils.set_random_seed(c.seed)
        tf.config.experimental.enable_op_determinism()
        self.ids_, self.bag_ = self._vectorizers()
        self.ids_.adapt(tf.constant(texts))
        if self.bag_ is not None:
            self.bag_.adapt(tf.constant(texts))
        self.net_ = self._build(Y.shape[1])
        if self.multi_label_ and c.positive_weight_cap > 1.0:
            positives = Y.sum(axis=0).astype(np.float64)
            ratio = (len(Y) - positives) / np.maximum(positives, 1.0)
            pos_weight = tf.constant(
                np.clip(ratio, 1.0, max(c.positive_weight_cap, 1.0)), tf.float32
            )

            def loss(y_true: Any, logits: Any) -> Any:
                return tf.reduce_mean(
                    tf.nn.weighted_cross_entropy_with_logits(y_true, logits, pos_weight)
                )
        elif self.multi_label_:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)
        else:
            loss = keras.losses.CategoricalCrossentropy(from_logits=True)
        self.net_.compile(optimizer=keras.optimizers.Adam(c.learning_rate), loss=loss)
        callbacks = []
        validation = None
        if len(val_texts):
            validation = (self._inputs(val_texts), Y_val.astype(np.float32))
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=c.patience, restore_best_weights=True
                )
            )
        history = self.net_.fit(
            self._inputs(texts),
            Y.astype(np.float32),
            validation_data=validation,
            epochs=c.epochs,
            batch_size=c.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
        )
        self.epochs_trained_ = len(history.history["loss"])
        log.info(
            "neural_text: %d epochs, final loss %.4f",
            self.epochs_trained_,
            history.history["loss"][-1],
        )

    def _logits(self, texts: list[str]) -> np.ndarray:
        # A direct call, not Model.predict: predict() retraces per batch size and is far
        # slower for the small batches a server sees.
        inputs = self._inputs(texts)
        chunks = [
            self.net_([x[i : i + 1024] for x in inputs], training=False).numpy()
            for i in range(0, len(texts), 1024)
        ]
        return np.concatenate(chunks).astype(np.float64)

    def embeddings(self) -> tuple[list[str], np.ndarray]:
        """The learned word vectors: (vocabulary, (words, dim) matrix)."""
        self.check_fitted()
        return self.ids_.get_vocabulary(), self.net_.get_layer("embedding").get_weights()[0]

    def _save_state(self, directory: Path) -> None:
        self._save_labels(directory)
        vocab = {"ids": self.ids_.get_vocabulary()}
        if self.bag_ is not None:
            vocab["bag"] = self.bag_.get_vocabulary()
        (directory / "vocabulary.json").write_text(json.dumps(vocab))
        weights = self.net_.get_weights()
        save_arrays(directory / "weights.npz", **{f"w{i:03d}": w for i, w in enumerate(weights)})

    def _load_state(self, directory: Path) -> None:
        self._load_labels(directory)
        vocab = json.loads((directory / "vocabulary.json").read_text())
        # get_vocabulary() starts with the padding and OOV tokens, which TextVectorization
        # wants left out when a vocabulary is passed in.
        if self.config.wide != ("bag" in vocab):
            raise ValueError("the saved vocabularies do not match config.wide")
        bag_vocab = vocab["bag"][1:] if "bag" in vocab else None  # the bag's [0] is OOV only
        self.ids_, self.bag_ = self._vectorizers(vocab["ids"][2:], bag_vocab)
        self.net_ = self._build(len(self.classes_))
        arrays = load_arrays(directory / "weights.npz")
        self.net_.set_weights([arrays[k] for k in sorted(arrays)])
