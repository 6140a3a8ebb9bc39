"""The image CNN on a tiny folder-per-class dataset: learns, round-trips, flags unsafe classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.errors import InputError, NotFoundError
from entertainai.model import load_model
from entertainai.moderation.image import ImageClassifier, load_image_folder, write_demo_images

PARAMS = {
    "image_size": 24,
    "filters": (16, 32),
    "hidden": 32,
    "epochs": 20,
    "batch_size": 8,
    "learning_rate": 3e-3,
    "patience": 5,
    "dropout": 0.1,
}


def test_cnn_learns_and_flags(tmp_path: Path):
    write_demo_images(tmp_path / "train", per_class=24, size=24, seed=0)
    write_demo_images(tmp_path / "test", per_class=8, size=24, seed=1)
    x, y, classes = load_image_folder(tmp_path / "train", 24)
    assert x.shape == (72, 24, 24, 3) and classes == ("blobs", "noise", "stripes")
    model = ImageClassifier.from_params(**PARAMS, unsafe_classes=("stripes",)).fit(x, y, classes)
    xt, yt, _ = load_image_folder(tmp_path / "test", 24)
    probs = model.predict_proba(xt)
    accuracy = float((probs.argmax(axis=1) == yt).mean())
    assert accuracy > 0.6  # chance is 1/3
    verdicts = model.check_images(probs)
    flagged = np.array([v.flagged for v in verdicts])
    assert flagged[yt == 2].mean() > flagged[yt != 2].mean()
    assert model.tags(probs[:1], k=2)[0][0][0] in classes

    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(xt), probs, atol=1e-5)
    blob = (tmp_path / "test" / "stripes" / "000.png").read_bytes()
    np.testing.assert_allclose(loaded.predict_bytes([blob]), probs[yt == 2][:1], atol=1e-5)


def test_bad_images(tmp_path: Path):
    with pytest.raises(NotFoundError):
        load_image_folder(tmp_path / "none", 24)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"not an image")
    (tmp_path / "b" / "y.png").write_bytes(b"nor this")
    with pytest.raises(InputError, match=r"a/x.png: not a readable image"):
        load_image_folder(tmp_path, 24)
    with pytest.raises(InputError, match="unsafe classes"):
        ImageClassifier.from_params(unsafe_classes=("gore",)).fit(
            np.zeros((2, 32, 32, 3)), np.array([0, 1]), ("a", "b")
        )
