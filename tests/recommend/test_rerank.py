"""Re-ranking: MMR diversifies, genre caps hold, exploration is deterministic under a seed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from entertainai.errors import InputError
from entertainai.recommend import InteractionData, create
from entertainai.recommend.metrics import intra_list_diversity
from entertainai.recommend.rerank import cap_genres, exploration_pool, explore, mmr

# Six items over three genres: 0-3 Drama, 4 Comedy, 5 Horror (item 3 is Drama + Comedy).
GENRES = sp.csr_matrix(
    np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], np.float32)
)
ITEMS = np.array([[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]])
SCORES = np.array([[6, 5, 4, 3, 2, 1], [6, 5, 4, 3, 2, 1]], np.float32)


def test_mmr_raises_intra_list_diversity():
    items, scores = mmr(ITEMS, SCORES, GENRES, k=3, lambda_=0.5)
    assert items[0].tolist() == [0, 4, 5]  # best item, then the most relevant new genres
    before = intra_list_diversity(ITEMS[:, :3], GENRES)
    assert intra_list_diversity(items, GENRES) > before
    assert (np.diff(items[0]) != 0).all() and set(items[0]) <= set(ITEMS[0])
    kept, _ = mmr(ITEMS, SCORES, GENRES, k=6, lambda_=1.0)
    np.testing.assert_array_equal(kept, ITEMS)  # lambda=1: relevance order untouched


def test_mmr_on_a_model_list(data: InteractionData):
    model = create("item_knn").fit(data)
    recs = model.recommend(["u0", "u40"], k=20)
    items = model.item_indices(recs.item_ids.ravel().tolist()).reshape(recs.item_ids.shape)
    genres = model.catalogue_.genres
    diverse, _ = mmr(items, recs.scores, genres, k=10, lambda_=0.3)
    assert intra_list_diversity(diverse, genres) > intra_list_diversity(items[:, :10], genres)


def test_mmr_pads_short_lists():
    items = np.array([[2, 4, -1, -1]])
    scores = np.array([[1.0, 0.5, -np.inf, -np.inf]], np.float32)
    out, out_scores = mmr(items, scores, GENRES, k=3)
    assert out.tolist() == [[2, 4, -1]] and np.isneginf(out_scores[0, 2])


def test_genre_caps_respected():
    items, scores = cap_genres(ITEMS, SCORES, GENRES, max_per_genre=2, k=4)
    assert items[0].tolist() == [0, 1, 4, 5]  # items 2 and 3 would be a third Drama
    dense = GENRES.toarray()
    for row in items:
        assert (dense[row[row >= 0]].sum(axis=0) <= 2).all()
    assert np.all(np.diff(scores, axis=1) <= 0)
    with pytest.raises(InputError):
        cap_genres(ITEMS, SCORES, GENRES, max_per_genre=0)


def test_exploration_is_deterministic_under_seed():
    pool = np.array([10, 11, 12, 13])
    first = explore(ITEMS, SCORES, pool, np.random.default_rng(7), every=3, probability=0.2)
    again = explore(ITEMS, SCORES, pool, np.random.default_rng(7), every=3, probability=0.2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    items, scores, explored = first
    assert explored[:, 2].all() and explored[:, 5].all()  # every 3rd slot
    assert np.isin(items[explored], pool).all() and not np.isin(items[~explored], pool).any()
    assert items.shape == ITEMS.shape and np.all(np.diff(scores, axis=1) <= 0)
    assert all(len(set(row)) == len(row) for row in items.tolist())
    items, _, explored = explore(ITEMS, SCORES, pool, np.random.default_rng(0))
    np.testing.assert_array_equal(items, ITEMS)  # no slots asked for: unchanged
    assert not explored.any()


def test_exploration_pool_prefers_new_then_least_exposed():
    exposure = np.array([5.0, 0.0, 3.0, 1.0, 9.0])
    new = np.array([False, False, False, False, True])
    allowed = np.array([True, True, True, False, True])
    assert exploration_pool(exposure, 3, allowed, new).tolist() == [4, 1, 2]
