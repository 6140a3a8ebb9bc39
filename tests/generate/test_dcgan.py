"""DCGAN: seeded sampling, shapes, PNG validity, save/load equality, errors, and that it learns."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from entertainai.errors import InputError, LimitExceeded, NotFittedError
from entertainai.generate.dcgan import DCGAN
from entertainai.generate.images import ImageData
from entertainai.model import load_model

torch.set_num_threads(1)
TINY = {"latent_dim": 8, "g_width": 8, "d_width": 8, "batch_size": 32, "device": "cpu"}


def blobs(n: int = 128, seed: int = 0) -> ImageData:
    """8x8 images of one bright 4x4 square in the top-left corner on noise: easy to learn."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, 8, 8, 1)).astype(np.uint8)
    images[:, :4, :4] = 230
    return ImageData(images, None, (), "blobs")


@pytest.fixture(scope="module")
def fitted() -> DCGAN:
    return DCGAN.from_params(**TINY, epochs=30, lr_g=2e-3, lr_d=2e-3, ema_decay=0.9).fit(blobs())


def test_learns_the_planted_square_vs_untrained(fitted: DCGAN) -> None:
    untrained = DCGAN.from_params(**TINY, epochs=0).fit(blobs())

    def square_contrast(images: np.ndarray) -> float:
        x = images.astype(float)
        return float(x[:, :4, :4].mean() - x[:, 4:, 4:].mean())

    assert square_contrast(untrained.sample(64, seed=1)) < 30
    assert square_contrast(fitted.sample(64, seed=1)) > 100  # real data: ~210


def test_seeded_sampling_shapes_and_pngs(fitted: DCGAN) -> None:
    out = fitted(num_images=5, seed=7, grid=True, scale=2)
    assert out.images.shape == (5, 8, 8, 1) and out.images.dtype == np.uint8
    assert np.array_equal(out.images, fitted(num_images=5, seed=7).images)
    assert not np.array_equal(out.images, fitted(num_images=5, seed=8).images)
    assert len(out.png) == 5 and out.grid_png is not None
    first = Image.open(io.BytesIO(out.png[0]))
    assert first.format == "PNG" and first.size == (16, 16)
    assert np.array_equal(np.asarray(first)[::2, ::2], out.images[0, ..., 0])
    grid = Image.open(io.BytesIO(out.grid_png))
    assert grid.size == (2 * (3 * 8 + 4), 2 * (2 * 8 + 3))  # 3 columns x 2 rows, padding 1
    assert fitted(num_images=2).grid_png is None


def test_save_load_gives_identical_samples(fitted: DCGAN, tmp_path: Path) -> None:
    fitted.save_pretrained(tmp_path / "gan")
    assert sorted(p.name for p in (tmp_path / "gan").iterdir()) == [
        "dcgan.json",
        "generator.safetensors",
        "model.json",
    ]
    loaded = load_model(tmp_path / "gan")
    assert isinstance(loaded, DCGAN) and loaded.config == fitted.config
    assert np.array_equal(loaded.sample(6, seed=3), fitted.sample(6, seed=3))
    assert np.array_equal(DCGAN.from_pretrained(tmp_path / "gan").sample(2), fitted.sample(2))


def test_training_is_deterministic_under_a_seed() -> None:
    a = DCGAN.from_params(**TINY, epochs=2).fit(blobs(64))
    b = DCGAN.from_params(**TINY, epochs=2).fit(blobs(64))
    assert np.array_equal(a.sample(4, seed=0), b.sample(4, seed=0))
    assert a.loss_history_ == b.loss_history_ and len(a.loss_history_) == 2


def test_errors(fitted: DCGAN) -> None:
    with pytest.raises(NotFittedError):
        DCGAN()(num_images=1)
    with pytest.raises(LimitExceeded, match="num_images must be in 1..256"):
        fitted(num_images=0)
    with pytest.raises(LimitExceeded):
        fitted(num_images=10_000)
    with pytest.raises(LimitExceeded, match="scale"):
        fitted(num_images=1, scale=100)
    with pytest.raises(InputError, match="seed"):
        fitted(num_images=1, seed=-1)
    with pytest.raises(InputError, match="num_images"):
        fitted.sample(0)
    batched = fitted.sample(300, seed=2, batch_size=128)
    assert batched.shape == (300, 8, 8, 1)
    assert np.array_equal(batched, fitted.sample(300, seed=2))  # eval-mode BN: batch-independent
    with pytest.raises(InputError, match="image size must be 8, 16"):
        DCGAN.from_params(**TINY).build_module(
            ImageData(np.zeros((4, 12, 12, 1), np.uint8), None, (), "x")
        )
    with pytest.raises(InputError, match="square"):
        DCGAN.from_params(**TINY).build_module(
            ImageData(np.zeros((4, 8, 16, 1), np.uint8), None, (), "x")
        )


def test_trains_on_rgb_16px() -> None:
    images = np.random.default_rng(0).integers(0, 255, (32, 16, 16, 3)).astype(np.uint8)
    data = ImageData(images, None, (), "rgb")
    model = DCGAN.from_params(**TINY, epochs=1).fit(data)
    assert model.sample(3).shape == (3, 16, 16, 3)


def test_cli_train_then_generate(tmp_path: Path, capsys) -> None:
    from entertainai.cli.main import main

    data = tmp_path / "blobs.npz"
    np.savez(data, images=blobs(64).images[..., 0])
    reg = str(tmp_path / "reg")
    params = [f"--param={k}={v}" for k, v in TINY.items()]
    assert main(["train", "dcgan", "--data", str(data), "--epochs", "1", "--promote",
                 "--registry", reg, *params]) == 0  # fmt: skip
    assert "registered dcgan@1" in capsys.readouterr().out
    out = tmp_path / "grid.png"
    argv = ["generate", "image", "--registry", reg, "--num", "4", "--grid", "--scale", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    assert Image.open(out).size == (2 * 19, 2 * 19)
    assert (
        main(["generate", "image", "--registry", reg, "--num", "3", "--out", str(tmp_path / "d")])
        == 0
    )
    assert len(list((tmp_path / "d").glob("*.png"))) == 3
    capsys.readouterr()
    assert main(["generate", "image", "--registry", reg, "--num", "0", "--out", str(out)]) == 2
    assert "num_images must be in 1..256" in capsys.readouterr().err
    assert main(["train", "dcgan", "--data", str(tmp_path / "nope.npz"), "--registry", reg]) == 2
    assert "nope.npz" in capsys.readouterr().err
