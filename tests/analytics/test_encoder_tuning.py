"""Encoder fine-tuning: it learns the labels, leaves the shared encoder alone, and a tuned copy
travels inside the ensemble's artifact with its sha256 checked (on the CPU, tiny data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics import encoder as enc
from entertainai.analytics.text_data import LabelledTexts
from entertainai.errors import ArtifactError, InputError

pytestmark = pytest.mark.skipif(
    not enc.encoder_installed(), reason="the encoder extra is not installed"
)

# Two classes the pretrained encoder barely separates: the label is a made-up code word.
CODES = {"keep": "zorblat", "drop": "quintex"}
TOPICS = ["the film", "a song", "this show", "the actor", "that episode", "the album"]


def coded_texts(n: int = 48) -> LabelledTexts:
    texts, labels = [], []
    for i in range(n):
        label = "keep" if i % 2 else "drop"
        texts.append(f"{TOPICS[i % len(TOPICS)]} was {CODES[label]} number {i}")
        labels.append((label,))
    return LabelledTexts(texts, labels, False)


def separation(embeddings: np.ndarray, y: np.ndarray) -> float:
    """Distance between the class centroids over the mean spread within the classes."""
    a, b = embeddings[y == 0], embeddings[y == 1]
    gap = np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))
    spread = 0.5 * (
        np.linalg.norm(a - a.mean(axis=0), axis=1).mean()
        + np.linalg.norm(b - b.mean(axis=0), axis=1).mean()
    )
    return float(gap / spread)


def test_fine_tuning_separates_the_labels_and_leaves_the_shared_encoder_alone():
    from entertainai.analytics.encoder_tuning import FineTuneConfig, fine_tune
    from entertainai.analytics.text_models import indicator_matrix

    data = coded_texts()
    Y = indicator_matrix(data.labels, data.classes)
    base = enc.load_encoder()
    before = base.encode(data.texts)
    settings = FineTuneConfig(epochs=3, batch_size=16, learning_rate=1e-4, device="cpu")
    tuned = fine_tune(base, data.texts, Y, False, settings)
    after = tuned.encode(data.texts)
    y = Y.argmax(axis=1)
    assert tuned.tuned and not base.tuned
    assert separation(after, y) > 2 * separation(before, y)
    base._memo.rows.clear()  # the shared encoder's own weights, not its memo, must be unchanged
    np.testing.assert_allclose(base.encode(data.texts), before, atol=1e-5)


def test_ensemble_carries_its_tuned_encoder(tmp_path: Path):
    from entertainai.analytics.ensemble_text import EnsembleText
    from entertainai.model import load_model

    data = coded_texts()
    model = EnsembleText.from_params(fine_tune_encoder="always", validation_fraction=0.0).fit(data)
    assert model.encoder_.tuned
    model.save(tmp_path / "m")
    record = json.loads((tmp_path / "m" / "encoder.json").read_text())
    assert record["tuned"] and (tmp_path / "m" / "tuned_encoder" / enc.WEIGHTS_FILE).is_file()
    assert record["sha256"] != enc.KNOWN_SHA256[enc.DEFAULT_ENCODER]
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict_proba(data.texts[:8]), model.predict_proba(data.texts[:8]), atol=1e-5
    )
    # Tampered tuned weights: refused, naming the file.
    weights = tmp_path / "m" / "tuned_encoder" / enc.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ArtifactError, match="refusing modified weights"):
        load_model(tmp_path / "m")


def test_fine_tune_mode_auto_is_gpu_only_and_bad_modes_are_refused():
    import torch

    from entertainai.analytics.encoder_tuning import should_fine_tune

    assert should_fine_tune("auto") == torch.cuda.is_available()
    assert should_fine_tune("always") and not should_fine_tune("never")
    with pytest.raises(InputError, match="fine_tune_encoder"):
        should_fine_tune("sometimes")
    from entertainai.analytics.ensemble_text import EnsembleText

    with pytest.raises(InputError, match="fine_tune_encoder"):  # at build time, before a fit
        EnsembleText.from_params(fine_tune_encoder="sometimes")
