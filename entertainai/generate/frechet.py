"""Quality of generated images without ImageNet weights: a Fréchet distance on our own features.

``ImageFeatures`` is a small CNN classifier trained on the same labelled images as the
generator; its penultimate activations play the role Inception's pool features play in FID.
The distance between two image sets is the Fréchet distance between Gaussians fitted to their
features. ``class_coverage`` uses the same classifier to check that samples span every class
(mode collapse shows there even when the distance looks fine), and ``PixelGaussian`` is the
baseline generator: an independent Gaussian per pixel.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError, NotFittedError
from entertainai.generate.images import ImageData, to_float
from entertainai.model import Model
from entertainai.torch_utils import seed_everything, select_device

log = logging.getLogger(__name__)

WEIGHTS_FILE = "classifier.safetensors"
META_FILE = "features.json"


@dataclass(frozen=True)
class ImageFeaturesConfig:
    width: int = 32  # channels of the first conv block (the second has twice as many)
    feature_dim: int = 64  # penultimate features: the space the Fréchet distance lives in
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.3
    seed: int = 0
    device: str = "cpu"  # small; a GPU buys nothing here


class FeatureNet(nn.Module):
    def __init__(self, channels: int, n_classes: int, width: int, feature_dim: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),  # any input size (>= 4 px) gives the same feature shape
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(8 * width, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


class ImageFeatures(Model[ImageFeaturesConfig]):
    """A classifier over one image data set whose penultimate layer is the feature space."""

    kind = "image_features"
    Config = ImageFeaturesConfig
    config: ImageFeaturesConfig

    def fit(self, data: ImageData) -> ImageFeatures:
        if data.labels is None:
            raise InputError(f"{data.source}: the feature classifier needs labelled images")
        cfg = self.config
        seed_everything(cfg.seed)
        self.image_shape_ = data.shape
        self.class_names_ = data.class_names or tuple(str(i) for i in range(data.labels.max() + 1))
        self.net_ = self._build()
        device = select_device(cfg.device)
        self.net_.to(device)
        x = torch.as_tensor(to_float(data.images))
        y = torch.as_tensor(data.labels)
        optimizer = torch.optim.AdamW(
            self.net_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        rng = np.random.default_rng(cfg.seed)
        self.net_.train()
        for epoch in range(cfg.epochs):
            order = torch.as_tensor(rng.permutation(len(x)))
            total = 0.0
            for start in range(0, len(x), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                xb = x[idx].to(device)
                # Small random shifts: the features must not hinge on exact pixel positions,
                # or every generator pays for a one-pixel offset.
                xb = _jitter(xb, rng)
                _, logits = self.net_(xb)
                loss = F.cross_entropy(logits, y[idx].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            log.debug("features epoch %d/%d loss %.4f", epoch + 1, cfg.epochs, total / len(x))
        self.net_.eval().cpu()
        self.fitted_ = True
        # Distances in units of the real data's mean feature variance, so that figures compare
        # across classifier widths and data sets (a raw FD scales with the activations).
        self.feature_scale_ = 1.0
        self.feature_scale_ = float(np.sqrt(self.features(data.images).var(0).mean()) + 1e-12)
        return self

    def _build(self) -> FeatureNet:
        cfg = self.config
        return FeatureNet(
            self.image_shape_[2], len(self.class_names_), cfg.width, cfg.feature_dim, cfg.dropout
        )

    @torch.no_grad()
    def _forward(self, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        self.check_fitted()
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != self.image_shape_:
            raise InputError(
                f"images must be (N, {', '.join(map(str, self.image_shape_))}), got {images.shape}"
            )
        feats, logits = [], []
        for start in range(0, len(images), batch_size):
            f, lg = self.net_(torch.as_tensor(to_float(images[start : start + batch_size])))
            feats.append(f.numpy())
            logits.append(lg.numpy())
        return np.concatenate(feats).astype(np.float64), np.concatenate(logits)

    def features(self, images: np.ndarray) -> np.ndarray:
        """Penultimate features of uint8 ``(N, H, W, C)`` images, float64 ``(N, feature_dim)``."""
        return self._forward(images)[0] / self.feature_scale_

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        logits = self._forward(images)[1]
        return torch.softmax(torch.as_tensor(logits), dim=1).numpy()

    def accuracy(self, data: ImageData) -> float:
        if data.labels is None:
            raise InputError("accuracy needs labelled images")
        return float((self.predict_proba(data.images).argmax(1) == data.labels).mean())

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.contiguous() for k, v in self.net_.state_dict().items()}, directory / WEIGHTS_FILE
        )
        meta = {
            "image_shape": list(self.image_shape_),
            "class_names": list(self.class_names_),
            "feature_scale": self.feature_scale_,
        }
        (directory / META_FILE).write_text(json.dumps(meta))

    def _load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        meta = json.loads((directory / META_FILE).read_text())
        h, w, c = (int(v) for v in meta["image_shape"])
        self.image_shape_ = (h, w, c)
        self.class_names_ = tuple(meta["class_names"])
        self.feature_scale_ = float(meta["feature_scale"])
        self.net_ = self._build()
        self.net_.load_state_dict(load_file(directory / WEIGHTS_FILE))
        self.net_.eval()


def _jitter(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    dy, dx = (int(v) for v in rng.integers(-1, 2, size=2))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


# ---- the distance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianStats:
    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def of(cls, features: np.ndarray) -> GaussianStats:
        if len(features) < 2:
            raise InputError("a Fréchet distance needs at least 2 images per set")
        return cls(features.mean(0), np.cov(features, rowvar=False))


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), as in FID (Heusel et al. 2017).

    Tr((S_a S_b)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric PSD matrix S_a^(1/2) S_b S_a^(1/2): same value as ``sqrtm`` of the product, but
    stable when covariances are singular (dead ReLU units), so no regularising fudge is needed.
    """
    diff = a.mean - b.mean
    root_a = _psd_sqrt(a.cov)
    inner = root_a @ b.cov @ root_a
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    value = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eig, vec = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vec * np.sqrt(np.clip(eig, 0.0, None))) @ vec.T


def image_frechet(features: ImageFeatures, images_a: np.ndarray, images_b: np.ndarray) -> float:
    """Fréchet distance between two uint8 image sets in the classifier's feature space."""
    return frechet_distance(
        GaussianStats.of(features.features(images_a)), GaussianStats.of(features.features(images_b))
    )


def class_coverage(
    features: ImageFeatures,
    images: np.ndarray,
    *,
    min_fraction: float = 0.02,
    min_confidence: float = 0.5,
) -> dict[str, Any]:
    """Which classes the samples show: a class is present when at least ``min_fraction`` of
    the samples are confidently (``min_confidence``) classified as it."""
    probs = features.predict_proba(images)
    confident = probs.max(1) >= min_confidence
    counts = np.bincount(probs.argmax(1)[confident], minlength=probs.shape[1])
    present = counts >= max(1, int(np.ceil(min_fraction * len(images))))
    return {
        "classes_present": int(present.sum()),
        "n_classes": int(probs.shape[1]),
        "confident_fraction": float(confident.mean()),
        "counts": {name: int(c) for name, c in zip(features.class_names_, counts, strict=True)},
    }


# ---- the baseline generator -------------------------------------------------------------------


class PixelGaussian:
    """Baseline: every pixel an independent Gaussian with the data's per-pixel mean and std."""

    def fit(self, data: ImageData) -> PixelGaussian:
        pixels = data.images.astype(np.float64)
        self.mean_, self.std_ = pixels.mean(0), pixels.std(0)
        return self

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise NotFittedError("PixelGaussian is not fitted")
        rng = np.random.default_rng(seed)
        draws = self.mean_ + self.std_ * rng.standard_normal((n, *self.mean_.shape))
        return np.clip(np.rint(draws), 0, 255).astype(np.uint8)
