"""Neighbourhood collaborative filtering: item-kNN and user-kNN, cosine with shrinkage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from entertainai.recommend.base import Recommender
from entertainai.recommend.interactions import InteractionData


@dataclass(frozen=True)
class KNNConfig:
    neighbors: int = 100  # kept per item (item-kNN) or per user (user-kNN)
    shrinkage: float = 10.0  # damps similarities resting on few co-occurrences


def cosine_topk(x: sp.csr_matrix, neighbors: int, shrinkage: float) -> sp.csr_matrix:
    """Row-similarity of ``x`` (rows are entities) by shrunk cosine, pruned to top-n per row."""
    x = x.tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    co = (x @ x.T).tocoo()
    keep = co.row != co.col
    row, col, val = co.row[keep], co.col[keep], co.data[keep]
    val = val / (norms[row] * norms[col] + shrinkage + 1e-9)
    return _prune_rows(sp.csr_matrix((val, (row, col)), shape=co.shape), neighbors)


def _prune_rows(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    m = m.tocsr()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        start, end = m.indptr[r], m.indptr[r + 1]
        if end == start:
            continue
        data, idx = m.data[start:end], m.indices[start:end]
        if len(data) > n:
            top = np.argpartition(-data, n - 1)[:n]
            data, idx = data[top], idx[top]
        rows.append(np.full(len(idx), r, np.int32))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return sp.csr_matrix(m.shape, dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape
    )


class ItemKNN(Recommender[KNNConfig]):
    """score(u, i) = sum over u's items j of sim(j, i)."""

    kind = "item_knn"
    Config = KNNConfig
    config: KNNConfig

    def _fit(self, data: InteractionData) -> None:
        self.similarity_ = cosine_topk(
            self.seen_.T.tocsr(), self.config.neighbors, self.config.shrinkage
        )

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        return (self.seen_[users] @ self.similarity_.T).toarray()

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        return self.similarity_[items].toarray()

    def _state(self) -> dict[str, np.ndarray]:
        s = self.similarity_.tocoo()
        return {"rows": s.row.astype(np.int32), "cols": s.col.astype(np.int32), "vals": s.data}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.item_ids_)
        self.similarity_ = sp.csr_matrix(
            (arrays["vals"], (arrays["rows"], arrays["cols"])), shape=(n, n)
        )


class UserKNN(Recommender[KNNConfig]):
    """score(u, i) = sum over u's nearest users v of sim(u, v) * x(v, i)."""

    kind = "user_knn"
    Config = KNNConfig
    config: KNNConfig

    def _fit(self, data: InteractionData) -> None:
        self.norms_ = np.sqrt(np.asarray(self.seen_.sum(axis=1)).ravel()).astype(np.float32)

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        x = self.seen_
        sim = (x[users] @ x.T).toarray()
        sim /= self.norms_[users, None] * self.norms_[None, :] + self.config.shrinkage + 1e-9
        sim[np.arange(len(users)), users] = 0.0
        n = min(self.config.neighbors, sim.shape[1])
        if n < sim.shape[1]:
            cutoff = np.partition(sim, -n, axis=1)[:, -n][:, None]
            sim[sim < cutoff] = 0.0
        return np.asarray(sim @ x)

    def _state(self) -> dict[str, np.ndarray]:
        return {"norms": self.norms_}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.norms_ = arrays["norms"]
