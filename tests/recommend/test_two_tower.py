"""Two-tower: learns the planted tastes, and places brand-new items from metadata alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from entertainai.model import load_model
from entertainai.recommend import InteractionData, create
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.two_tower import TwoTower, item_features
from tests.recommend.planted import held_out, ndcg, popularity_ndcg

SCIFI_USERS = [f"u{u}" for u in range(30)]
ROMANCE_USERS = [f"u{u}" for u in range(30, 60)]


@pytest.fixture(scope="module")
def model() -> TwoTower:
    model = create("two_tower", epochs=30).fit(held_out()[0])
    assert isinstance(model, TwoTower)
    return model


def new_items() -> Catalogue:
    """Two items nobody has interacted with and whose ids the model has never seen."""
    return Catalogue.from_table(
        pa.table(
            {
                "item_id": ["new-scifi", "new-romance"],
                "title": ["Space odyssey", "Love letters"],
                "description": ["rocket galaxy alien ship", "romance kiss wedding heart"],
                "genres": [["Sci-Fi"], ["Romance"]],
                "year": pa.array([2024, 2024], pa.int32()),
            }
        )
    )


def test_beats_popularity_on_held_out_items(model: TwoTower) -> None:
    assert ndcg(model) > popularity_ndcg() + 0.1


@pytest.mark.parametrize(("users", "genre"), [(SCIFI_USERS, 0), (ROMANCE_USERS, 1)])
def test_new_item_reaches_its_audience(model: TwoTower, users: list[str], genre: int) -> None:
    """A new item of the users' genre beats every trained item of the other genre.

    Among its own genre it lands mid-pack, as it should: the planted items of one genre differ
    only by noise, and the new one has no interactions to set it apart.
    """
    new = model.embed_items(new_items()) @ model.embed_users(users).T  # (2, n_users)
    own_new, other_new = new[genre], new[1 - genre]
    existing = model.user_scores(users)  # the same cosine scores, over the trained catalogue
    other_genre = existing[:, 1 - genre :: 2]
    assert np.mean(own_new > other_genre.max(axis=1)) >= 0.9
    assert np.all(own_new > other_new)
    rank = (existing > own_new[:, None]).sum(axis=1)  # 0 = the user's best item
    assert np.median(rank) < existing.shape[1] / 2


def test_embed_items_reproduces_trained_items(model: TwoTower) -> None:
    np.testing.assert_allclose(model.embed_items(model.catalogue_), model.item_vectors_, atol=1e-5)


def test_embed_history_encodes_a_new_user(model: TwoTower) -> None:
    vectors = model.embed_history([["i0", "i2", "i4"], ["i1", "i3", "unknown"], []])
    top = np.argsort(-(vectors[:2] @ model.item_vectors_.T), axis=1)[:, :5]
    assert np.all(top[0] % 2 == 0) and np.all(top[1] % 2 == 1)
    assert not vectors[2].any()


def test_weights_roundtrip_through_safetensors(model: TwoTower, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "weights.safetensors").is_file()
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, TwoTower)
    np.testing.assert_allclose(
        loaded.embed_items(new_items()), model.embed_items(new_items()), atol=1e-6
    )


def test_training_api_is_what_fit_runs(data: InteractionData) -> None:
    """A Ray worker's loop (build, optimise, train_epoch, from_module) equals ``fit``."""
    spec = TwoTower.from_params(epochs=2, device="cpu")
    module = spec.build_module(data)
    optimizer = spec.build_optimizer(module)
    for epoch in range(spec.config.epochs):
        spec.train_epoch(module, data, optimizer, epoch)
    adopted = TwoTower(spec.config).from_module(module, data)
    fitted = TwoTower(spec.config).fit(data)
    np.testing.assert_allclose(adopted.item_vectors_, fitted.item_vectors_, atol=1e-6)


def test_genres_are_matched_by_name_not_position(data: InteractionData) -> None:
    """A new catalogue lists its genres in its own order; features must follow the names."""
    vocab = np.asarray(["Romance", "Sci-Fi"])
    new = Catalogue.from_table(
        pa.table({"item_id": ["a", "b"], "genres": [["Sci-Fi", "Western"], ["Romance"]]})
    )
    index, weight = item_features(new, vocab, text_buckets=16, max_tokens=8)
    assert index[0, 0] == 1 and index[1, 0] == 0  # "Western" is unknown to the model: dropped
    assert weight[0, 0] == pytest.approx(1.0)


def test_user_tower_encodes_each_distinct_history_item_once(data: InteractionData) -> None:
    """The deduplicated history mean equals encoding every history slot one by one."""
    import torch

    spec = TwoTower.from_params(epochs=1, device="cpu")
    module = spec.build_module(data)
    torch.nn.init.normal_(module.item_id.weight)  # non-zero ids, so ids matter too
    tables = spec.training_tables(data, torch.device("cpu"))
    users = torch.arange(min(8, data.n_users))
    history = tables.history[users]
    got = module.user_vectors(users, history, tables.feat_index, tables.feat_weight)
    valid = history >= 0
    slots = torch.zeros(*history.shape, module.item_id.embedding_dim)
    slots[valid] = module.item_vectors(history[valid], tables.feat_index, tables.feat_weight)
    mean = slots.sum(1) / valid.sum(1).clamp(min=1)[:, None]
    torch.testing.assert_close(got, module.user_id(users) + mean)
