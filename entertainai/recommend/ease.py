"""EASE (Steck 2019): a closed-form linear item-item autoencoder, a strong and cheap baseline.

B = argmin ||X - X B||^2 + l2 ||B||^2 subject to diag(B) = 0, whose solution is
B = I - P diag(1 / diag(P)) with P = (X^T X + l2 I)^-1, so B[i, j] = -P[i, j] / P[j, j] off the
diagonal. Scores are X_u B. B is a dense n_items x n_items matrix, hence ``max_items``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from entertainai.errors import InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.interactions import InteractionData


@dataclass(frozen=True)
class EASEConfig:
    l2: float = 500.0  # ridge on B; larger favours popular items, smaller overfits co-occurrence
    max_items: int = 20000  # B costs max_items^2 * 4 bytes (1.6 GB at 20000): refuse beyond


def ease_weights(x: np.ndarray | sp.spmatrix, l2: float) -> np.ndarray:
    """The EASE item-item matrix B (float32, zero diagonal) for a user x item matrix ``x``."""
    gram = x.T @ x
    gram = np.asarray(gram.toarray() if sp.issparse(gram) else gram, dtype=np.float32)
    gram[np.diag_indices_from(gram)] += l2
    # float32 and in-place: the Gram matrix is well conditioned thanks to l2, and at max_items a
    # second float64 copy would double an already large footprint.
    p = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
    b = p / -np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32, copy=False)


class EASE(Recommender[EASEConfig]):
    """score(u, j) = sum over u's items i of B[i, j]."""

    kind = "ease"
    Config = EASEConfig
    config: EASEConfig

    def _fit(self, data: InteractionData) -> None:
        if self.config.l2 <= 0:
            raise InputError(
                f"EASE needs l2 > 0 (else X^T X may be singular), got {self.config.l2}"
            )
        n = data.n_items
        if n > self.config.max_items:
            gib = n * n * 4 / 2**30
            raise InputError(
                f"EASE keeps a dense item x item matrix: {n} items would take {gib:.1f} GiB, above "
                f"max_items={self.config.max_items}; raise max_items or use als or item_knn"
            )
        # Binary input as in the paper: repeat counts would let one binge dominate the Gram matrix.
        # C order: scipy's sparse @ dense copies a Fortran-ordered B on every call (0.2 ms).
        self.weights_ = np.ascontiguousarray(ease_weights(self.seen_, self.config.l2))

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        if len(users) == 1:  # the serving case: a weighted sum of a few rows of B, no sparse op
            seen = self.seen_
            start, end = seen.indptr[users[0]], seen.indptr[users[0] + 1]
            return (seen.data[start:end] @ self.weights_[seen.indices[start:end]])[None, :]
        return np.asarray(self.seen_[users] @ self.weights_)

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        # Row i of B: how much having consumed i raises each other item's score.
        return self.weights_[items]

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights_ = np.ascontiguousarray(arrays["weights"])
