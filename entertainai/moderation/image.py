"""Image tagging and safety: a small Keras CNN trained on a folder-per-class image dataset.

``load_image_folder(root, size)`` reads ``root/<class>/*.png|jpg|...`` into arrays; every
unreadable file is named in the error. :class:`ImageClassifier` (kind ``image_classifier``)
predicts per-class probabilities (tags); classes listed in ``unsafe_classes`` make an image
flagged when their probability reaches ``threshold``. Weights are saved as ``.npz``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from entertainai.errors import InputError, NotFoundError
from entertainai.imaging import DEFAULT_MAX_BYTES, FILE_MAX_BYTES, decode_image
from entertainai.model import Model, load_arrays, save_arrays
from entertainai.moderation.text import Verdict

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class ImageConfig:
    image_size: int = 32
    filters: tuple[int, ...] = (16, 32)
    hidden: int = 64
    dropout: float = 0.3
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 3e-3
    validation_fraction: float = 0.15
    patience: int = 5
    unsafe_classes: tuple[str, ...] = ()
    threshold: float = 0.5
    seed: int = 0
    threads: int = 2


def image_pixels(
    data: bytes, size: int, *, name: str = "image", max_bytes: int = DEFAULT_MAX_BYTES
) -> np.ndarray:
    """Bytes of an image file -> (size, size, 3) float32 in [0, 1], through the one capped
    decoder (:func:`entertainai.imaging.decode_image`: byte and pixel caps)."""
    pixels = decode_image(data, name=name, size=(size, size), max_bytes=max_bytes)
    return pixels.astype(np.float32) / 255.0


def load_image_folder(
    root: str | os.PathLike[str], size: int
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images (n, size, size, 3), class indices (n,), class names) from ``root/<class>/*``."""
    base = Path(root)
    if not base.is_dir():
        raise NotFoundError(f"{base}: no such image folder")
    classes = tuple(
        sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    if len(classes) < 2:
        raise InputError(
            f"need at least two class folders, found {list(classes)}", location=str(base)
        )
    images, labels = [], []
    for index, name in enumerate(classes):
        files = sorted(p for p in (base / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(
                "no images (png/jpg/bmp/gif/webp) in this class folder", location=str(base / name)
            )
        for path in files:
            images.append(
                image_pixels(path.read_bytes(), size, name=str(path), max_bytes=FILE_MAX_BYTES)
            )
            labels.append(index)
    return np.stack(images), np.asarray(labels, np.int64), classes


class ImageClassifier(Model[ImageConfig]):
    """Conv → pool blocks, global average pooling and a softmax over the folder classes."""

    kind = "image_classifier"
    Config = ImageConfig
    # The classifier protocol (entertainai/classifier.py): one class per image, plain argmax.
    multi_label_ = False

    @property
    def labels_(self) -> tuple[str, ...]:
        return self.classes_

    @property
    def thresholds_(self) -> np.ndarray:
        from entertainai.classifier import NEUTRAL_THRESHOLD

        return np.full(len(self.classes_), NEUTRAL_THRESHOLD)

    def predict(self, images: np.ndarray) -> list[str]:
        """The class of each image (the protocol's decision rule over ``predict_proba``)."""
        from entertainai.classifier import decide, label_names

        decided = decide(self.predict_proba(images), self.thresholds_, self.multi_label_)
        return [names[0] for names in label_names(decided, self.classes_)]

    def _build(self, n_classes: int) -> Any:
        from entertainai.analytics.text_models import keras_modules

        _, keras = keras_modules(self.config.threads)
        layers, c = keras.layers, self.config
        inputs = keras.Input((c.image_size, c.image_size, 3))
        x = inputs
        for filters in c.filters:
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D()(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(c.dropout)(x)
        x = layers.Dense(c.hidden, activation="relu")(x)
        return keras.Model(inputs, layers.Dense(n_classes)(x))

    def fit(self, images: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Self:
        from entertainai.analytics.text_models import keras_modules

        tf, keras = keras_modules(self.config.threads)
        c = self.config
        images = self._check_images(images)
        labels = np.asarray(labels, np.int64)
        if len(images) != len(labels) or len(images) < 2:
            raise InputError(f"{len(images)} images and {len(labels)} labels; need >= 2 of each")
        unknown = sorted(set(c.unsafe_classes) - set(classes))
        if unknown:
            raise InputError(f"unsafe classes {unknown} are not among the classes {list(classes)}")
        self.classes_ = tuple(classes)
        keras.utils.set_random_seed(c.seed)
        tf.config.experimental.enable_op_determinism()
        rng = np.random.default_rng(c.seed)
        order = rng.permutation(len(images))
        n_val = int(round(len(images) * c.validation_fraction)) if len(images) >= 10 else 0
        val, train = order[:n_val], order[n_val:]
        self.net_ = self._build(len(self.classes_))
        self.net_.compile(
            optimizer=keras.optimizers.Adam(c.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        callbacks = []
        validation = None
        if n_val:
            validation = (images[val], labels[val])
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=c.patience, restore_best_weights=True
                )
            )
        self.net_.fit(
            images[train],
            labels[train],
            validation_data=validation,
            epochs=c.epochs,
            batch_size=c.batch_size,
            callbacks=callbacks,
            verbose=0,
        )
        self.fitted_ = True
        return self

    def _check_images(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        size = self.config.image_size
        if images.ndim != 4 or images.shape[1:] != (size, size, 3):
            raise InputError(f"images must be (n, {size}, {size}, 3), got {images.shape}")
        return images

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.check_fitted()
        images = self._check_images(images)
        if not len(images):
            return np.zeros((0, len(self.classes_)), np.float32)
        logits = np.concatenate(
            [
                self.net_(images[i : i + 256], training=False).numpy()
                for i in range(0, len(images), 256)
            ]
        ).astype(np.float64)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict_bytes(self, blobs: Sequence[bytes]) -> np.ndarray:
        size = self.config.image_size
        if not blobs:
            return np.zeros((0, len(self.classes_)), np.float32)
        images = np.stack([image_pixels(b, size, name=f"images[{i}]") for i, b in enumerate(blobs)])
        return self.predict_proba(images)

    def tags(self, probs: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
        """The k most likely classes of each image."""
        return [
            [(self.classes_[j], round(float(row[j]), 6)) for j in np.argsort(-row)[:k]]
            for row in probs
        ]

    def check_images(self, probs: np.ndarray) -> list[Verdict]:
        """Flag images whose probability of an unsafe class reaches the threshold."""
        t = self.config.threshold
        verdicts = []
        for row in probs:
            scores = {c: round(float(p), 6) for c, p in zip(self.classes_, row, strict=True)}
            reasons = [
                f"{c}: score {scores[c]:.2f} >= threshold {t:.2f}"
                for c in self.config.unsafe_classes
                if scores[c] >= t
            ]
            verdicts.append(Verdict(bool(reasons), reasons, scores))
        return verdicts

    def _save_state(self, directory: Path) -> None:
        (directory / "classes.json").write_text(json.dumps(list(self.classes_)))
        weights = self.net_.get_weights()
        save_arrays(directory / "weights.npz", **{f"w{i:03d}": w for i, w in enumerate(weights)})

    def _load_state(self, directory: Path) -> None:
        self.classes_ = tuple(json.loads((directory / "classes.json").read_text()))
        self.net_ = self._build(len(self.classes_))
        arrays = load_arrays(directory / "weights.npz")
        self.net_.set_weights([arrays[k] for k in sorted(arrays)])


def write_demo_images(
    root: str | os.PathLike[str], per_class: int = 20, size: int = 24, seed: int = 0
) -> Path:
    """A tiny folder-per-class dataset with learnable structure (tests and smoke runs).

    ``stripes`` have horizontal bands, ``blobs`` a bright disc, ``noise`` only noise: a CNN
    separates them, a colour histogram alone does not quite.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = Path(root)
    yy, xx = np.mgrid[0:size, 0:size]
    for name in ("blobs", "noise", "stripes"):
        (base / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.random((size, size, 3)) * 0.5
            if name == "stripes":
                period = rng.integers(3, 6)
                img += 0.5 * ((yy // period) % 2)[..., None]
            elif name == "blobs":
                cy, cx, r = rng.integers(6, size - 6, 2).tolist() + [rng.integers(3, 6)]
                img += 0.5 * (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)[..., None]
            pixels = (np.clip(img, 0, 1) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(base / name / f"{i:03d}.png")
    return base


def fit_and_score(
    model: ImageClassifier,
    images: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    test_fraction: float = 0.2,
) -> float:
    """Fit on a seeded (1 - test_fraction) share and return accuracy on the rest."""
    order = np.random.default_rng(model.config.seed).permutation(len(images))
    n_test = max(1, int(round(len(images) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    model.fit(images[train], labels[train], classes)
    return float((model.predict_proba(images[test]).argmax(axis=1) == labels[test]).mean())


def train_from_folder(
    folder: str | os.PathLike[str], registry: Any, name: str, params: dict[str, Any]
) -> tuple[Any, float]:
    """Load a folder-per-class dataset, fit, score, register (``production`` if none yet)."""

    model = ImageClassifier.from_params(**params)
    images, labels, classes = load_image_folder(folder, model.config.image_size)
    log.info("%d images, classes %s", len(images), list(classes))
    accuracy = fit_and_score(model, images, labels, classes)
    mv = registry.register_model(
        model,
        name,
        metrics={"accuracy": accuracy, "images": float(len(images))},
        extra={"classes": list(classes), "trained_on": "80% seeded split"},
    )
    return mv, accuracy
