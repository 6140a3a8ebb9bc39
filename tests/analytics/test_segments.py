"""Segments recover the planted user segments with k chosen from the data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score

from entertainai.analytics.segments import (
    KScore,
    Segments,
    SegmentsConfig,
    UserFeatures,
    choose_k,
    user_features,
)
from entertainai.data.dataset import Dataset
from entertainai.errors import InputError, NotFoundError
from entertainai.model import load_model


@pytest.fixture(scope="module")
def planted(demo_dir: Path) -> tuple[UserFeatures, np.ndarray]:
    ds = Dataset.open(str(demo_dir))
    features = user_features(ds.interactions, ds.items)
    truth = pq.read_table(io.BytesIO(ds.extra("ground_truth/users.parquet")))
    segment = dict(
        zip(truth.column("user_id").to_pylist(), truth.column("segment").to_pylist(), strict=True)
    )
    return features, np.array([segment[u] for u in features.user_ids])


def test_features(planted):
    features, _ = planted
    names = list(features.names)
    assert names[:2] == ["activity:log_count", "activity:log_recency_days"]
    for group in ("genre:", "time:", "device:"):
        cols = [i for i, n in enumerate(names) if n.startswith(group)]
        np.testing.assert_allclose(features.values[:, cols].sum(axis=1), 1.0)


def test_recovers_planted_segments_and_roundtrips(planted, tmp_path: Path):
    features, truth = planted
    config = SegmentsConfig(k_min=2, k_max=7, n_bootstrap=3, n_references=3)
    model = Segments(config).fit(features)
    # k is chosen without being told; on 300 users two small planted segments may merge
    # (benchmarks/segmentation.py measures the full demo data).
    assert abs(model.k_ - len(np.unique(truth))) <= 2
    assert adjusted_rand_score(truth, model.labels_) > 0.6
    assert sum(p["size"] for p in model.profiles_) == len(truth)
    assert model.profiles_[0]["size"] == max(p["size"] for p in model.profiles_)
    assert [s["k"] for s in model.selection_] == list(range(2, 8))
    loaded = load_model(model.save(tmp_path / "seg"))
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_array_equal(model.predict(features), model.labels_)
    user = str(features.user_ids[5])
    assert loaded.segment_of(user) == model.labels_[5]
    with pytest.raises(NotFoundError):
        loaded.segment_of("nobody")
    # New users with fewer columns (an unseen device) still get a segment.
    partial = UserFeatures(features.user_ids[:3], features.values[:3, :-1], features.names[:-1])
    assert loaded.predict(partial).shape == (3,)
    again = Segments(config).fit(features)
    np.testing.assert_array_equal(again.labels_, model.labels_)


def test_rule_never_silhouette_alone():
    def score(k: int, sil: float, gap: float, stab: float) -> KScore:
        return KScore(k, sil, gap, 0.01, stab, 1.0)

    scores = [score(2, 0.5, 1.0, 0.5), score(3, 0.2, 1.5, 0.95), score(4, 0.3, 1.51, 0.6)]
    # k=2 has the best silhouette but is unstable; k=3 is stable and passes the gap test.
    assert choose_k(scores, SegmentsConfig()) == 3
    assert choose_k([score(2, 0.1, 1, 0.1), score(3, 0.1, 1, 0.3)], SegmentsConfig()) == 3


def test_bad_input(planted):
    features, _ = planted
    with pytest.raises(InputError, match="users"):
        Segments().fit(features.subset(np.arange(5)))
    with pytest.raises(InputError, match="method"):
        SegmentsConfig(method="dbscan")
    with pytest.raises(InputError, match="does not match"):
        UserFeatures(np.array(["a"]), np.zeros((2, 2)), ("x", "y"))
