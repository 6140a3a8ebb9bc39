"""The one recommendation pipeline: score → exclude seen → business filters → rank →
diversity re-rank → exploration → explanations.

Offline evaluation, batch inference (CLI and Ray Data), the Gateway and the BatchRecommender
all go through :func:`run`: ``Recommender.recommend`` is ``run`` with no live state, and the
serving service passes what it knows live (recent history, blocked items, exploration,
trending) in a :class:`LiveContext`. So the path measured offline is the path served.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from entertainai.errors import InputError
from entertainai.recommend import rerank
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.explain import Explanations, explain
from entertainai.recommend.filters import Filters
from entertainai.recommend.history import RecentHistory

if TYPE_CHECKING:  # the base class imports this module
    from entertainai.recommend.base import Recommender
    from entertainai.recommend.hybrid import Preferences


@dataclass(frozen=True)
class Query:
    """What to rank for every user of one call (hashable: batches group by it)."""

    k: int = 10
    filters: Filters = field(default_factory=Filters)
    exclude_seen: bool = True
    diversity: float = 0.0  # MMR over genres: 0 keeps the model's order
    max_per_genre: int | None = None
    preferences: Preferences | None = None  # stated tastes of users the model has not seen
    explain: bool = False

    def __post_init__(self) -> None:
        if self.k <= 0:
            raise InputError(f"k must be positive, got {self.k}", location="k")
        if not 0.0 <= self.diversity <= 1.0:
            raise InputError(
                f"diversity must be in [0, 1], got {self.diversity}", location="diversity"
            )
        if self.max_per_genre is not None and self.max_per_genre < 1:
            raise InputError(
                f"max_per_genre must be >= 1, got {self.max_per_genre}", location="max_per_genre"
            )

    @property
    def reranks(self) -> bool:
        return self.diversity > 0 or bool(self.max_per_genre)


@dataclass
class LiveContext:
    """What serving knows beyond the model's training data (all optional)."""

    history: RecentHistory | None = None  # what users just consumed: excluded and explained
    blocked: np.ndarray | None = None  # bool per model item: curation's block list
    explore_every: int | None = None  # an under-exposed item at every N-th slot
    exposure: np.ndarray | None = None  # how often each item was shown (exploration pool)
    explore_pool: int = 50
    rng: np.random.Generator | None = None
    # Masks per model item, computed only when a step needs them (exploration, explanations):
    new_items: Callable[[], np.ndarray] | None = None  # added since the model was fit
    trending_mask: Callable[[], np.ndarray] | None = None  # in the trending top


@dataclass(frozen=True)
class Ranked:
    """Top-k item indices per user (``-1`` pads), their scores, exploration flags, reasons."""

    indices: np.ndarray  # int64 (n, k)
    scores: np.ndarray  # float32 (n, k), -inf for padding
    explored: np.ndarray  # bool (n, k)
    explanations: Explanations | None = None

    def item_ids(self, model: Recommender) -> np.ndarray:
        ids = model.item_ids_[np.maximum(self.indices, 0)].astype(object)
        ids[self.indices < 0] = ""
        return ids


def run(
    model: Recommender,
    user_ids: Sequence[str],
    query: Query,
    live: LiveContext | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> Ranked:
    """Rank for every user; ``catalogue`` overrides the one business filters read."""
    live = live or LiveContext()
    users = model.user_indices(user_ids)
    scores = score(model, user_ids, users, query.preferences)
    if live.history is not None:
        live.history.exclude(scores, user_ids, model.item_indices)
    if live.blocked is not None:
        scores[:, live.blocked[: scores.shape[1]]] = -np.inf
    mask_and_exclude(model, scores, users, query.filters, query.exclude_seen, catalogue)
    # Rank a deeper list when re-ranking needs candidates to choose from.
    depth = min(query.k * 3, scores.shape[1]) if query.reranks else query.k
    recs = _top(scores, depth)
    items, top_scores = recs
    genres = model.catalogue_.genres
    if query.diversity > 0:
        items, top_scores = rerank.mmr(items, top_scores, genres, query.k, 1.0 - query.diversity)
    if query.max_per_genre:
        items, top_scores = rerank.cap_genres(
            items, top_scores, genres, query.max_per_genre, query.k
        )
    items, top_scores = _pad(items[:, : query.k], top_scores[:, : query.k], query.k)
    explored = np.zeros(items.shape, bool)
    if live.explore_every and live.exposure is not None:
        pool = rerank.exploration_pool(
            live.exposure,
            live.explore_pool,
            allowed=query.filters.mask(catalogue or model.catalogue_)[: len(live.exposure)],
            new=live.new_items() if live.new_items else None,
        )
        items, top_scores, explored = rerank.explore(
            items, top_scores, pool, live.rng or np.random.default_rng(0), every=live.explore_every
        )
    reasons = _explain(model, users, user_ids, items, live) if query.explain else None
    return Ranked(items, top_scores, explored, reasons)


def score(
    model: Recommender,
    user_ids: Sequence[str],
    users: np.ndarray,
    preferences: Preferences | None = None,
) -> np.ndarray:
    """A writable float32 score matrix; unknown users with stated preferences get the
    model's cold-start row for them (and never the items they said they liked)."""
    scores = np.array(model.user_scores(user_ids), np.float32, copy=True)
    cold = np.flatnonzero(users < 0)
    if preferences and len(cold) and hasattr(model, "cold_start_scores"):
        scores[cold] = model.cold_start_scores(preferences)
        liked = model.item_indices(list(preferences.liked_item_ids))
        scores[np.ix_(cold, liked[liked >= 0])] = -np.inf
    return scores


def mask_and_exclude(
    model: Recommender,
    scores: np.ndarray,
    users: np.ndarray,
    filters: Filters | None,
    exclude_seen: bool,
    catalogue: Catalogue | None = None,
) -> None:
    """Business filters and the users' training history, as -inf in place."""
    from entertainai.recommend.base import csr_rows

    if filters is not None:
        mask = filters.mask(catalogue or model.catalogue_)
        scores[:, ~mask[: scores.shape[1]]] = -np.inf
    if exclude_seen:
        known = np.flatnonzero(users >= 0)
        if len(known):
            rows, cols = csr_rows(model.seen_, users[known])
            scores[known[rows], cols] = -np.inf


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from entertainai.recommend.base import top_indices

    return top_indices(scores, k)


def _pad(items: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    short = k - items.shape[1]
    if short <= 0:
        return items, scores
    pad = ((0, 0), (0, short))
    return (
        np.pad(items, pad, constant_values=-1),
        np.pad(scores, pad, constant_values=-np.inf).astype(np.float32),
    )


def _explain(
    model: Recommender,
    users: np.ndarray,
    user_ids: Sequence[str],
    items: np.ndarray,
    live: LiveContext,
) -> Explanations:
    """Reasons from the user's recent and training history, trending and new items."""
    seen = model.seen_
    histories = []
    for u, user in zip(users.tolist(), user_ids, strict=True):
        parts = []
        if live.history is not None:
            recent = model.item_indices(live.history.items(user))
            parts.append(recent[recent >= 0])
        if u >= 0:
            parts.append(seen.indices[seen.indptr[u] : seen.indptr[u + 1]])
        histories.append(np.concatenate(parts) if parts else np.zeros(0, np.int64))
    return explain(
        items,
        histories,
        model.catalogue_,
        trending_mask=live.trending_mask() if live.trending_mask else None,
        new=live.new_items() if live.new_items else None,
    )
