"""Classifier-feature Fréchet distance, the per-pixel Gaussian baseline and class coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from entertainai.errors import InputError, NotFittedError
from entertainai.generate.frechet import (
    GaussianStats,
    ImageFeatures,
    PixelGaussian,
    class_coverage,
    frechet_distance,
    image_frechet,
)
from entertainai.generate.images import ImageData, load_images
from entertainai.model import load_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits() -> tuple[ImageData, ImageData]:
    data = load_images("digits")
    train, held = data.split(0.3, seed=0)
    return train.subset(np.arange(600)), held


@pytest.fixture(scope="module")
def features(digits) -> ImageFeatures:
    return ImageFeatures.from_params(width=16, feature_dim=32, epochs=12, lr=3e-3, dropout=0.0).fit(
        digits[0]
    )


def test_frechet_of_known_gaussians() -> None:
    a = GaussianStats(np.zeros(2), np.eye(2))
    b = GaussianStats(np.array([3.0, 4.0]), 4 * np.eye(2))
    # |mu|^2 + tr(I + 4I - 2*2I) = 25 + 2
    assert frechet_distance(a, b) == pytest.approx(27.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InputError):
        GaussianStats.of(np.zeros((1, 3)))


def test_classifier_learns_digits(features: ImageFeatures, digits) -> None:
    assert features.accuracy(digits[1]) > 0.6  # chance is 0.1
    assert features.features(digits[1].images[:5]).shape == (5, 32)


def test_distance_ranks_real_over_baseline_and_coverage(features: ImageFeatures, digits) -> None:
    train, held = digits
    n = 300
    real = image_frechet(features, train.images[:n], held.images[:n])
    baseline = PixelGaussian().fit(train).sample(n, seed=0)
    fake = image_frechet(features, baseline, held.images[:n])
    assert fake > 5 * real
    real_cov = class_coverage(features, held.images)
    assert real_cov["classes_present"] >= 8 and sum(real_cov["counts"].values()) <= len(held)
    one_class = held.images[held.labels == 3]
    threes = class_coverage(features, one_class)
    assert max(threes["counts"], key=threes["counts"].get) == "3"
    assert threes["classes_present"] <= real_cov["classes_present"] - 4


def test_save_load_equal_features(features: ImageFeatures, digits, tmp_path: Path) -> None:
    features.save(tmp_path / "f")
    loaded = load_model(tmp_path / "f")
    assert isinstance(loaded, ImageFeatures) and loaded.class_names_ == features.class_names_
    images = digits[1].images[:20]
    assert np.array_equal(loaded.features(images), features.features(images))


def test_seeded_and_errors(digits) -> None:
    train = digits[0].subset(np.arange(100))
    a = ImageFeatures.from_params(width=4, feature_dim=8, epochs=1).fit(train)
    b = ImageFeatures.from_params(width=4, feature_dim=8, epochs=1).fit(train)
    assert np.array_equal(a.features(train.images[:4]), b.features(train.images[:4]))
    with pytest.raises(InputError, match="images must be"):
        a.features(np.zeros((2, 16, 16, 1), np.uint8))
    with pytest.raises(InputError, match="needs labelled"):
        ImageFeatures().fit(ImageData(train.images, None, (), "unlabelled"))
    with pytest.raises(NotFittedError):
        ImageFeatures().features(train.images)
    with pytest.raises(NotFittedError):
        PixelGaussian().sample(2)
    gauss = PixelGaussian().fit(train)
    assert np.array_equal(gauss.sample(3, seed=1), gauss.sample(3, seed=1))
    assert gauss.sample(3).shape == (3, 8, 8, 1)
