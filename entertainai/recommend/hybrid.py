"""Hybrid: several recommenders blended by fitted weights, with cold-start routing.

Each component's scores are made comparable first — min-max per user (``weighted``) or
``1 / (rrf_k + rank)`` (``rrf``, reciprocal rank fusion) — and then summed with weights. The
weights are fitted on a validation split carved out of the training data (the best NDCG@k
over equal weights, each component alone, and a coordinate search over a small grid), and the
components are then refitted on everything.

Cold start: users unknown to the hybrid get trending (or popularity), blended with content
matches to any stated preferences (``recommend_new_user``). Items added with ``add_items``
are unknown to collaborative components; their score there is imputed from the item's nearest
content neighbours, so a new title reaches the viewers of titles like it at once.

A saved hybrid is a model directory whose ``components/`` holds one ordinary model
directory per component (each loadable on its own by ``load_model``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from entertainai.errors import InputError
from entertainai.model import load_model
from entertainai.recommend import metrics
from entertainai.recommend.base import (
    Recommendations,
    Recommender,
    create,
    recommender_class,
)
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.extend import blank_catalogue, extend_items
from entertainai.recommend.filters import Filters
from entertainai.recommend.history import Event, event_arrays
from entertainai.recommend.interactions import InteractionData

if TYPE_CHECKING:  # content imports scikit-learn: only when a hybrid actually has one
    from entertainai.recommend.content import Content

log = logging.getLogger(__name__)

COMPONENTS_DIR = "components"
METHODS = ("weighted", "rrf")
COLD_START_USER = "\x00cold-start"  # an id no real user has: scores for somebody unseen


@dataclass(frozen=True)
class HybridConfig:
    # "kind" or 'kind:{"param": value}' (JSON params), fitted inside fit().
    # EASE for taste, content and trending for cold start; pass item_knn beyond 20k items.
    components: tuple[str, ...] = ("ease", "content", "trending")
    method: str = "weighted"  # "weighted" (min-max normalised scores) or "rrf"
    weights: tuple[float, ...] = ()  # one per component; () = fit them on a validation split
    validation_fraction: float = 0.2  # of each user's items, held out to fit the weights
    validation_k: int = 10  # weights maximise NDCG at this cut-off
    validation_folds: int = 3  # repeated holdouts: one small holdout makes noisy weights
    max_validation_users: int = 2000
    grid: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
    search_rounds: int = 2
    min_gain: float = 0.01  # relative NDCG gain a move must bring: smaller is validation noise
    rrf_k: float = 60.0
    cold_start_trending_weight: float = 0.3  # vs content matches to stated preferences
    new_item_neighbors: int = 10  # content neighbours that stand in for an unknown item
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.components:
            raise InputError("a hybrid needs at least one component")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.weights and len(self.weights) != len(self.components):
            raise InputError(f"{len(self.weights)} weights for {len(self.components)} components")
        if not 0 < self.validation_fraction < 1:
            raise InputError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )


@dataclass(frozen=True)
class Preferences:
    """What a new user tells us: favourite genres and titles they liked."""

    genres: tuple[str, ...] = ()
    liked_item_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.genres or self.liked_item_ids)


def parse_component(spec: str) -> tuple[str, dict[str, Any]]:
    """``"item_knn"`` or ``'item_knn:{"neighbors": 50}'`` -> (kind, params)."""
    kind, _, params = spec.partition(":")
    if not params:
        return kind.strip(), {}
    try:
        parsed = json.loads(params)
    except ValueError:
        raise InputError(f"component {spec!r}: parameters are not a JSON object") from None
    if not isinstance(parsed, dict):
        raise InputError(f"component {spec!r}: parameters are not a JSON object")
    return kind.strip(), parsed


def component_spec(model: Recommender) -> str:
    return f"{model.kind}:{json.dumps(dataclasses.asdict(model.config), sort_keys=True)}"


class Hybrid(Recommender[HybridConfig]):
    kind = "hybrid"
    Config = HybridConfig
    config: HybridConfig

    def __init__(self, config: HybridConfig | None = None) -> None:
        super().__init__(config)
        self._given: list[Recommender] | None = None
        self._aligned: dict[int, tuple[tuple[int, int, int], np.ndarray, Any]] = {}

    @classmethod
    def from_models(cls, models: Sequence[Recommender], **params: Any) -> Hybrid:
        """Blend already fitted models; ``fit(data)`` then only fits the weights.

        Unless ``weights`` are given, fresh copies (same kind and config) are fitted on the
        training part of ``data`` to tune them, so the weights never see validation items.
        """
        for m in models:
            m.check_fitted()
        hybrid = cls.from_params(components=tuple(component_spec(m) for m in models), **params)
        hybrid._given = list(models)
        return hybrid

    # ---- fitting ---------------------------------------------------------------------------

    def _fit(self, data: InteractionData) -> None:
        if self._given is None:
            self._drop_textless_components(data)
        specs = [parse_component(s) for s in self.config.components]
        if self.config.weights:
            weights = np.asarray(self.config.weights, np.float64)
            if (weights < 0).any() or weights.sum() <= 0:
                raise InputError(
                    f"weights must be >= 0 with a positive sum, got {self.config.weights}"
                )
        else:
            weights = self._search_weights(data, specs)
        self.weights_ = weights / max(float(weights.sum()), 1e-12)
        self.n_fit_items_ = data.n_items  # later items are new: they borrow from neighbours
        self.components_ = self._given or [create(k, **p).fit(data) for k, p in specs]
        self._given = None
        self._aligned = {}
        log.info(
            "hybrid weights %s",
            dict(zip(self.config.components, self.weights_.round(3).tolist(), strict=True)),
        )

    def _drop_textless_components(self, data: InteractionData) -> None:
        """An interaction log without catalogue text (ids only) still trains a hybrid: the
        components that need words are left out, with a warning."""
        if has_words(data.catalogue.texts):
            return
        keep = [
            n
            for n, spec in enumerate(self.config.components)
            if not recommender_class(parse_component(spec)[0]).needs_catalogue_text
        ]
        if len(keep) == len(self.config.components):
            return
        if not keep:
            raise InputError(
                "the catalogue texts hold no usable words, and every hybrid component needs them"
            )
        dropped = [self.config.components[n] for n in range(len(self.config.components))
                   if n not in keep]  # fmt: skip
        log.warning(
            "the catalogue has no text: hybrid components %s left out (kept %s)",
            dropped,
            [self.config.components[n] for n in keep],
        )
        weights = tuple(self.config.weights[n] for n in keep) if self.config.weights else ()
        self.config = dataclasses.replace(
            self.config,
            components=tuple(self.config.components[n] for n in keep),
            weights=weights,
        )

    def _search_weights(
        self, data: InteractionData, specs: list[tuple[str, dict[str, Any]]]
    ) -> np.ndarray:
        """Weights maximising mean validation NDCG over repeated random holdouts."""
        rng = np.random.default_rng(self.config.seed)
        n_folds = self.config.validation_folds
        folds = [self._validation_fold(data, specs, rng) for _ in range(n_folds)]
        folds = [f for f in folds if f[2].any()]  # a holdout can be empty on tiny data
        if not folds:
            return np.ones(len(specs))
        k = self.config.validation_k

        def quality(w: np.ndarray) -> float:
            per_fold = [validation_ndcg(blend(s, w), seen, rel, k) for s, seen, rel in folds]
            return float(np.mean(per_fold))

        return coordinate_search(
            quality, len(specs), self.config.grid, self.config.search_rounds, self.config.min_gain
        )

    def _validation_fold(
        self,
        data: InteractionData,
        specs: list[tuple[str, dict[str, Any]]],
        rng: np.random.Generator,
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Components fitted on ``data`` minus a random holdout, scored for the holdout's
        users: (transformed scores per component, training items, held-out items)."""
        train, held = holdout(data, self.config.validation_fraction, rng)
        users = np.flatnonzero(held.getnnz(axis=1))
        if len(users) > self.config.max_validation_users:
            users = np.sort(rng.choice(users, self.config.max_validation_users, replace=False))
        ids = train.user_ids[users].tolist()
        probes = [create(kind, **params).fit(train) for kind, params in specs]
        scores = [self._transform(p.user_scores(ids)) for p in probes]
        return scores, (train.matrix[users] > 0).toarray(), (held[users] > 0).toarray()

    # ---- scoring ---------------------------------------------------------------------------

    def _transform(self, raw: np.ndarray) -> np.ndarray:
        """Make one component's scores comparable with the others' (row-wise)."""
        if self.config.method == "rrf":
            ranks = np.argsort(np.argsort(-raw, axis=1, kind="stable"), axis=1)
            return (1.0 / (self.config.rrf_k + ranks + 1)).astype(np.float32)
        return minmax_rows(raw)

    def _component_scores(self, c: int, user_ids: Sequence[str]) -> np.ndarray:
        """Component ``c``'s transformed scores over the hybrid's items, new items imputed."""
        cols, impute = self._alignment(c)
        part = self._transform(self.components_[c].user_scores(user_ids))
        out = np.zeros((len(user_ids), len(self.item_ids_)), np.float32)
        known = cols >= 0
        out[:, known] = part[:, cols[known]]
        if impute is not None:
            # A new item scores what its content neighbours score, unless it already earned
            # more on its own (e.g. a burst of plays in trending).
            targets, neighbours = impute
            out[:, targets] = np.maximum(out[:, targets], np.asarray(out @ neighbours))
        return out

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        ids = self.user_ids_[users].tolist()
        active = self._active()
        return blend([self._component_scores(c, ids) for c in active], self.weights_[active])

    def _active(self) -> list[int]:
        return [c for c, w in enumerate(self.weights_) if w > 0]

    def user_scores(self, user_ids: Sequence[str]) -> np.ndarray:
        """Blended scores; users the hybrid has not seen get the cold-start row."""
        users = self.user_indices(user_ids)
        scores = np.empty((len(users), len(self.item_ids_)), np.float32)
        known = users >= 0
        if known.any():
            scores[known] = self._user_scores(users[known])
        if (~known).any():
            scores[~known] = self._cold_row(Preferences())
        return scores

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        out = np.zeros((len(items), len(self.item_ids_)), np.float32)
        for c in self._active():
            cols, _ = self._alignment(c)
            query = cols[items]
            ok = query >= 0
            if not ok.any():
                continue
            part = minmax_rows(self.components_[c]._similar_scores(query[ok]))
            aligned = np.zeros((int(ok.sum()), out.shape[1]), np.float32)
            aligned[:, cols >= 0] = part[:, cols[cols >= 0]]
            out[ok] += self.weights_[c] * aligned
        return out

    # ---- cold start ------------------------------------------------------------------------

    def recommend_new_user(
        self,
        preferences: Preferences | None = None,
        k: int = 10,
        filters: Filters | None = None,
    ) -> Recommendations:
        """Top-k for a user nobody has seen: trending blended with their stated preferences."""
        from entertainai.recommend import pipeline

        self.check_fitted()
        query = pipeline.Query(
            k=k, filters=filters or Filters(), exclude_seen=False, preferences=preferences
        )
        ranked = pipeline.run(self, [COLD_START_USER], query)
        return Recommendations(ranked.item_ids(self), ranked.scores, ranked.indices)

    def cold_start_scores(self, preferences: Preferences | None = None) -> np.ndarray:
        """Scores over the items for a user nobody has seen, given what they told us."""
        self.check_fitted()
        return self._cold_row(preferences or Preferences())

    def _cold_row(self, preferences: Preferences) -> np.ndarray:
        trending = self._first("trending")
        if trending is None:
            base = minmax_rows(self.popularity_[None, :])[0]
        else:
            base = self._component_scores(trending, [COLD_START_USER])[0]
        if not preferences:
            return base
        w = self.config.cold_start_trending_weight
        return w * base + (1 - w) * self._preference_row(preferences)

    def _preference_row(self, preferences: Preferences) -> np.ndarray:
        content = self._first("content")
        if content is None:
            # Without a content model, stated genres still pick items by their genre tags.
            return self.catalogue_.genre_mask(preferences.genres).astype(np.float32)
        model = cast("Content", self.components_[content])
        profile = model.profile_from_preferences(
            list(preferences.genres), list(preferences.liked_item_ids)
        )
        raw = minmax_rows(model.profile_scores(profile))[0]
        cols, _ = self._alignment(content)
        row = np.zeros(len(self.item_ids_), np.float32)
        row[cols >= 0] = raw[cols[cols >= 0]]
        return row

    def _first(self, kind: str) -> int | None:
        return next((c for c, m in enumerate(self.components_) if m.kind == kind), None)

    # ---- growing at serving time -----------------------------------------------------------

    def add_items(self, items: pa.Table) -> Self:
        """New catalogue items: vectorised by content (and known to trending) at once."""
        self.check_fitted()
        for model in self.components_:
            if hasattr(model, "add_items"):
                model.add_items(items)
        extend_items(self, Catalogue.from_table(items))
        self._aligned = {}
        return self

    def update(self, events: Iterable[Event]) -> Self:
        """Feed live events ``(user_id, item_id, timestamp_seconds, weight)`` to components."""
        self.check_fitted()
        events = list(events)
        _, item_ids, _, _ = event_arrays(events)
        for model in self.components_:
            if hasattr(model, "update"):
                model.update(events)
        unknown = self.item_indices(item_ids.tolist()) < 0
        if unknown.any():
            extend_items(self, blank_catalogue(list(dict.fromkeys(item_ids[unknown].tolist()))))
        self._aligned = {}
        return self

    def _alignment(self, c: int) -> tuple[np.ndarray, Any]:
        """Component ``c``'s column of each hybrid item (-1: unknown) and its imputation.

        Cached by index sizes: items are only ever appended, so sizes identify a version.
        """
        model = self.components_[c]
        content = self._first("content")
        version = (
            len(model.item_ids_),
            len(self.item_ids_),
            -1 if content is None else len(self.components_[content].item_ids_),
        )
        cached = self._aligned.get(c)
        if cached is None or cached[0] != version:
            cols = model.item_indices(self.item_ids_.tolist())
            cached = (version, cols, self._imputation(c, cols, content))
            self._aligned[c] = cached
        return cached[1], cached[2]

    def _imputation(
        self, c: int, cols: np.ndarray, content: int | None
    ) -> tuple[np.ndarray, sp.csr_matrix] | None:
        """For items component ``c`` lacks or learned nothing about (added after fit):
        similarity-weighted means of its scores over their nearest content neighbours."""
        if content is None or content == c:
            return None
        model = self.components_[content]
        content_cols = model.item_indices(self.item_ids_.tolist())
        is_new = np.arange(len(self.item_ids_)) >= self.n_fit_items_
        targets = np.flatnonzero(((cols < 0) | is_new) & (content_cols >= 0))
        donors = np.flatnonzero((cols >= 0) & ~is_new & (content_cols >= 0))
        if len(targets) == 0 or len(donors) == 0:
            return None
        sims = model._similar_scores(content_cols[targets])[:, content_cols[donors]]
        sims = np.maximum(sims, 0.0)
        n = min(self.config.new_item_neighbors, len(donors))
        top = np.argpartition(-sims, n - 1, axis=1)[:, :n]
        w = np.take_along_axis(sims, top, axis=1)
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        neighbours = sp.csr_matrix(
            (w.ravel(), (donors[top].ravel(), np.repeat(np.arange(len(targets)), n))),
            shape=(len(self.item_ids_), len(targets)),
        )
        return targets, neighbours

    # ---- erasure ---------------------------------------------------------------------------

    def forget_users(self, user_ids: Sequence[str]) -> int:
        """Forget users here and in every component (see :meth:`Recommender.forget_users`)."""
        forgotten = super().forget_users(user_ids)
        for model in self.components_:
            model.forget_users(user_ids)
        return forgotten

    # ---- persistence -----------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights_,
            "n_fit_items": np.array(self.n_fit_items_, np.int64),
            "component_dirs": np.asarray(self._dirs(), str),
        }

    def _dirs(self) -> list[str]:
        return [f"{c:02d}-{m.kind}" for c, m in enumerate(self.components_)]

    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        for name, model in zip(self._dirs(), self.components_, strict=True):
            model.save(directory / COMPONENTS_DIR / name)

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights_ = arrays["weights"]
        self.n_fit_items_ = int(arrays["n_fit_items"])
        self._component_dirs = arrays["component_dirs"].tolist()

    def _load_state(self, directory: Path) -> None:
        super()._load_state(directory)
        components = [load_model(directory / COMPONENTS_DIR / d) for d in self._component_dirs]
        if not all(isinstance(m, Recommender) for m in components):
            raise ValueError("a hybrid component is not a recommender")
        self.components_ = components  # type: ignore[assignment]
        self._aligned = {}


# ---- pure helpers ------------------------------------------------------------------------


_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def has_words(texts: np.ndarray) -> bool:
    """Whether any catalogue text holds a word the content model could learn from."""
    return any(_WORD.search(str(t)) for t in texts.tolist())


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] over its finite entries (constant rows become 0)."""
    s = np.where(np.isfinite(scores), scores, np.nan).astype(np.float32)
    if s.shape[1] == 0:
        return s
    lo = np.nanmin(s, axis=1, keepdims=True)
    hi = np.nanmax(s, axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.nan_to_num((s - lo) / span, nan=0.0).astype(np.float32)


def blend(scores: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    out = np.zeros_like(scores[0])
    for s, w in zip(scores, weights, strict=True):
        if w:
            out += np.float32(w) * s
    return out


def validation_ndcg(scores: np.ndarray, seen: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """NDCG@k of a score matrix against held-out items, training items excluded."""
    s = np.where(seen, -np.inf, scores)
    k = min(k, s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    hits = np.take_along_axis(relevant, top, axis=1)
    return metrics.ndcg_at_k(hits, relevant.sum(axis=1), k)


def coordinate_search(
    quality: Callable[[np.ndarray], float],
    n: int,
    grid: Sequence[float],
    rounds: int,
    min_gain: float = 0.0,
) -> np.ndarray:
    """Maximise ``quality(weights)``: the best start (equal, or one component alone), then
    per-coordinate moves over ``grid``. A move must gain ``min_gain`` (relative), so ties
    and noise keep the earlier, simpler candidate and the result is deterministic."""
    if n == 1:
        return np.ones(1)
    starts = [np.ones(n), *np.eye(n)]
    scored = [(quality(w), w) for w in starts]
    best_q, best = max(scored, key=lambda t: t[0])
    for _ in range(rounds):
        improved = False
        for c in range(n):
            for g in grid:
                w = best.copy()
                w[c] = g
                if g == best[c] or w.sum() <= 0:
                    continue
                q = quality(w)
                if q > best_q * (1 + min_gain) + 1e-9:
                    best_q, best, improved = q, w, True
        if not improved:
            break
    return best


def holdout(
    data: InteractionData, fraction: float, rng: np.random.Generator
) -> tuple[InteractionData, sp.csr_matrix]:
    """Hold out ``fraction`` of each user's items (users with >= 2 items keep at least one).

    Returns the training data (same user and item index) and the held-out cells.
    """
    m = data.matrix.tocsr().tocoo()
    counts = np.bincount(m.row, minlength=data.n_users)
    n_test = np.floor(counts * fraction).astype(np.int64)
    n_test[counts >= 2] = np.maximum(n_test[counts >= 2], 1)
    order = np.lexsort((rng.random(len(m.row)), m.row))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, counts)
    test = rank < n_test[m.row]
    shape = data.matrix.shape
    held = _cells(m.row[test], m.col[test], shape)
    keep = _cells(m.row[~test], m.col[~test], shape)
    train = dataclasses.replace(
        data,
        matrix=data.matrix.multiply(keep).tocsr(),
        ratings=data.ratings.multiply(keep).tocsr(),
        last_seen=data.last_seen.multiply(keep).tocsr(),
    )
    return train, held


def _cells(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
