"""Ranking and rating metrics as pure, vectorised functions over full rankings.

``hits[u, r]`` is True when the item at rank r (0-based) of user u's list is relevant;
``n_relevant[u]`` is the size of u's test set. Every metric averages over users with at least
one relevant item.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def precision_at_k(hits: np.ndarray, k: int) -> float:
    return float(hits[:, :k].sum(axis=1).mean() / k)


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    return float((hits[:, :k].sum(axis=1) / np.minimum(n_relevant, k)).mean())


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits[:, :k] * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    return float((dcg / ideal).mean())


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    h = hits[:, :k].astype(np.float64)
    precision_at_rank = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    return float(((precision_at_rank * h).sum(axis=1) / np.minimum(n_relevant, k)).mean())


def hit_rate_at_k(hits: np.ndarray, k: int) -> float:
    return float(hits[:, :k].any(axis=1).mean())


def mrr_at_k(hits: np.ndarray, k: int) -> float:
    h = hits[:, :k]
    first = np.argmax(h, axis=1)
    return float(np.where(h.any(axis=1), 1.0 / (first + 1), 0.0).mean())


def coverage(top_items: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in anybody's list."""
    valid = top_items[top_items >= 0]
    return float(len(np.unique(valid)) / max(n_items, 1))


def novelty(top_items: np.ndarray, popularity: np.ndarray) -> float:
    """Mean self-information -log2 p(i) of recommended items (higher = less obvious)."""
    p = (popularity + 1.0) / (popularity.sum() + len(popularity))
    valid = top_items[top_items >= 0]
    return float(-np.log2(p[valid]).mean()) if len(valid) else 0.0


def intra_list_diversity(top_items: np.ndarray, features: sp.csr_matrix) -> float:
    """Mean pairwise (1 - cosine) between the items of each list, on item features (genres)."""
    f = features.toarray().astype(np.float64)
    f /= np.linalg.norm(f, axis=1, keepdims=True) + 1e-12
    scores = []
    for row in top_items:
        row = row[row >= 0]
        if len(row) < 2:
            continue
        v = f[row]
        sim = v @ v.T
        n = len(row)
        scores.append(1.0 - (sim.sum() - np.trace(sim)) / (n * (n - 1)))
    return float(np.mean(scores)) if scores else 0.0


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - truth)))
