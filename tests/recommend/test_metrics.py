from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from entertainai.recommend import metrics as m

HITS = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], bool)
N_REL = np.array([2, 3, 1])


def test_precision_recall_hit_rate():
    assert m.precision_at_k(HITS, 4) == pytest.approx((2 / 4 + 1 / 4 + 0) / 3)
    assert m.recall_at_k(HITS, N_REL, 4) == pytest.approx((2 / 2 + 1 / 3 + 0) / 3)
    assert m.hit_rate_at_k(HITS, 4) == pytest.approx(2 / 3)
    assert m.hit_rate_at_k(HITS, 1) == pytest.approx(1 / 3)


def test_ndcg_map_mrr_by_hand():
    d = 1 / np.log2(np.arange(2, 6))
    user0 = (d[0] + d[2]) / (d[0] + d[1])
    user1 = d[3] / (d[0] + d[1] + d[2])
    assert m.ndcg_at_k(HITS, N_REL, 4) == pytest.approx((user0 + user1) / 3)
    assert m.map_at_k(HITS, N_REL, 4) == pytest.approx(((1 + 2 / 3) / 2 + (1 / 4) / 3) / 3)
    assert m.mrr_at_k(HITS, 4) == pytest.approx((1 + 1 / 4) / 3)


def test_perfect_ranking_scores_one():
    hits = np.array([[1, 1, 0]], bool)
    assert m.ndcg_at_k(hits, np.array([2]), 3) == pytest.approx(1.0)
    assert m.map_at_k(hits, np.array([2]), 3) == pytest.approx(1.0)


def test_beyond_accuracy_metrics():
    tops = np.array([[0, 1], [0, 2]])
    assert m.coverage(tops, 10) == pytest.approx(0.3)
    pop = np.array([100.0, 1, 1, 1])
    assert m.novelty(np.array([[1, 2]]), pop) > m.novelty(np.array([[0, 0]]), pop)
    genres = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1]], np.float32))
    assert m.intra_list_diversity(np.array([[0, 1]]), genres) == pytest.approx(0.0, abs=1e-9)
    assert m.intra_list_diversity(np.array([[0, 2]]), genres) == pytest.approx(1.0)
    assert m.rmse(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == pytest.approx(1.0)
    assert m.mae(np.array([1.0, 4.0]), np.array([2.0, 2.0])) == pytest.approx(1.5)
