"""``neural_text``: tf-keras ``TextVectorization`` ids → embedding → parallel 1-D convolutions
with max pooling, beside a wide linear branch over a bag of n-grams (and, for sentiment,
VADER's four scores as extra inputs).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.lexicon import lexicon_scores
from entertainai.analytics.text_models import TextClassifier
from entertainai.model import load_arrays, save_arrays

log = logging.getLogger(__name__)


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


class NeuralText(TextClassifier[NeuralConfig]):
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
