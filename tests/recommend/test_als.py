"""Implicit ALS: CG reaches the exact per-user solve, the objective falls, tastes are learned."""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.recommend import InteractionData, create
from entertainai.recommend.als import als_loss, confidence, least_squares_cg
from tests.recommend.planted import held_out, ndcg, popularity_ndcg

# The L2 term weighs against summed errors, so it scales with the data: the 60-user planted
# data needs a much weaker one than the default (tuned for thousands of users).
TINY_L2 = 5.0


def exact_solve(conf: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Hu et al.'s per-user normal equations, one dense solve per user."""
    pref = (conf > 0).astype(np.float64)
    c = np.where(conf > 0, conf, 1.0)
    k = y.shape[1]
    return np.stack(
        [
            np.linalg.solve(y.T @ (c[u, :, None] * y) + reg * np.eye(k), y.T @ (c[u] * pref[u]))
            for u in range(len(c))
        ]
    )


def test_confidence_is_one_plus_alpha_count(data: InteractionData) -> None:
    conf = confidence(data.matrix, 4.0)
    np.testing.assert_allclose(conf.data, 1 + 4.0 * data.matrix.tocsr().data)


def test_cg_converges_to_exact_solve(data: InteractionData) -> None:
    conf = confidence(data.matrix, 10.0)
    y = np.random.default_rng(0).standard_normal((data.n_items, 6)).astype(np.float32)
    start = np.zeros((data.n_users, 6), np.float32)
    x = least_squares_cg(conf, y, start, 0.5, steps=12)
    np.testing.assert_allclose(x, exact_solve(conf.toarray(), y.astype(np.float64), 0.5), atol=1e-4)


def test_loss_decreases_every_iteration(data: InteractionData) -> None:
    model = create("als", iterations=6).fit(data)
    losses = np.asarray(model.loss_history_)
    assert len(losses) == 6
    assert np.all(np.diff(losses) <= 1e-4 * losses[:-1])
    conf = confidence(data.matrix, model.config.alpha)
    loss = als_loss(conf, model.user_factors_, model.item_factors_, model.config.regularization)
    assert loss == pytest.approx(losses[-1], rel=1e-5)


def test_loss_matches_dense_objective(data: InteractionData) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((data.n_users, 3)).astype(np.float32)
    y = rng.standard_normal((data.n_items, 3)).astype(np.float32)
    conf = confidence(data.matrix, 2.0)
    c = conf.toarray()
    dense = np.sum(np.where(c > 0, c, 1.0) * ((c > 0) - x @ y.T) ** 2) + 0.3 * (
        np.sum(x**2) + np.sum(y**2)
    )
    assert als_loss(conf, x, y, 0.3) == pytest.approx(dense, rel=1e-4)


def test_similar_items_share_the_genre(data: InteractionData) -> None:
    model = create("als", iterations=8, regularization=TINY_L2).fit(data)
    sims = model.similar_items(["i0", "i1"], k=5)
    assert all(int(i[1:]) % 2 == 0 for i in sims.item_ids[0])
    assert all(int(i[1:]) % 2 == 1 for i in sims.item_ids[1])


def test_rejects_bad_hyperparameters(data: InteractionData) -> None:
    with pytest.raises(InputError):
        create("als", factors=0).fit(data)


def test_beats_popularity_on_held_out_items() -> None:
    train, _ = held_out()
    assert (
        ndcg(create("als", iterations=8, regularization=TINY_L2).fit(train))
        > popularity_ndcg() + 0.1
    )
