"""encoder_text: learns, round-trips, records its encoder and refuses to load without it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics import encoder as enc
from entertainai.analytics.text_data import demo_labelled
from entertainai.errors import ArtifactError
from entertainai.model import load_model

pytestmark = pytest.mark.skipif(
    not enc.encoder_installed(), reason="the encoder extra is not installed"
)


def test_learns_roundtrips_and_checks_its_encoder(demo_dir: Path, tmp_path: Path, monkeypatch):
    from entertainai.analytics.encoder_text import EncoderText

    train, test = demo_labelled(demo_dir, "sentiment").split(0.25, seed=0)
    train = train.subset(np.arange(min(400, len(train))))
    model = EncoderText.from_params(class_thresholds=True).fit(train)
    p = model.predict(test.texts[:100])
    truth = [row[0] for row in test.labels[:100]]
    assert np.mean([r["label"] == t for r, t in zip(p.rows(), truth, strict=True)]) > 0.7
    assert 0.0 <= model.validation_macro_f1_ <= 1.0
    model.save(tmp_path / "m")
    record = json.loads((tmp_path / "m" / "encoder.json").read_text())
    assert record == {"name": enc.DEFAULT_ENCODER, "sha256": enc.KNOWN_SHA256[enc.DEFAULT_ENCODER]}
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts[:20]), model.predict_proba(test.texts[:20]), atol=1e-5
    )
    # Embeddings alone (no TF-IDF block) save and load too.
    alone = EncoderText.from_params(tfidf=False).fit(train)
    alone.save(tmp_path / "a")
    assert load_model(tmp_path / "a").predict_proba(["fine"]).shape == (1, len(train.classes))
    # Another encoder's weights: refused with the names in the message.
    record["sha256"] = "0" * 64
    (tmp_path / "m" / "encoder.json").write_text(json.dumps(record))
    with pytest.raises(ArtifactError, match="built with all-MiniLM-L6-v2 weights 0000"):
        load_model(tmp_path / "m")
    # No encoder installed: a clear error, not a crash deep in a library.
    monkeypatch.setenv(enc.ENV_DIR, str(tmp_path / "nowhere"))
    with pytest.raises(ArtifactError, match="not usable here"):
        load_model(tmp_path / "a")
