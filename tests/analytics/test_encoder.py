"""The optional pretrained encoder: local files only, sha256 checked, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics import encoder as enc

pytestmark = pytest.mark.skipif(
    not enc.encoder_installed(), reason="the encoder extra is not installed"
)


def test_loads_from_package_files_and_encodes_unit_rows():
    model = enc.load_encoder()
    assert model.sha256 == enc.KNOWN_SHA256[enc.DEFAULT_ENCODER]
    rows = model.encode(["a wonderful film", "a great movie", "tax forms are due"])
    assert rows.shape == (3, model.dim) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert rows[0] @ rows[1] > rows[0] @ rows[2]  # paraphrases sit closer
    assert model.encode([]).shape == (0, model.dim)


def test_tampered_weights_are_refused(tmp_path: Path, monkeypatch):
    copy = tmp_path / "encoder"
    shutil.copytree(enc.find_encoder(), copy)
    weights = copy / enc.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    weights.write_bytes(bytes(data))
    monkeypatch.setenv(enc.ENV_DIR, str(copy))
    with pytest.raises(enc.EncoderUnavailable, match="refusing modified weights"):
        enc.load_encoder()


def test_missing_encoder_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(enc.ENV_DIR, str(tmp_path))
    assert not enc.encoder_installed()
    with pytest.raises(enc.EncoderUnavailable, match="no model.safetensors"):
        enc.find_encoder()
    with pytest.raises(enc.EncoderUnavailable, match="unknown encoder"):
        enc.find_encoder("bert-huge")
