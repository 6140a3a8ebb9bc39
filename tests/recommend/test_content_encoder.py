"""Content with ``features="encoder"``: cold start by meaning, artifacts tied to the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.encoder import encoder_installed
from entertainai.model import load_model
from entertainai.recommend import InteractionData
from entertainai.recommend.content import Content

pytestmark = pytest.mark.skipif(not encoder_installed(), reason="encoder extra not installed")


def test_encoder_features_rank_and_roundtrip(data: InteractionData, tmp_path: Path):
    model = Content.from_params(features="encoder").fit(data)
    assert model.items_.shape == (len(model.item_ids_), 384)
    recs = model.recommend(["u0", "u1"], k=5)
    assert all(len(row) == 5 for row in recs.item_ids)
    profile = model.profile_from_preferences(genres=["Sci-Fi"])
    assert profile.shape == (1, 384)
    model.save(tmp_path / "c")
    loaded = load_model(tmp_path / "c")
    np.testing.assert_allclose(
        loaded.user_scores(["u0", "u1"]), model.user_scores(["u0", "u1"]), atol=1e-5
    )
    header = json.loads((tmp_path / "c" / "model.json").read_text())
    assert header["config"]["features"] == "encoder"


def test_unknown_features_refused(data: InteractionData):
    from entertainai.errors import InputError

    with pytest.raises(InputError, match="features"):
        Content.from_params(features="bert").fit(data)
