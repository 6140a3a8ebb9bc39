"""Style transfer: it moves an image's texture statistics toward the style; seeds, limits, I/O."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from entertainai.errors import InputError, LimitExceeded, NotFittedError
from entertainai.generate.images import encode_png
from entertainai.generate.style_transfer import StyleTransfer
from entertainai.model import load_model

torch.set_num_threads(1)
SMALL = {"channels": [8, 16, 16], "content_layer": 1}


def pictures() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:48, 0:48]
    content = np.zeros((48, 48, 3), np.uint8)
    content[12:36, 12:36] = [200, 60, 60]
    content[..., 2] = (xx * 5).astype(np.uint8)
    style = np.zeros((48, 48, 3), np.uint8)
    stripes = ((xx + yy) // 4) % 2 == 0
    style[stripes] = [20, 200, 40]
    style[~stripes] = [240, 240, 20]
    return content, style


@pytest.fixture(scope="module")
def model() -> StyleTransfer:
    return StyleTransfer.from_params(**SMALL).build()


def test_output_takes_the_style_and_keeps_content(model: StyleTransfer) -> None:
    content, style = pictures()
    out = model(content, style, size=32, steps=40, seed=0)
    assert out.image.shape == (32, 32, 3) and out.steps_run == 40 and not out.stopped_early
    before = model.style_distance(content, style, size=32)
    after = model.style_distance(out.image, style, size=32)
    assert after < 0.2 * before
    content_only = model(content, style, size=32, steps=40, style_weight=0.0, content_weight=1.0)
    assert model.style_distance(content_only.image, style, size=32) > 2 * after
    assert out.content_loss < 1.0
    assert Image.open(io.BytesIO(out.png)).size == (32, 32)


def test_seeded_and_png_input(model: StyleTransfer) -> None:
    content, style = pictures()
    a = model(content, style, size=24, steps=3, seed=5)
    b = model(encode_png(content), encode_png(style), size=24, steps=3, seed=5)
    c = model(content, style, size=24, steps=3, seed=6)
    assert np.array_equal(a.image, b.image) and not np.array_equal(a.image, c.image)
    ticks: list[int] = []
    model(content, style, size=16, steps=4, callback=lambda i, n: ticks.append(i))
    assert ticks == [1, 2, 3, 4]


def test_save_load_same_encoder(model: StyleTransfer, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path / "st")
    loaded = load_model(tmp_path / "st")
    assert isinstance(loaded, StyleTransfer) and loaded.config == model.config
    content, style = pictures()
    assert np.array_equal(
        loaded(content, style, size=16, steps=2).image,
        model(content, style, size=16, steps=2).image,
    )
    # The encoder is a function of its seed: rebuilding gives the same filters.
    rebuilt = StyleTransfer.from_params(**SMALL).build()
    assert torch.equal(rebuilt.encoder_.blocks[0].weight, model.encoder_.blocks[0].weight)


def test_limits_and_bad_input(model: StyleTransfer) -> None:
    content, style = pictures()
    with pytest.raises(LimitExceeded, match="size must be in 16..256"):
        model(content, style, size=1024)
    with pytest.raises(LimitExceeded, match="steps must be in 1..300"):
        model(content, style, steps=301)
    with pytest.raises(InputError, match="style_weight"):
        model(content, style, style_weight=float("nan"))
    with pytest.raises(InputError, match="both be 0"):
        model(content, style, style_weight=0, content_weight=0)
    with pytest.raises(InputError, match="style: not a readable"):
        model(content, b"not an image", size=16, steps=1)
    with pytest.raises(InputError, match="content.*uint8 RGB"):
        model(content.astype(np.float32), style, size=16, steps=1)
    with pytest.raises(NotFittedError):
        StyleTransfer()(content, style)
    with pytest.raises(InputError, match="content_layer"):
        StyleTransfer.from_params(channels=[4], content_layer=3).build()


def test_time_budget_stops_early() -> None:
    content, style = pictures()
    model = StyleTransfer.from_params(**SMALL, time_budget_s=0.0).build()
    out = model(content, style, size=16, steps=50)
    assert out.stopped_early and out.steps_run == 0


def test_cli_style(tmp_path: Path, capsys) -> None:
    from entertainai.cli.main import main

    content, style = pictures()
    Image.fromarray(content).save(tmp_path / "c.png")
    Image.fromarray(style).save(tmp_path / "s.png")
    out = tmp_path / "out.png"
    argv = ["generate", "style", "--content", str(tmp_path / "c.png"), "--style"]
    assert (
        main([*argv, str(tmp_path / "s.png"), "--size", "16", "--steps", "2", "--out", str(out)])
        == 0
    )
    assert Image.open(out).size == (16, 16) and "2 steps" in capsys.readouterr().out
    (tmp_path / "bad.png").write_bytes(b"nope")
    assert main([*argv, str(tmp_path / "bad.png"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.png: not a readable image" in err and "Traceback" not in err
    reg = str(tmp_path / "reg")
    assert (
        main(["train", "style-transfer", "--registry", reg, "--promote", "--param=encoder_seed=3"])
        == 0
    )
    assert main([*argv, str(tmp_path / "s.png"), "--size", "16", "--steps", "1", "--out", str(out),
                 "--model", "style_transfer@production", "--registry", reg]) == 0  # fmt: skip
