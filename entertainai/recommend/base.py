"""The recommender contract (after implicit's ``RecommenderBase``) and the model table.

Every recommender learns a score for (user, item) pairs. The base class owns everything that is
the same for all of them — id maps, excluding seen items, business filters, top-k, similar
items from item vectors, save/load of the shared state — so a model file holds only its math:
``_fit``, ``_user_scores`` and, optionally, ``_item_vectors`` or ``_similar_scores``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from entertainai.errors import InputError
from entertainai.model import (
    MODEL_KINDS,
    ConfigT,
    Model,
    load_arrays,
    model_class,
    save_arrays,
)
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.filters import Filters
from entertainai.recommend.interactions import InteractionData

STATE_FILE = "state.npz"
SHARED_FILE = "shared.npz"


@dataclass(frozen=True)
class Recommendations:
    """Top-k per query row; rows with fewer than k candidates are padded with "" / -inf."""

    item_ids: np.ndarray  # str (n_queries, k)
    scores: np.ndarray  # float32 (n_queries, k)
    # int64 (n_queries, k), -1 for padding: what serving works with (no id -> index lookups)
    indices: np.ndarray | None = None

    def row(self, i: int) -> list[tuple[str, float]]:
        return [
            (str(item), float(score))
            for item, score in zip(self.item_ids[i], self.scores[i], strict=True)
            if item != ""
        ]

    def __len__(self) -> int:
        return len(self.item_ids)


class Recommender(Model[ConfigT]):
    """Base of every recommender. Batched: arrays of users in, arrays of items out."""

    #: whether ``score`` predicts a rating (so RMSE/MAE are meaningful)
    predicts_ratings: bool = False
    #: whether fitting needs words in the catalogue's texts (titles, descriptions, tags)
    needs_catalogue_text: bool = False
    #: per-user arrays learned from the users' data, zeroed when a user is erased
    user_arrays: tuple[str, ...] = ()

    def fit(self, data: InteractionData) -> Self:
        self._prepare(data)
        self._fit(data)
        self.fitted_ = True
        return self

    def _prepare(self, data: InteractionData) -> None:
        """The shared fitted state (id maps, seen items, popularity), apart from the model math.

        Separate from ``fit`` so that weights trained elsewhere (a Ray TorchTrainer) can be
        adopted without running ``_fit`` again.
        """
        if data.n_users == 0 or data.n_items == 0:
            raise InputError("cannot fit a recommender on an empty interaction matrix")
        self.user_ids_ = data.user_ids
        self.item_ids_ = data.item_ids
        self.seen_ = (data.matrix > 0).astype(np.float32).tocsr()
        self.catalogue_ = data.catalogue
        self.popularity_ = np.asarray(data.matrix.sum(axis=0)).ravel().astype(np.float32)
        self._build_index()

    def _build_index(self) -> None:
        self._user_index = {u: i for i, u in enumerate(self.user_ids_.tolist())}
        self._item_index = {it: i for i, it in enumerate(self.item_ids_.tolist())}

    # ---- what a model implements ------------------------------------------------------------

    def _fit(self, data: InteractionData) -> None:
        raise NotImplementedError

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        """Scores (len(users), n_items) for known user indices."""
        raise NotImplementedError

    def _item_vectors(self) -> np.ndarray | None:
        """Item embeddings for similar items by cosine; None if the model has none."""
        return None

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        vectors = self._item_vectors()
        if vectors is None:
            # Fall back to co-occurrence: items consumed by the same users.
            x = self.seen_
            co = (x[:, items].T @ x).toarray()
            norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()) + 1e-9
            return co / norms[items, None] / norms[None, :]
        v = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
        return v[items] @ v.T

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    # ---- the contract -----------------------------------------------------------------------

    def user_indices(self, user_ids: Sequence[str]) -> np.ndarray:
        """Indices of users, -1 for users the model has not seen (cold start)."""
        self.check_fitted()
        return np.asarray([self._user_index.get(str(u), -1) for u in user_ids], np.int64)

    def item_indices(self, item_ids: Sequence[str]) -> np.ndarray:
        self.check_fitted()
        return np.asarray([self._item_index.get(str(i), -1) for i in item_ids], np.int64)

    def user_scores(self, user_ids: Sequence[str]) -> np.ndarray:
        """Raw scores over all items; unknown users get the popularity prior."""
        users = self.user_indices(user_ids)
        scores = np.zeros((len(users), len(self.item_ids_)), np.float32)
        known = users >= 0
        if known.any():
            scores[known] = self._user_scores(users[known])
        if (~known).any():
            scores[~known] = self.popularity_ / max(float(self.popularity_.max()), 1.0)
        return scores

    def recommend(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        *,
        filters: Filters | None = None,
        exclude_seen: bool = True,
        catalogue: Catalogue | None = None,
    ) -> Recommendations:
        """Top-k items for each user, after seen-item exclusion and business filters.

        ``filters=None`` applies the defaults (only available items). This is the serving
        pipeline (``entertainai.recommend.pipeline``) with no live state.
        """
        from entertainai.recommend import pipeline

        query = pipeline.Query(k=k, filters=filters or Filters(), exclude_seen=exclude_seen)
        ranked = pipeline.run(self, user_ids, query, catalogue=catalogue)
        return Recommendations(ranked.item_ids(self), ranked.scores, ranked.indices)

    def rank(
        self,
        scores: np.ndarray,
        users: np.ndarray,
        k: int,
        filters: Filters | None = None,
        exclude_seen: bool = True,
        catalogue: Catalogue | None = None,
    ) -> Recommendations:
        """Mask and take the top-k of a score matrix (shared by every model and the hybrid)."""
        from entertainai.recommend.pipeline import mask_and_exclude

        scores = scores.astype(np.float32, copy=True)
        mask_and_exclude(self, scores, users, filters, exclude_seen, catalogue)
        return top_k(scores, self.item_ids_, k)

    def similar_items(self, item_ids: Sequence[str], k: int = 10) -> Recommendations:
        """The k items most similar to each given item (never the item itself)."""
        items = self.item_indices(item_ids)
        unknown = [str(i) for i, idx in zip(item_ids, items, strict=True) if idx < 0]
        if unknown:
            raise InputError(f"unknown item ids {unknown[:5]}")
        scores = self._similar_scores(items).astype(np.float32)
        scores[np.arange(len(items)), items] = -np.inf
        return top_k(scores, self.item_ids_, k)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        """Score of each (user, item) pair (pairwise, same length)."""
        if len(user_ids) != len(item_ids):
            raise InputError("score() takes equally long user_ids and item_ids")
        items = self.item_indices(item_ids)
        scores = self.user_scores(user_ids)
        out = np.full(len(items), np.nan, np.float32)
        ok = items >= 0
        out[ok] = scores[np.flatnonzero(ok), items[ok]]
        return out

    # ---- erasure ---------------------------------------------------------------------------

    def forget_users(self, user_ids: Sequence[str]) -> int:
        """Forget users (an erasure request): they become unknown, served as cold start.

        Their ids leave ``user_ids_`` and the index, their rows of ``seen_`` are emptied, so
        no answer is explained by ("Because you watched ...") or excluded by their training
        history. Row positions are kept (the id becomes ``""``, which no request can carry),
        so every model's per-user arrays stay aligned; :meth:`_forget_rows` is where a model
        also clears what it derived per user. Returns how many users were forgotten.
        """
        self.check_fitted()
        rows = sorted({i for u in user_ids if (i := self._user_index.get(str(u), -1)) >= 0})
        if not rows:
            return 0
        ids = self.user_ids_.copy()  # shared with the training data and sibling models
        ids[rows] = ""
        self.user_ids_ = ids
        keep = np.ones(self.seen_.shape[0], np.float32)
        keep[rows] = 0.0
        seen = (sp.diags(keep) @ self.seen_).tocsr()
        seen.eliminate_zeros()
        self.seen_ = seen
        self._user_index = {u: i for u, i in self._user_index.items() if ids[i]}
        self._forget_rows(np.asarray(rows, np.int64))
        return len(rows)

    def _forget_rows(self, rows: np.ndarray) -> None:
        """Clear per-user state beyond ``seen_`` at these rows: every array the model names in
        ``user_arrays`` (learned factors, tower outputs) gets those rows zeroed, as a copy
        (loaded arrays may be read-only or shared with a sibling model)."""
        for name in self.user_arrays:
            out = getattr(self, name).copy()
            out[rows] = 0
            setattr(self, name, out)

    # ---- persistence -----------------------------------------------------------------------

    def _save_state(self, directory: Path) -> None:
        seen = self.seen_.tocoo()
        save_arrays(
            directory / SHARED_FILE,
            user_ids=self.user_ids_,
            item_ids=self.item_ids_,
            seen_rows=seen.row.astype(np.int32),
            seen_cols=seen.col.astype(np.int32),
            popularity=self.popularity_,
            **self.catalogue_.to_arrays(),
        )
        save_arrays(directory / STATE_FILE, **self._state())

    def _load_state(self, directory: Path) -> None:
        shared = load_arrays(directory / SHARED_FILE)
        self.user_ids_ = shared["user_ids"]
        self.item_ids_ = shared["item_ids"]
        rows, cols = shared["seen_rows"], shared["seen_cols"]
        self.seen_ = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)),
            shape=(len(self.user_ids_), len(self.item_ids_)),
        )
        self.popularity_ = shared["popularity"]
        self.catalogue_ = Catalogue.from_arrays(shared)
        self._build_index()
        self._set_state(load_arrays(directory / STATE_FILE))


def csr_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``rows``, column) of every stored entry of those CSR rows.

    Straight from ``indptr``/``indices``: scipy's fancy row indexing costs ~0.3 ms per call,
    more than scoring one user.
    """
    indptr, indices = matrix.indptr, matrix.indices
    if len(rows) == 1:
        cols = indices[indptr[rows[0]] : indptr[rows[0] + 1]]
        return np.zeros(len(cols), np.int64), cols
    starts, ends = indptr[rows], indptr[rows + 1]
    cols = np.concatenate([indices[s:e] for s, e in zip(starts, ends, strict=True)])
    return np.repeat(np.arange(len(rows)), ends - starts), cols


def top_indices(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k (indices, scores) by argpartition (O(n) per row); -inf entries and
    rows shorter than k are padded with -1 / -inf."""
    n_rows, n_items = scores.shape
    k_eff = min(k, n_items)
    if k_eff == 0:
        return np.full((n_rows, k), -1, np.int64), np.full((n_rows, k), -np.inf, np.float32)
    # Fancy indexing with a row column: take_along_axis cost ~12 us a call on one user's row.
    rows = np.arange(n_rows)[:, None]
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    part_scores = scores[rows, part]
    order = np.argsort(-part_scores, axis=1, kind="stable")
    idx = part[rows, order].astype(np.int64, copy=False)
    top_scores = part_scores[rows, order].astype(np.float32, copy=False)
    idx[~np.isfinite(top_scores)] = -1
    if k_eff < k:
        pad = ((0, 0), (0, k - k_eff))
        idx = np.pad(idx, pad, constant_values=-1)
        top_scores = np.pad(top_scores, pad, constant_values=-np.inf)
    return idx, top_scores


def top_k(scores: np.ndarray, item_ids: np.ndarray, k: int) -> Recommendations:
    """``top_indices`` with item ids ("" pads)."""
    idx, top_scores = top_indices(scores, k)
    if len(item_ids) == 0:
        return Recommendations(np.full(idx.shape, "", dtype=object), top_scores, idx)
    ids = item_ids[np.maximum(idx, 0)].astype(object)
    ids[idx < 0] = ""
    return Recommendations(ids, top_scores, idx)


#: recommender kinds; the values are lazily imported classes (see ``entertainai.model``)
RECOMMENDERS: tuple[str, ...] = tuple(
    k for k, v in MODEL_KINDS.items() if v.startswith("entertainai.recommend.")
)


def recommender_class(kind: str) -> type[Recommender[Any]]:
    """The class of recommender ``kind`` (imported on first use)."""
    if kind not in RECOMMENDERS:
        raise InputError(f"unknown recommender {kind!r}; known: {', '.join(RECOMMENDERS)}")
    cls = model_class(kind)
    assert issubclass(cls, Recommender)
    return cls


def create(kind: str, **params: Any) -> Recommender[Any]:
    """A new, unfitted recommender of ``kind`` with hyperparameters ``params``."""
    return recommender_class(kind).from_params(**params)

