"""Serving-time re-ranking of candidate lists: MMR diversity, per-genre caps, exploration.

Every step takes and returns ``(items, scores)``: item indices ``(n, m)`` (``-1`` pads a short
list) and their scores, best first, so the steps chain::

    items, scores = mmr(items, scores, catalogue.genres, k=20, lambda_=0.7)
    items, scores = cap_genres(items, scores, catalogue.genres, max_per_genre=3, k=10)
    items, scores, explored = explore(items, scores, pool, rng, every=5)

Convert a model's ``Recommendations`` with ``model.item_indices`` (``""`` becomes ``-1``).
Rows are processed together: loops run over list positions, never over users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from entertainai.errors import InputError


def _rows_features(features: np.ndarray | sp.spmatrix, items: np.ndarray) -> np.ndarray:
    """Dense features (n, m, f) of each listed item; padding rows are zero."""
    flat = features[np.maximum(items, 0).ravel()]
    dense = np.asarray(flat.toarray() if sp.issparse(flat) else flat, np.float32)
    dense[items.ravel() < 0] = 0.0
    return dense.reshape(*items.shape, -1)


def _gather(
    items: np.ndarray, scores: np.ndarray, positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    ok = positions >= 0
    p = np.maximum(positions, 0)
    out_items = np.where(ok, np.take_along_axis(items, p, axis=1), -1)
    out_scores = np.where(ok, np.take_along_axis(scores, p, axis=1), -np.inf)
    return out_items, out_scores.astype(np.float32)


def mmr(
    items: np.ndarray,
    scores: np.ndarray,
    features: np.ndarray | sp.spmatrix,
    k: int,
    lambda_: float = 0.7,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximal marginal relevance: greedily pick ``lambda * rel - (1 - lambda) * max_sim``.

    ``rel`` is each row's scores scaled to [0, 1] (so ``lambda_`` means the same for every
    model) and ``max_sim`` the highest cosine, on ``features`` (e.g. genre vectors), to the
    items picked so far. ``lambda_=1`` keeps the input order; lower values diversify.
    """
    if not 0 <= lambda_ <= 1:
        raise InputError(f"lambda must be in [0, 1], got {lambda_}")
    n, m = items.shape
    valid = (items >= 0) & np.isfinite(scores)
    f = _rows_features(features, items)
    f /= np.linalg.norm(f, axis=2, keepdims=True) + 1e-12
    any_valid = valid.any(axis=1)
    lo = np.where(any_valid, np.min(np.where(valid, scores, np.inf), axis=1, initial=np.inf), 0.0)
    hi = np.where(any_valid, np.max(np.where(valid, scores, -np.inf), axis=1, initial=-np.inf), 0.0)
    span = np.maximum(hi - lo, 1e-12)
    rel = np.where(valid, (scores - lo[:, None]) / span[:, None], 0.0)

    rows = np.arange(n)
    picked = np.zeros((n, m), bool)
    max_sim = np.zeros((n, m), np.float32)
    positions = np.full((n, k), -1, np.int64)
    for step in range(min(k, m)):
        objective = np.where(valid & ~picked, lambda_ * rel - (1 - lambda_) * max_sim, -np.inf)
        pick = np.argmax(objective, axis=1)
        ok = np.isfinite(objective[rows, pick])
        positions[ok, step] = pick[ok]
        picked[rows[ok], pick[ok]] = True
        sim = np.einsum("nmf,nf->nm", f, f[rows, pick])
        max_sim = np.maximum(max_sim, np.where(ok[:, None], sim, 0.0))
    return _gather(items, scores, positions)


def cap_genres(
    items: np.ndarray,
    scores: np.ndarray,
    genres: np.ndarray | sp.spmatrix,
    max_per_genre: int,
    k: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep items in order while each genre appears at most ``max_per_genre`` times.

    An item with several genres counts toward each; an item that would break a cap is
    dropped (the next candidate moves up), so pass more candidates than ``k``.
    """
    if max_per_genre < 1:
        raise InputError(f"max_per_genre must be >= 1, got {max_per_genre}")
    n, m = items.shape
    k = m if k is None else k
    g = _rows_features(genres, items) > 0
    counts = np.zeros((n, g.shape[2]), np.int64)
    taken = np.zeros(n, np.int64)
    positions = np.full((n, k), -1, np.int64)
    rows = np.arange(n)
    for j in range(m):
        ok = (items[:, j] >= 0) & (taken < k)
        ok &= ~(g[:, j] & (counts >= max_per_genre)).any(axis=1)
        positions[rows[ok], taken[ok]] = j
        taken += ok
        counts += g[:, j] & ok[:, None]
    return _gather(items, scores, positions)


def explore(
    items: np.ndarray,
    scores: np.ndarray,
    pool: np.ndarray,
    rng: np.random.Generator,
    *,
    every: int | None = None,
    probability: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert exploration items from ``pool`` (new or under-exposed items, already filtered).

    A slot is explored when it is every ``every``-th position or, independently, with
    ``probability``; the chosen pool item (uniform, never one already listed) is inserted
    there and the rest shift down, keeping the list length. It takes the score of the item it
    displaced, so lists stay sorted. Returns items, scores and an ``explored`` mask.
    """
    if every is not None and every < 1:
        raise InputError(f"every must be >= 1, got {every}")
    if not 0 <= probability <= 1:
        raise InputError(f"probability must be in [0, 1], got {probability}")
    n, k = items.shape
    slots = rng.random((n, k)) < probability if probability > 0 else np.zeros((n, k), bool)
    if every is not None:
        slots[:, every - 1 :: every] = True
    out_items, out_scores = items.copy(), scores.astype(np.float32, copy=True)
    explored = np.zeros((n, k), bool)
    pool = np.asarray(pool, np.int64)
    for r in np.flatnonzero(slots.any(axis=1)):
        row = _explore_row(items[r], scores[r], np.flatnonzero(slots[r]), pool, rng)
        out_items[r], out_scores[r], explored[r] = row
    return out_items, out_scores, explored


def _explore_row(
    items: np.ndarray,
    scores: np.ndarray,
    slots: np.ndarray,
    pool: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = len(items)
    keep = items >= 0
    row, row_scores = items[keep].tolist(), scores[keep].tolist()
    flags = [False] * len(row)
    for slot in slots.tolist():
        candidates = np.setdiff1d(pool, row)
        if len(candidates) == 0:
            break
        at = min(slot, len(row))
        score = row_scores[at] if at < len(row) else (row_scores[-1] if row else 0.0)
        row.insert(at, int(rng.choice(candidates)))
        row_scores.insert(at, score)
        flags.insert(at, True)
    pad = max(k - len(row), 0)
    return (
        np.asarray(row[:k] + [-1] * pad, np.int64),
        np.asarray(row_scores[:k] + [-np.inf] * pad, np.float32),
        np.asarray(flags[:k] + [False] * pad, bool),
    )


def exploration_pool(
    exposure: np.ndarray,
    size: int,
    allowed: np.ndarray | None = None,
    new: np.ndarray | None = None,
) -> np.ndarray:
    """The ``size`` least-exposed allowed items, new items first (ties by index)."""
    candidates = np.flatnonzero(np.ones(len(exposure), bool) if allowed is None else allowed)
    is_new = np.zeros(len(exposure), bool) if new is None else new
    order = np.lexsort((candidates, exposure[candidates], ~is_new[candidates]))
    return candidates[order[:size]]
