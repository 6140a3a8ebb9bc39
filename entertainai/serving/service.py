"""The recommendation service the Serve ingress wraps: models, live state and curation.

Everything a request needs — ranking, business filters, diversity, exploration, explanations,
trending, events, new items, erasure — happens here, in plain Python, so it is tested without
Ray and a Serve replica only holds one instance and translates HTTP to calls.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from entertainai.errors import InputError, NotFoundError
from entertainai.model import load_model
from entertainai.recommend import pipeline
from entertainai.recommend.base import Recommender
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.explain import top_mask
from entertainai.recommend.filters import Filters
from entertainai.recommend.history import RecentHistory
from entertainai.recommend.hybrid import Hybrid, Preferences
from entertainai.recommend.trending import Trending
from entertainai.registry import ModelVersion, Registry
from entertainai.serving import feed
from entertainai.serving.additions import CatalogueAdditions
from entertainai.serving.cache import ResponseCache
from entertainai.serving.erasure import UserMatcher
from entertainai.serving.event_log import EventLog, open_slot
from entertainai.serving.event_validation import Event
from entertainai.serving.feed import Update
from entertainai.serving.pseudonyms import Pseudonymizer

log = logging.getLogger(__name__)

# Explanations call the trending top this many items, refreshed at most this often.
TRENDING_TOP, TRENDING_MASK_TTL_S = 50, 1.0

# How much one event says about interest, for trending counters (a dislike says nothing).
EVENT_WEIGHTS = {"dislike": 0.0, "view": 0.5, "click": 0.5}
BLOCKED_KEY = b"entertainai.blocked"  # recorded additions: which rows moderation blocked


def live_rows(events: Sequence[Event]) -> list[tuple[str, str, float, float]]:
    """Events as the ``(user_id, item_id, timestamp, weight)`` rows live state takes."""
    return [
        (e.user_id, e.item_id, e.timestamp, EVENT_WEIGHTS.get(e.event_type, 1.0)) for e in events
    ]


@runtime_checkable
class TakesNewItems(Protocol):
    """A model that can add catalogue items after fitting (hybrid, content, trending)."""

    def add_items(self, items: pa.Table) -> Any: ...


@dataclass(frozen=True)
class ServiceConfig:
    registry: str = "./artifacts"
    model: str = "hybrid@production"  # the personalised recommender
    trending: str | None = None  # a trending model ref; None: the hybrid's own trending component
    event_dir: str | None = "./runs/events"  # None: events are not persisted (tests only)
    history_len: int = 50
    max_k: int = 200
    explore_every: int | None = None  # put a new/under-exposed item at every N-th slot
    explore_pool: int = 50
    seed: int = 0
    response_cache_ttl_s: float = 1.0  # 0 disables; never used while exploration is on
    catalogue_root: str | None = None  # where new items are recorded; None: the registry root


@dataclass
class RecommendationItem:
    item_id: str
    score: float
    rank: int
    title: str
    genres: list[str]
    reason: str = ""
    explanation: str = ""
    explored: bool = False


@dataclass
class ServingModels:
    """What one replica serves; swapped as a whole on promote/rollback."""

    model: Recommender
    trending: Trending
    versions: dict[str, ModelVersion | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ReloadStatus:
    """What the registry asks this replica to serve, what it serves, and why they differ."""

    wanted: dict[str, int | None]
    serving: dict[str, int | None]
    reason: str | None = None  # why the wanted versions were refused (None: nothing refused)

    @property
    def refused(self) -> bool:
        return self.reason is not None and self.wanted != self.serving

    def describe(self) -> str | None:
        """ "model: wanted v3, serving v1, because ..." while a reload is refused."""
        if not self.refused:
            return None
        parts = [
            f"{role}: wanted v{want}, serving v{self.serving.get(role)}"
            for role, want in self.wanted.items()
            if want != self.serving.get(role)
        ]
        return f"{'; '.join(parts)}, because {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "wanted": self.wanted,
            "serving": self.serving,
            "refused": self.describe(),
        }


def load_serving_models(config: ServiceConfig) -> ServingModels:
    registry = Registry(config.registry)
    main_version = registry.get(config.model) if not _is_path(config.model) else None
    model = load_model(registry.local_path(main_version.ref if main_version else config.model))
    trending_version, trending = None, None
    if config.trending:
        trending_version = registry.get(config.trending) if not _is_path(config.trending) else None
        ref = trending_version.ref if trending_version else config.trending
        trending = load_model(registry.local_path(ref))
        check_servable(trending, "trending", config)
    recommender, own_trending = check_servable(model, "model", config)
    return ServingModels(
        recommender,
        trending or own_trending,  # type: ignore[arg-type]
        {"model": main_version, "trending": trending_version},
    )


def check_servable(model: Any, role: str, config: ServiceConfig) -> tuple[Any, Trending | None]:
    """Refuse (InputError, one line) a model that cannot fill ``role`` ("model" or
    "trending") under ``config``; returns it with the trending model it brings. Replicas call
    this before a swap and ``entertainai models promote`` before it moves an alias."""
    ref = config.model if role == "model" else config.trending
    if role == "trending":
        if not isinstance(model, Trending):
            raise InputError(f"{ref} is a {model.kind} model, not a trending model")
        return model, model
    if not isinstance(model, Recommender):
        raise InputError(f"{ref} is a {model.kind} model, not a recommender")
    trending = next(
        (c for c in getattr(model, "components_", []) if isinstance(c, Trending)),
        model if isinstance(model, Trending) else None,
    )
    if trending is None and not config.trending:
        raise InputError(
            f"{ref} ({model.kind}) has no trending component and no trending ref is "
            "configured: serve a hybrid with a trending component, or set `trending`"
        )
    return model, trending


def _is_path(ref: str) -> bool:
    return "/" in ref or ref.startswith(".")


class RecommendationService:
    """One replica's state. Methods are thread-safe: a lock guards the live state."""

    def __init__(
        self,
        models: ServingModels,
        config: ServiceConfig = ServiceConfig(),  # noqa: B008 - frozen, immutable default
        *,
        events: EventLog | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        additions: CatalogueAdditions | None = None,
    ) -> None:
        self.config = config
        self.models = models
        self.events = events
        self.additions = additions  # new items recorded durably, re-applied after restarts
        self.pseudonymizer = pseudonymizer
        self.history = RecentHistory(config.history_len)
        self.new_items: set[str] = set()
        self.exposure = np.zeros(len(models.model.item_ids_), np.float64)
        self.rng = np.random.default_rng(config.seed)
        self.events_ingested = 0
        self.last_event_lag_s = 0.0
        self._lock = threading.RLock()
        self._trend_alignment: tuple[Any, np.ndarray] = (None, np.zeros(0, np.int64))
        self._trend_mask: tuple[Any, float, np.ndarray] = (None, 0.0, np.zeros(0, bool))
        # Curation: items moderation blocked, kept out of every list this service returns.
        self.blocked: frozenset[str] = frozenset()
        self._blocked_sources: dict[str, frozenset[str]] = {}
        self._blocked_mask: tuple[Any, np.ndarray] = (None, np.zeros(0, bool))
        # Exploration makes every answer different: nothing to reuse then.
        ttl = 0.0 if config.explore_every else config.response_cache_ttl_s
        self.response_cache = ResponseCache(ttl_s=ttl)
        versions = self.serving_versions()
        self.reload_status = ReloadStatus(versions, versions)

    @classmethod
    def from_config(
        cls,
        config: ServiceConfig,
        *,
        replica_id: str | None = None,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> RecommendationService:
        """``replica_id`` names this replica's event log directory; None (what replicas use):
        the lowest free slot of this node, ``<node>-<slot>``, so a restarted replica reopens
        the log it had (see :func:`entertainai.serving.event_log.open_slot`)."""
        events = None
        if config.event_dir:
            # One log per replica: the event log is single-writer by design.
            events = (
                EventLog(f"{config.event_dir}/{replica_id}", pseudonymizer=pseudonymizer)
                if replica_id
                else open_slot(config.event_dir, pseudonymizer=pseudonymizer)
            )
        service = cls(
            load_serving_models(config),
            config,
            events=events,
            pseudonymizer=pseudonymizer,
            additions=CatalogueAdditions(config.catalogue_root or config.registry),
        )
        service.apply_recorded_additions()
        return service

    # ---- model lifecycle -------------------------------------------------------------------

    def swap_models(self, models: ServingModels) -> None:
        """Serve new versions from the next request on; in-flight requests finish on the old."""
        with self._lock:
            self.models = models
            self.exposure = rerank_pad(self.exposure, len(models.model.item_ids_))
            self.response_cache.clear()
        self.apply_recorded_additions()  # items added since this version was trained

    def wanted_versions(self) -> dict[str, int | None]:
        """What the registry aliases point at now (cheap: two small JSON reads)."""
        registry = Registry(self.config.registry)
        refs = {"model": self.config.model, "trending": self.config.trending}
        return {
            role: registry.get(ref).version if ref and not _is_path(ref) else None
            for role, ref in refs.items()
        }

    def serving_versions(self) -> dict[str, int | None]:
        return {role: (mv.version if mv else None) for role, mv in self.models.versions.items()}

    def reload_if_changed(self, config: ServiceConfig | None = None) -> str:
        """Follow the registry: swap in new versions when an alias moved (promote, rollback)
        or ``config`` names other refs. The one place that decides what a replica serves.

        Returns "unchanged", "swapped", "refused" (just now) or "still_refused". A refused
        version is not retried until the alias moves again; the reason is logged at WARNING
        and kept in ``reload_status``.
        """
        if config is not None and config != self.config:
            self.config = config
        try:
            wanted = self.wanted_versions()
        except Exception as exc:  # the registry unreadable: keep serving, say why
            return self._refuse(self.reload_status.wanted, f"the registry is unreadable: {exc}")
        serving = self.serving_versions()
        if wanted == serving:
            self.reload_status = ReloadStatus(wanted, serving)
            return "unchanged"
        if self.reload_status.refused and self.reload_status.wanted == wanted:
            return "still_refused"  # already tried and explained
        try:
            models = load_serving_models(self.config)
        except Exception as exc:  # a bad artifact must never take down the serving model
            return self._refuse(wanted, str(exc) or type(exc).__name__)
        self.swap_models(models)
        self.reload_status = ReloadStatus(wanted, self.serving_versions())
        log.info("now serving %s", self.reload_status.serving)
        return "swapped"

    def _refuse(self, wanted: dict[str, int | None], reason: str) -> str:
        self.reload_status = ReloadStatus(wanted, self.serving_versions(), reason)
        log.warning("model reload refused: %s", self.reload_status.describe() or reason)
        return "refused"

    def model_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for role, model in (("model", self.models.model), ("trending", self.models.trending)):
            mv = self.models.versions.get(role)
            info[role] = {
                "kind": model.kind,
                "name": mv.name if mv else None,
                "version": mv.version if mv else None,
                "created": mv.metadata.get("created") if mv else None,
                "metrics": mv.metrics if mv else {},
                "items": int(len(model.item_ids_)),
                "users": int(len(model.user_ids_)),
            }
        return info

    # ---- recommendations -------------------------------------------------------------------

    def recommend(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        *,
        filters: Filters | None = None,
        diversity: float = 0.0,
        max_per_genre: int | None = None,
        explain_items: bool = True,
        preferences: Preferences | None = None,
    ) -> list[list[RecommendationItem]]:
        """Top-k per user: the core pipeline with this replica's live state."""
        self._check_k(k)
        query = pipeline.Query(
            k=k,
            filters=filters or Filters(),
            diversity=diversity,
            max_per_genre=max_per_genre,
            preferences=preferences,
            explain=explain_items,
        )
        return self.recommend_query(user_ids, query)

    def recommend_query(
        self, user_ids: Sequence[str], query: pipeline.Query
    ) -> list[list[RecommendationItem]]:
        self._check_k(query.k)
        with self._lock:
            model = self.models.model
            ranked = pipeline.run(model, user_ids, query, self.live_context(model))
            valid = ranked.indices >= 0
            np.add.at(self.exposure, ranked.indices[valid], 1.0)
            return self._to_items(
                model.catalogue_,
                model.item_ids_,
                ranked.indices,
                ranked.scores,
                ranked.explored,
                ranked.explanations,
            )

    def live_context(self, model: Recommender) -> pipeline.LiveContext:
        """What this replica knows beyond the model, for the pipeline (call under the lock)."""
        return pipeline.LiveContext(
            history=self.history,
            blocked=self._blocked_for(model) if self.blocked else None,
            explore_every=self.config.explore_every,
            exposure=self.exposure,
            explore_pool=self.config.explore_pool,
            rng=self.rng,
            new_items=lambda: self._new_mask(model),
            trending_mask=lambda: self._trending_mask(model),
        )

    def similar(
        self, item_id: str, k: int = 10, filters: Filters | None = None
    ) -> list[RecommendationItem]:
        self._check_k(k)
        with self._lock:
            model = self.models.model
            if model.item_indices([item_id])[0] < 0:
                raise NotFoundError(f"unknown item {item_id!r}")
            recs = model.similar_items([item_id], k=min(len(model.item_ids_) - 1, k * 3))
            allowed = set(model.catalogue_.item_ids[(filters or Filters()).mask(model.catalogue_)])
            rows = [(i, s) for i, s in recs.row(0) if i in allowed and i not in self.blocked][:k]
            return self._rows_to_items(model, rows)

    def trending(
        self, k: int = 10, window: str = "1d", genre: str | None = None
    ) -> list[RecommendationItem]:
        self._check_k(k)
        with self._lock:
            # Ask for enough to fill k after blocked items are dropped.
            rows = self.models.trending.trending(k + len(self.blocked), window=window, genre=genre)
            rows = [(i, s) for i, s in rows if i not in self.blocked][:k]
            return self._rows_to_items(self.models.trending, rows)

    # ---- live updates ----------------------------------------------------------------------

    def ingest(self, events: Sequence[Event]) -> int:
        """Durably log, then apply, a batch of validated events; returns how many were stored.

        The caller acknowledges only after this returns: the log fsyncs before we touch memory.
        """
        if not events:
            return 0
        with self._lock:
            known = self.models.model.item_indices([e.item_id for e in events])
            unknown = [e.item_id for e, i in zip(events, known, strict=True) if i < 0]
            if unknown:
                raise InputError(
                    f"unknown item ids {sorted(set(unknown))[:5]}: POST them to /v1/items first",
                    location="events",
                )
        if self.events is not None:
            self.events.append(events)  # durable before anything else sees the events
        self.apply_live(live_rows(events))
        with self._lock:
            self.events_ingested += len(events)
            self.last_event_lag_s = max(0.0, time.time() - max(e.timestamp for e in events))
        return len(events)

    def apply_live(self, live: Sequence[tuple[str, str, float, float]]) -> None:
        """Apply ``(user_id, item_id, timestamp, weight)`` rows to history, trending and the
        cache: this replica's own events after logging them, or another's from the feed."""
        if not live:
            return
        with self._lock:
            known = self.models.model.item_indices([row[1] for row in live]) >= 0
            # A feed can outrun this replica's catalogue (ingest checked its own events).
            live = [row for row, ok in zip(live, known.tolist(), strict=True) if ok]
            if not live:
                return
            self.history.update(live)
            self.response_cache.invalidate({row[0] for row in live})
            self.models.trending.update(live)
            if (
                isinstance(self.models.model, Hybrid)
                and self.models.trending not in self.models.model.components_
            ):
                self.models.model.update(live)

    def apply_update(self, update: Update) -> None:
        """Replay another replica's live update (see ``entertainai.serving.feed``)."""
        if update.kind == feed.EVENTS:
            self.apply_live(update.payload)
        elif update.kind == feed.ITEMS:
            self._add_unknown(update.payload["table"], update.payload.get("blocked", ()))
        elif update.kind == feed.FORGET:
            self.forget_stored(update.payload)

    def add_items(
        self, items: pa.Table, *, blocked: Sequence[str] = (), record: bool = True
    ) -> list[str]:
        """New catalogue items, recommendable at once through the content/cold-start path.

        ``record``: store them first (with which of them moderation ``blocked``) so replicas
        that start later, and models promoted later, have them too."""
        ids = [str(i) for i in items.column("item_id").to_pylist()]
        with self._lock:
            model = self.models.model
            if not isinstance(model, TakesNewItems):
                raise InputError(
                    f"the serving model ({model.kind}) cannot take new items; serve a hybrid"
                )
        if record and self.additions is not None:
            meta = {**(items.schema.metadata or {}), BLOCKED_KEY: json.dumps(list(blocked))}
            self.additions.record(items.replace_schema_metadata(meta))
        with self._lock:
            model = self.models.model
            if isinstance(model, TakesNewItems):  # a swap may have happened since the check
                model.add_items(items)
            if self.models.trending not in getattr(model, "components_", []):
                self.models.trending.add_items(items)
            self.new_items.update(ids)
            self.exposure = rerank_pad(self.exposure, len(model.item_ids_))
            self.response_cache.clear()
        return ids

    def apply_recorded_additions(self) -> int:
        """Add the recorded new items the serving model lacks; returns how many."""
        if self.additions is None or not hasattr(self.models.model, "add_items"):
            return 0
        added = 0
        for table in self.additions.tables():
            blocked = json.loads((table.schema.metadata or {}).get(BLOCKED_KEY, b"[]"))
            added += self._add_unknown(table.replace_schema_metadata(None), blocked)
        return added

    def _add_unknown(self, table: pa.Table, blocked: Sequence[str] = ()) -> int:
        """Add the rows whose items this replica's model does not know yet (no recording)."""
        ids = [str(i) for i in table.column("item_id").to_pylist()]
        with self._lock:
            known = self.models.model.item_indices(ids) >= 0
        fresh = np.flatnonzero(~known)
        if len(fresh):
            self.add_items(table.take(fresh), record=False)
        if blocked:
            self.block(blocked, source="new_items")
        return len(fresh)

    def erase_user(self, user_id: str) -> int:
        """Forget a user: at once in memory (recent history, cached answers, the model's
        training history), then their logged events; returns how many events were removed."""
        self.forget_stored(UserMatcher.exact({user_id, self.stored_id(user_id)}))
        return self.events.erase_user(user_id) if self.events is not None else 0

    def stored_id(self, user_id: str) -> str:
        """The id as event logs store it (the pseudonym when pseudonymisation is on)."""
        return self.pseudonymizer.pseudonymize(user_id) if self.pseudonymizer else user_id

    def erase_stored(self, stored: str | UserMatcher) -> int:
        """Apply an erasure relayed from another replica, which knows only the stored id (or
        the ledger's hashes, as a :class:`UserMatcher`)."""
        matcher = self._matcher(stored)
        self.forget_stored(matcher)
        return self.events.erase_matching(matcher.hits) if self.events is not None else 0

    def forget_stored(self, stored: str | UserMatcher) -> None:
        """The in-memory half of an erasure, by stored id or matcher: recent history, cached
        answers, and the served models' training history (the user turns cold-start)."""
        matcher = self._matcher(stored)
        models = self.models
        served = [models.model, *([models.trending] if models.trending is not models.model else [])]
        # Matching hashes every id a model holds: done before the lock, which requests need.
        gone = [(m, matcher.hits(m.user_ids_.tolist())) for m in served]
        with self._lock:
            held = matcher.hits({*self.history.users(), *self.response_cache.users()})
            users = held | matcher.ids  # ids not held: in-flight answers must not be cached
            for user in users:
                self.history.forget(user)
            for model, ids in gone:
                if ids and model in (self.models.model, self.models.trending):
                    model.forget_users(sorted(ids))
                    users |= ids
            self.response_cache.invalidate(sorted(users))

    def _matcher(self, stored: str | UserMatcher) -> UserMatcher:
        if isinstance(stored, UserMatcher):
            return stored
        pseudo = self.pseudonymizer.pseudonymize if self.pseudonymizer else None
        return UserMatcher.exact([stored], pseudo)

    def set_blocked(self, item_ids: Sequence[str], source: str = "curation") -> bool:
        """Replace one source's block list (dataset curation, screened new items, ...);
        the service blocks their union. Returns whether anything changed."""
        with self._lock:
            sources = {**self._blocked_sources, source: frozenset(str(i) for i in item_ids)}
            blocked = frozenset().union(*sources.values())
            self._blocked_sources = sources
            if blocked == self.blocked:
                return False
            self.blocked = blocked
            self.response_cache.clear()
        log.info("curation: %d items blocked", len(blocked))
        return True

    def block(self, item_ids: Sequence[str], source: str = "new_items") -> bool:
        """Add to one source's block list."""
        with self._lock:
            held = self._blocked_sources.get(source, frozenset())
            return self.set_blocked([*held, *item_ids], source)

    def _blocked_for(self, model: Recommender) -> np.ndarray:
        key = (id(model), len(model.item_ids_), self.blocked)
        if self._blocked_mask[0] != key:
            mask = np.isin(model.item_ids_, list(self.blocked))
            self._blocked_mask = (key, mask)
        return self._blocked_mask[1]

    # ---- helpers ---------------------------------------------------------------------------

    def _check_k(self, k: int) -> None:
        if not 1 <= k <= self.config.max_k:
            raise InputError(f"k must be between 1 and {self.config.max_k}, got {k}", location="k")

    def _new_mask(self, model: Recommender) -> np.ndarray:
        return (
            np.isin(model.item_ids_, list(self.new_items))
            if self.new_items
            else np.zeros(len(model.item_ids_), bool)
        )

    def _trending_mask(self, model: Recommender) -> np.ndarray:
        """Which items count as trending for explanations, recomputed at most every second.

        (A full pass over the catalogue per request cost more than scoring the user.)
        """
        key = (id(model), len(model.item_ids_), id(self.models.trending))
        cached_key, at, mask = self._trend_mask
        now = time.monotonic()
        if cached_key != key or now - at > TRENDING_MASK_TTL_S:
            mask = top_mask(self._aligned_trending(model), TRENDING_TOP, len(model.item_ids_))
            self._trend_mask = (key, now, mask)
        return mask

    def _aligned_trending(self, model: Recommender) -> np.ndarray:
        trending = self.models.trending
        scores = trending.scores(trending.config.default_window)
        # Items are only ever appended, so (object, size) pairs identify an alignment.
        key = (id(model), len(model.item_ids_), id(trending), len(trending.item_ids_))
        if self._trend_alignment[0] != key:
            self._trend_alignment = (key, trending.item_indices(model.item_ids_.tolist()))
        cols = self._trend_alignment[1]
        out = np.zeros(len(model.item_ids_))
        out[cols >= 0] = scores[cols[cols >= 0]]
        return out

    def _to_items(
        self,
        catalogue: Catalogue,
        item_ids: np.ndarray,
        items: np.ndarray,
        scores: np.ndarray,
        explored: np.ndarray,
        reasons: Any,
    ) -> list[list[RecommendationItem]]:
        out = []
        genre_lists = catalogue.genre_lists
        for r in range(items.shape[0]):
            # Python lists once per row: numpy scalar access per field costs more than it looks.
            idx = items[r].tolist()
            safe = np.maximum(items[r], 0)
            ids, titles = item_ids[safe].tolist(), catalogue.titles[safe].tolist()
            row_scores, row_explored = scores[r].tolist(), explored[r].tolist()
            codes = reasons.reason_rows[r] if reasons is not None else [""] * len(idx)
            texts = reasons.text_rows[r] if reasons is not None else [""] * len(idx)
            row: list[RecommendationItem] = []
            for j, i in enumerate(idx):
                if i < 0:
                    continue
                row.append(
                    RecommendationItem(
                        item_id=str(ids[j]),
                        score=row_scores[j],
                        rank=len(row) + 1,
                        title=str(titles[j]),
                        genres=list(genre_lists[i]),
                        reason=codes[j],
                        explanation=texts[j],
                        explored=row_explored[j],
                    )
                )
            out.append(row)
        return out

    def _rows_to_items(
        self, model: Recommender, rows: list[tuple[str, float]]
    ) -> list[RecommendationItem]:
        idx = model.item_indices([i for i, _ in rows])
        return [
            RecommendationItem(
                item_id=i,
                score=s,
                rank=n + 1,
                title=str(model.catalogue_.titles[j]),
                genres=_genres(model.catalogue_, j),
            )
            for n, ((i, s), j) in enumerate(zip(rows, idx, strict=True))
        ]


def _genres(catalogue: Catalogue, i: int) -> list[str]:
    return list(catalogue.genre_lists[i])


def rerank_pad(values: np.ndarray, n: int) -> np.ndarray:
    return values if len(values) >= n else np.pad(values, (0, n - len(values)))
