"""Image I/O: data sets, PNG round trips, grids and errors that name the bad file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from entertainai.errors import InputError, LimitExceeded, NotFoundError
from entertainai.generate.images import (
    encode_png,
    load_images,
    make_grid,
    to_float,
    to_uint8,
    upscale,
)
from entertainai.imaging import decode_image


def test_digits_are_bundled_labelled_8x8() -> None:
    data = load_images("digits")
    assert data.images.shape == (1797, 8, 8, 1) and data.images.dtype == np.uint8
    assert data.images.max() == 255 and set(data.labels.tolist()) == set(range(10))
    train, held = data.split(0.25, seed=1)
    assert len(train) + len(held) == 1797 and abs(len(held) - 449) <= 1
    assert not set(map(bytes, train.images)) >= set(map(bytes, held.images[:50]))  # disjoint-ish
    again = data.split(0.25, seed=1)[1]
    assert np.array_equal(again.images, held.images)


def test_float_round_trip_is_exact() -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 5, 5, 3), dtype=np.uint8)
    x = to_float(images)
    assert x.shape == (3, 3, 5, 5) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(to_uint8(x), images)


def test_npz_loading_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, images=np.full((4, 8, 8), 0.5, np.float32), labels=np.array([0, 1, 1, 0]))
    data = load_images(str(good))
    assert data.images.shape == (4, 8, 8, 1) and data.images[0, 0, 0, 0] == 128
    assert data.labels.tolist() == [0, 1, 1, 0] and data.class_names == ("0", "1")
    assert load_images(str(good), size=16, channels=3).images.shape == (4, 16, 16, 3)

    np.savez(tmp_path / "nokey.npz", pixels=np.zeros((2, 8, 8)))
    with pytest.raises(InputError, match=r"nokey\.npz: no 'images' array"):
        load_images(str(tmp_path / "nokey.npz"))
    np.savez(tmp_path / "range.npz", images=np.full((2, 8, 8), 3.0))
    with pytest.raises(InputError, match=r"range\.npz.*\[0, 1\]"):
        load_images(str(tmp_path / "range.npz"))
    np.savez(tmp_path / "labels.npz", images=np.zeros((2, 8, 8), np.uint8), labels=np.zeros(3))
    with pytest.raises(InputError, match="'labels' must be 2 integers"):
        load_images(str(tmp_path / "labels.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"junk\.npz"):
        load_images(str(tmp_path / "junk.npz"))
    with pytest.raises(NotFoundError):
        load_images(str(tmp_path / "missing"))


def test_folder_with_class_subfolders(tmp_path: Path) -> None:
    for name, value in (("cats", 10), ("dogs", 200)):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 6), value + i, np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.images.shape == (4, 6, 6, 1) and data.class_names == ("cats", "dogs")
    assert data.labels.tolist() == [0, 0, 1, 1] and data.images[2, 0, 0, 0] == 200

    Image.fromarray(np.zeros((7, 7), np.uint8)).save(tmp_path / "cats" / "odd.png")
    with pytest.raises(InputError, match=r"odd\.png: size 7x7 differs"):
        load_images(str(tmp_path))
    assert load_images(str(tmp_path), size=8).images.shape == (5, 8, 8, 1)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(InputError, match=r"broken\.png: cannot read image"):
        load_images(str(tmp_path), size=8)


def test_png_encode_decode_round_trip() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    png = encode_png(rgb)
    assert png.startswith(b"\x89PNG") and np.array_equal(decode_image(png), rgb)
    gray = rgb[..., :1]
    assert np.array_equal(decode_image(encode_png(gray), mode="L"), gray[..., 0])
    with pytest.raises(InputError, match="uint8"):
        encode_png(rgb.astype(np.float32))


def test_decode_refuses_junk_and_oversized() -> None:
    with pytest.raises(InputError, match="style: not a readable image"):
        decode_image(b"hello", name="style")
    with pytest.raises(InputError, match="empty"):
        decode_image(b"")
    big = encode_png(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(LimitExceeded, match="pixel limit"):
        decode_image(big, max_pixels=50 * 50)
    with pytest.raises(LimitExceeded, match="byte limit"):
        decode_image(big, max_bytes=10)
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buffer, format="JPEG")
    assert decode_image(buffer.getvalue()).shape == (4, 4, 3)
    with pytest.raises(InputError, match="cut: not a readable"):
        decode_image(big[: len(big) // 2], name="cut")  # truncated: header fine, pixels not


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size but holds no pixels (what a decompression bomb shows)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_default_caps_refuse_a_40_megapixel_image_before_decoding() -> None:
    with pytest.raises(LimitExceeded, match="8000x5000 is over the 16777216-pixel limit"):
        decode_image(_png_header(8000, 5000), name="upload")
    with pytest.raises(LimitExceeded, match="byte limit"):
        decode_image(b"\0" * 4_000_001)


def test_decode_resizes_on_request() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    assert decode_image(encode_png(rgb), size=(5, 6)).shape == (6, 5, 3)


def test_grid_layout_and_upscale() -> None:
    images = np.stack([np.full((4, 4, 1), i * 20, np.uint8) for i in range(5)])
    grid = make_grid(images, padding=1)  # 3 columns x 2 rows
    assert grid.shape == (2 * 4 + 3, 3 * 4 + 4, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 20 and grid[6, 1, 0] == 60
    assert make_grid(images, nrow=5, padding=0).shape == (4, 20, 1)
    assert upscale(grid, 3).shape == (33, 48, 1)
    with pytest.raises(InputError):
        make_grid(np.zeros((0, 4, 4, 1), np.uint8))
