"""The recommender half of the contract, parametrised over every registered recommender.

What every model kind owes (save -> load equality, unfitted errors, unknown parameters,
seeded determinism) is checked once for all kinds in tests/test_model_contract.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.recommend import RECOMMENDERS, Filters, InteractionData, create

# Small hyperparameters keep every model fast on the tiny data.
FAST_PARAMS: dict[str, dict[str, object]] = {
    # 60 users: small batches and a faster rate, or one batch per epoch learns nothing.
    "bpr": {"epochs": 30, "lr": 0.01, "weight_decay": 1e-3, "batch_size": 256},
    "two_tower": {"epochs": 30},
    "als": {"iterations": 8, "regularization": 5.0},  # tiny data: weaker summed-error L2
}


def fitted(kind: str, data: InteractionData):
    return create(kind, **FAST_PARAMS.get(kind, {})).fit(data)


@pytest.fixture(scope="module", params=RECOMMENDERS)
def model(request, data):
    return fitted(request.param, data)


def test_recommend_shapes_and_order(model, data):
    recs = model.recommend(["u0", "u31", "u5"], k=5)
    assert recs.item_ids.shape == (3, 5) and recs.scores.shape == (3, 5)
    assert np.all(np.diff(recs.scores, axis=1) <= 1e-6)  # sorted best first
    assert all(i in set(data.item_ids) for i in recs.item_ids.ravel() if i)
    # Indices name the same items (serving builds responses from them), -1 where padded.
    assert np.array_equal(model.item_indices(recs.item_ids.ravel()).reshape(3, 5), recs.indices)


def test_excludes_seen_items(model, data):
    seen = set(data.item_ids[data.matrix[data.user_index()["u0"]].indices])
    recs = model.recommend(["u0"], k=10, filters=None)
    assert not seen & set(recs.item_ids[0])
    with_seen = model.recommend(["u0"], k=len(data.item_ids), exclude_seen=False)
    assert seen <= set(with_seen.item_ids[0])


def test_filters_apply(model):
    recs = model.recommend(
        ["u0", "u40"], k=8, filters=Filters(include_genres=("romance",), max_maturity="PG")
    )
    for item in recs.item_ids.ravel():
        if item:
            n = int(item[1:])
            assert n % 2 == 1 and n % 4 != 0 and n != 10


def test_unavailable_items_never_recommended(model):
    recs = model.recommend(["u0", "u1", "u30"], k=20)
    assert "i10" not in set(recs.item_ids.ravel())


def test_unknown_user_gets_cold_start_list(model):
    recs = model.recommend(["nobody"], k=5)
    assert len(recs.row(0)) == 5


def test_learns_planted_tastes(model, data):
    """Group A users should get mostly genre-A items; the popularity baseline is exempt."""
    if model.kind in ("popularity", "trending"):
        pytest.skip("non-personalised baseline")
    recs = model.recommend([f"u{u}" for u in range(30)], k=5)
    even = np.mean([int(i[1:]) % 2 == 0 for i in recs.item_ids.ravel() if i])
    assert even > 0.7


def test_similar_items(model):
    sims = model.similar_items(["i0", "i1"], k=4)
    assert sims.item_ids.shape == (2, 4)
    assert "i0" not in sims.item_ids[0] and "i1" not in sims.item_ids[1]
    with pytest.raises(InputError):
        model.similar_items(["no-such-item"])


def test_score_is_pairwise(model):
    scores = model.score(["u0", "u1", "u0"], ["i0", "i2", "missing"])
    assert scores.shape == (3,)
    assert np.isfinite(scores[:2]).all() and np.isnan(scores[2])


def test_unknown_kind_and_params():
    with pytest.raises(InputError):
        create("nope")
    with pytest.raises(ValueError, match="unknown"):
        create("item_knn", neighbours=3)


def test_documented_fallbacks_for_odd_requests(model):
    with pytest.raises(InputError):
        model.recommend(["u0"], k=0)
    huge = model.recommend(["u0"], k=10_000)  # more than the catalogue: padded, never a crash
    assert huge.item_ids.shape == (1, 10_000) and 0 < len(huge.row(0)) < 40
    assert np.array_equal(huge.indices < 0, huge.item_ids == "")
    mixed = model.recommend([0, "u0"], k=3)  # ids of mixed types are compared as strings
    assert len(mixed.row(1)) == 3


def test_empty_interactions_are_refused():
    from tests.recommend.conftest import make_tables

    interactions, items = make_tables()
    with pytest.raises(InputError, match="empty"):
        create("item_knn").fit(
            InteractionData.from_tables(interactions.slice(0, 0), items.slice(0, 0))
        )
