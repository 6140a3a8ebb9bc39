"""EASE: the closed form solves the constrained ridge problem, and it refuses huge catalogues."""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.recommend import InteractionData, create
from entertainai.recommend.ease import ease_weights
from tests.recommend.planted import held_out, ndcg, popularity_ndcg


def direct_solve(x: np.ndarray, l2: float) -> np.ndarray:
    """Column by column: ridge-regress item j on every other item (b_jj = 0 by construction)."""
    n = x.shape[1]
    b = np.zeros((n, n))
    for j in range(n):
        others = np.delete(np.arange(n), j)
        xo = x[:, others]
        b[others, j] = np.linalg.solve(xo.T @ xo + l2 * np.eye(n - 1), xo.T @ x[:, j])
    return b


def test_closed_form_matches_direct_solve() -> None:
    x = (np.random.default_rng(0).random((30, 7)) < 0.4).astype(np.float64)
    b = ease_weights(x, l2=3.0)
    assert np.all(np.diag(b) == 0)
    np.testing.assert_allclose(b, direct_solve(x, 3.0), atol=1e-4)


def test_scores_are_history_times_weights(data: InteractionData) -> None:
    model = create("ease").fit(data)
    u = data.user_index()["u3"]
    expected = data.matrix[u].toarray().clip(max=1) @ model.weights_
    np.testing.assert_allclose(model.user_scores(["u3"]), expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.diag(model.weights_) == 0)


def test_refuses_catalogues_above_max_items(data: InteractionData) -> None:
    with pytest.raises(InputError, match="max_items=10"):
        create("ease", max_items=10).fit(data)
    with pytest.raises(InputError, match="l2"):
        create("ease", l2=0.0).fit(data)


def test_beats_popularity_on_held_out_items() -> None:
    train, _ = held_out()
    assert ndcg(create("ease").fit(train)) > popularity_ndcg() + 0.1
