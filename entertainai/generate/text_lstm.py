"""A character LSTM trained with tf-keras, decoded with numpy.

Keras (``tf-keras``, i.e. Keras 2, because Keras 3 breaks ``MultiWorkerMirroredStrategy`` under
Ray's ``TensorflowTrainer``) trains Embedding -> LSTM -> Dense on windows of the corpus. The
fitted weights are plain arrays (``weights.npz``, no pickle), and generation steps the LSTM
cell in numpy: loading and sampling never import TensorFlow, so a Serve replica stays light,
and one step costs microseconds instead of a Keras call.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from entertainai.errors import InputError
from entertainai.generate.text_corpus import CharTokenizer, TextGenerator, split_tail
from entertainai.model import Model, load_arrays, save_arrays

log = logging.getLogger(__name__)

WEIGHTS = "weights.npz"
WEIGHT_NAMES = ("embedding", "kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias")


@dataclass(frozen=True)
class TextLSTMConfig:
    embedding_dim: int = 64
    units: int = 256
    seq_len: int = 100
    batch_size: int = 64
    steps: int = 1000
    lr: float = 3e-3
    val_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.embedding_dim, self.units, self.seq_len, self.batch_size, self.steps) < 1:
            raise InputError("embedding_dim, units, seq_len, batch_size, steps must be >= 1")


def import_tf() -> Any:
    """TensorFlow with tf-keras (Keras 2); the env var must be set before the first import."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:  # modest CPU use on a shared machine; only possible before TF's first op
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    return tf


def build_keras_model(vocab_size: int, config: TextLSTMConfig) -> Any:
    tf = import_tf()
    keras = tf.keras
    tf.random.set_seed(config.seed)
    model = keras.Sequential(
        [
            keras.layers.Embedding(vocab_size, config.embedding_dim),
            keras.layers.LSTM(config.units, return_sequences=True),
            keras.layers.Dense(vocab_size),
        ]
    )
    model.build((None, None))
    model.compile(
        optimizer=keras.optimizers.Adam(config.lr, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def windows_dataset(
    ids: np.ndarray, config: TextLSTMConfig, batches: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``batches * batch_size`` random (input, next-character) windows of ``seq_len``."""
    if len(ids) <= config.seq_len:
        raise InputError(f"training text ({len(ids)} chars) shorter than seq_len {config.seq_len}")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - config.seq_len, size=batches * config.batch_size)
    chunk = ids[starts[:, None] + np.arange(config.seq_len + 1)[None, :]]
    return chunk[:, :-1].astype(np.int32), chunk[:, 1:].astype(np.int32)


def keras_weights(model: Any) -> dict[str, np.ndarray]:
    """The Keras model's weights by name (Keras gate order i, f, c, o)."""
    return dict(zip(WEIGHT_NAMES, (np.asarray(w) for w in model.get_weights()), strict=True))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class LSTMArrays:
    """The fitted LSTM as arrays: one step of the cell and the logits, in numpy (float64)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = {k: np.asarray(weights[k], dtype=np.float64) for k in WEIGHT_NAMES}
        self.units = self.w["recurrent_kernel"].shape[0]

    def step(
        self, tokens: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(logits, h, c) after feeding ``tokens`` (n,) to states (n, units)."""
        w = self.w
        z = w["embedding"][tokens] @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"]
        i, f, g, o = np.split(z, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h @ w["dense_kernel"] + w["dense_bias"], h, c

    def nats_per_char(self, ids: np.ndarray, batch: int = 64) -> float:
        """Mean NLL of ids[1:], run as ``batch`` parallel streams carrying their state."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) < 2:
            raise InputError("validation text needs at least 2 characters")
        n = len(ids) - 1
        # Cut the text into `batch` contiguous streams; the first chars of each stream start
        # cold (from zero state), as they would after a newline prompt.
        streams = min(batch, n)
        length = n // streams
        total = 0.0
        h = np.zeros((streams, self.units))
        c = np.zeros((streams, self.units))
        starts = np.arange(streams) * length
        for t in range(length):
            logits, h, c = self.step(ids[starts + t], h, c)
            target = ids[starts + t + 1]
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            total -= logp[np.arange(streams), target].sum()
        return float(total / (streams * length))


class _LSTMStepper:
    def __init__(self, arrays: LSTMArrays) -> None:
        self.arrays = arrays

    def start(self, prompt_ids: np.ndarray, n: int) -> np.ndarray:
        self.h = np.zeros((n, self.arrays.units))
        self.c = np.zeros((n, self.arrays.units))
        logits = np.zeros(0)
        for token in prompt_ids:
            logits, self.h, self.c = self.arrays.step(np.full(n, token), self.h, self.c)
        return logits

    def advance(self, tokens: np.ndarray) -> np.ndarray:
        logits, self.h, self.c = self.arrays.step(np.asarray(tokens), self.h, self.c)
        return logits


class TextLSTM(TextGenerator, Model[TextLSTMConfig]):
    """Character LSTM; ``fit(text)`` in Keras, ``model(prompt, ...)`` in numpy."""

    kind = "text_lstm"
    Config = TextLSTMConfig
    config: TextLSTMConfig

    def fit(
        self,
        text: str,
        *,
        val_text: str | None = None,
        tokenizer: CharTokenizer | None = None,
        on_step: Callable[[int, float], None] | None = None,
    ) -> Self:
        """Train in this process (the tail held out); ``metrics_["val_nats_per_char"]``."""
        c = self.config
        started = time.monotonic()
        if val_text is None:
            text, val_text = split_tail(text, c.val_fraction)
        tokenizer = tokenizer or CharTokenizer.fit(text + val_text)
        ids = tokenizer.encode(text)
        val_ids = tokenizer.encode(val_text, what="validation text")
        tf = import_tf()
        callbacks = []
        if on_step is not None:
            report = on_step  # narrowed for the class body below
            keras_callback: Any = tf.keras.callbacks.Callback  # TensorFlow is untyped here

            class Progress(keras_callback):
                def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                    report(batch + 1, float((logs or {}).get("loss", float("nan"))))

            callbacks.append(Progress())
        model = build_keras_model(tokenizer.vocab_size, c)
        x, y = windows_dataset(ids, c, c.steps, c.seed)
        history = model.fit(
            x, y, batch_size=c.batch_size, epochs=1, shuffle=False, verbose=0, callbacks=callbacks
        )
        self.from_weights(keras_weights(model), tokenizer)
        self.metrics_ = {
            "val_nats_per_char": self.arrays_.nats_per_char(val_ids),
            "train_loss": float(history.history["loss"][-1]),
            "steps": c.steps,
            "train_seconds": time.monotonic() - started,
        }
        return self

    def from_weights(self, weights: dict[str, np.ndarray], tokenizer: CharTokenizer) -> Self:
        """Adopt Keras weights (from a local fit or a TensorflowTrainer) as the fitted state."""
        if weights["embedding"].shape[0] != tokenizer.vocab_size:
            raise ValueError("embedding rows do not match the tokenizer's vocabulary")
        self.weights_ = {k: np.asarray(weights[k], dtype=np.float32) for k in WEIGHT_NAMES}
        self.arrays_ = LSTMArrays(self.weights_)
        self.tokenizer_ = tokenizer
        self.fitted_ = True
        return self

    def validation_nats_per_char(self, text: str) -> float:
        self.check_fitted()
        return self.arrays_.nats_per_char(self.tokenizer_.encode(text))

    def stepper(self) -> _LSTMStepper:
        self.check_fitted()
        return _LSTMStepper(self.arrays_)

    def _save_state(self, directory: Path) -> None:
        save_arrays(directory / WEIGHTS, **self.weights_)
        self.tokenizer_.save(directory)

    def _load_state(self, directory: Path) -> None:
        weights = load_arrays(directory / WEIGHTS)
        self.from_weights(weights, CharTokenizer.load(directory))
