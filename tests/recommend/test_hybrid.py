"""Hybrid: fitted weights, quality vs its components, cold start, new items, save/load."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from entertainai.data.splits import random_split
from entertainai.errors import InputError
from entertainai.model import load_model
from entertainai.recommend import Filters, InteractionData, create
from entertainai.recommend.evaluation import evaluate
from entertainai.recommend.hybrid import Hybrid, HybridConfig, Preferences, holdout

GROUP_A = [f"u{u}" for u in range(30)]


@pytest.fixture(scope="module")
def hybrid(data: InteractionData) -> Hybrid:
    return Hybrid().fit(data)


def test_weights_are_fitted(hybrid, data):
    assert hybrid.weights_.shape == (3,) and (hybrid.weights_ >= 0).all()
    assert hybrid.weights_.sum() == pytest.approx(1.0)
    assert hybrid.weights_[0] > 0  # item-kNN carries the planted tastes
    fixed = Hybrid(HybridConfig(weights=(1, 1, 2))).fit(data)
    np.testing.assert_allclose(fixed.weights_, [0.25, 0.25, 0.5])


@pytest.mark.parametrize("method", ["weighted", "rrf"])
def test_matches_or_beats_the_best_component(tables, method):
    interactions, items = tables
    split = random_split(interactions)
    train = InteractionData.from_tables(split.train, items)
    ndcg = {
        kind: evaluate(create(kind).fit(train), split.test).metrics["ndcg"]
        for kind in ("item_knn", "content", "trending")
    }
    blended = evaluate(create("hybrid", method=method).fit(train), split.test).metrics["ndcg"]
    # 60 test users: differences under 0.02 NDCG are noise of the tiny split, not signal.
    assert blended >= max(ndcg.values()) - 0.02
    assert blended > ndcg["trending"] + 0.1


def test_cold_start_user_gets_stated_genre(hybrid):
    recs = hybrid.recommend_new_user(Preferences(genres=("Romance",)), k=8)
    assert len(recs.row(0)) == 8
    assert all(int(i[1:]) % 2 == 1 for i in recs.item_ids[0])
    liked = hybrid.recommend_new_user(Preferences(liked_item_ids=("i2",)), k=5)
    assert "i2" not in liked.item_ids[0]
    assert np.mean([int(i[1:]) % 2 == 0 for i in liked.item_ids[0]]) >= 0.8
    # Without preferences an unknown user gets the trending list.
    trending = hybrid.components_[2].recommend(["x"], k=5)
    np.testing.assert_array_equal(hybrid.recommend(["x"], k=5).item_ids, trending.item_ids)
    romance_pg = hybrid.recommend_new_user(
        Preferences(genres=("Romance",)), k=5, filters=Filters(max_maturity="PG")
    )
    assert all(int(i[1:]) % 4 != 0 for i in romance_pg.item_ids[0])
    with pytest.raises(InputError):
        hybrid.recommend_new_user(Preferences(liked_item_ids=("nope",)))


def test_new_item_reaches_its_genre_through_content_neighbours(data):
    model = Hybrid().fit(data)
    model.add_items(
        pa.table(
            {
                "item_id": ["new-scifi"],
                "title": ["Space odyssey"],
                "description": ["rocket galaxy alien ship"],
                "genres": [["Sci-Fi"]],
            }
        )
    )
    assert model.components_[0].item_indices(["new-scifi"])[0] == -1  # item-kNN never saw it
    recs = model.recommend(GROUP_A, k=10)
    assert np.mean(["new-scifi" in row for row in recs.item_ids]) > 0.8
    assert "new-scifi" not in model.recommend(["u40", "u45"], k=5).item_ids


def test_save_load_roundtrip_with_component_directories(data, tmp_path):
    model = Hybrid(HybridConfig(method="rrf")).fit(data)
    model.add_items(pa.table({"item_id": ["new-1"], "genres": [["Romance"]]}))
    model.update([("u0", "i39", 1_700_100_000.0, 1.0), ("u1", "live-only", 1_700_100_000.0, 1.0)])
    path = model.save(tmp_path / "h")
    subdirs = sorted((path / "components").iterdir())
    assert [load_model(sub).kind for sub in subdirs] == list(HybridConfig().components)
    loaded = load_model(path)
    users = ["u0", "u40", "nobody"]
    a, b = model.recommend(users, k=10), loaded.recommend(users, k=10)
    np.testing.assert_array_equal(a.item_ids, b.item_ids)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
    assert {"new-1", "live-only"} <= set(loaded.item_ids_)


def test_from_fitted_models(data):
    knn, content = create("item_knn").fit(data), create("content").fit(data)
    model = Hybrid.from_models([knn, content]).fit(data)
    assert model.components_[0] is knn and model.components_[1] is content
    assert model.config.components[0].startswith("item_knn:")
    recs = model.recommend(GROUP_A, k=5)
    assert np.mean([int(i[1:]) % 2 == 0 for i in recs.item_ids.ravel()]) > 0.8
    with pytest.raises(InputError):
        Hybrid(HybridConfig(components=("item_knn",), weights=(1, 2)))


def test_holdout_keeps_every_user(data):
    train, held = holdout(data, 0.2, np.random.default_rng(0))
    assert (train.matrix.getnnz(axis=1) >= 1).all()
    assert held.multiply(train.matrix).nnz == 0
    assert train.matrix.nnz + held.nnz == data.matrix.nnz
