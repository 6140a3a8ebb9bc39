"""User segmentation: behaviour features, k-means or Ward clustering, k chosen from the data.

Features per user (:func:`user_features`), all computed from the interaction log:

* ``activity:*`` — ``log1p`` of the number of interactions and of the days since the last one;
* ``genre:*`` — the share of the user's viewing per genre (an item's primary genre weighs 1,
  its other genres 0.5, normalised per item, as in the catalogue);
* ``time:*`` — the share of interactions at night (0-6 UTC), morning, afternoon and evening;
* ``device:*`` — the share per device, when the log records devices.

Columns are standardised, then scaled by a per-group weight. Segments are the centroids of a
k-means (or Ward) clustering; ``predict`` assigns the nearest centroid, so new users need only
their features.

**Choosing k** (:func:`choose_k`), for each k in ``k_min..k_max``: the silhouette, the gap
statistic (Tibshirani et al. 2001, uniform references in the principal-axes box) and the
stability (mean adjusted Rand index between clusterings fitted on 80% subsamples, all
labelling the full data). The rule, in order:

1. keep the *stable* k: stability >= ``min_stability`` (a k whose clusters change with the
   sample describes noise, however well separated it looks);
2. of those, keep the k that pass the gap test Gap(k) >= Gap(k+1) - s(k+1) (adding a cluster
   does not explain clearly more than it would on structureless data);
3. choose the highest silhouette among what is left. If step 2 leaves nothing the stable k
   compete on silhouette; if step 1 leaves nothing the most stable k wins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.errors import InputError, NotFoundError
from entertainai.model import Model, load_arrays, save_arrays

log = logging.getLogger(__name__)

TIME_BUCKETS = ("night", "morning", "afternoon", "evening")  # UTC hours 0-6, 6-12, 12-18, 18-24
GROUPS = ("activity", "genre", "time", "device")


@dataclass(frozen=True)
class UserFeatures:
    """A feature matrix with its user ids and column names (``group:name``)."""

    user_ids: np.ndarray  # str
    values: np.ndarray  # (n_users, n_features) float64
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.user_ids), len(self.names)):
            raise InputError(
                f"feature matrix {self.values.shape} does not match "
                f"{len(self.user_ids)} users x {len(self.names)} names"
            )

    def aligned(self, names: Sequence[str]) -> np.ndarray:
        """The values in the column order ``names``; absent columns (an unseen genre or
        device) are 0, i.e. no share."""
        index = {n: i for i, n in enumerate(self.names)}
        out = np.zeros((len(self.user_ids), len(names)))
        for j, name in enumerate(names):
            if name in index:
                out[:, j] = self.values[:, index[name]]
        return out

    def subset(self, rows: np.ndarray) -> UserFeatures:
        return UserFeatures(self.user_ids[rows], self.values[rows], self.names)


def _item_genre_weights(items: pa.Table) -> tuple[dict[str, int], np.ndarray, list[str]]:
    genres = sorted({g for row in items.column("genres").to_pylist() for g in (row or [])})
    column = {g: j for j, g in enumerate(genres)}
    ids = items.column("item_id").to_pylist()
    weights = np.zeros((len(ids), max(len(genres), 1)))
    for i, row in enumerate(items.column("genres").to_pylist()):
        for n, g in enumerate(row or []):
            weights[i, column[g]] = 1.0 if n == 0 else 0.5
    total = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    return {item: i for i, item in enumerate(ids)}, weights, genres


def user_features(
    interactions: pa.Table, items: pa.Table, *, now: np.datetime64 | None = None
) -> UserFeatures:
    """Behaviour features of every user in ``interactions`` (sorted by user id)."""
    if interactions.num_rows == 0:
        raise InputError("no interactions to compute user features from", location="interactions")
    user_ids, user = np.unique(
        interactions.column("user_id").to_numpy(zero_copy_only=False).astype(str),
        return_inverse=True,
    )
    n = len(user_ids)
    ts = interactions.column("timestamp").cast(pa.timestamp("ms", tz="UTC"))
    ms = ts.to_numpy(zero_copy_only=False).astype("datetime64[ms]").astype(np.int64)
    now_ms = int(ms.max()) if now is None else int(now.astype("datetime64[ms]").astype(np.int64))

    count = np.bincount(user, minlength=n).astype(np.float64)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, user, ms)
    recency_days = np.maximum(now_ms - last, 0) / 86_400_000
    columns = [np.log1p(count)[:, None], np.log1p(recency_days)[:, None]]
    names = ["activity:log_count", "activity:log_recency_days"]

    item_index, weights, genres = _item_genre_weights(items)
    rows = np.array(
        [item_index.get(i, -1) for i in interactions.column("item_id").to_pylist()], np.int64
    )
    known = rows >= 0
    genre = np.zeros((n, weights.shape[1]))
    np.add.at(genre, user[known], weights[rows[known]])
    columns.append(genre / np.maximum(genre.sum(axis=1, keepdims=True), 1e-12))
    names += [f"genre:{g}" for g in genres]

    hour = (ms // 3_600_000) % 24
    bucket = np.zeros((n, len(TIME_BUCKETS)))
    np.add.at(bucket, (user, hour // 6), 1.0)
    columns.append(bucket / count[:, None])
    names += [f"time:{b}" for b in TIME_BUCKETS]

    if "device" in interactions.column_names and interactions.column("device").null_count < len(
        interactions
    ):
        device = pc.fill_null(interactions.column("device"), "unknown")
        device_names, device_index = np.unique(
            device.to_numpy(zero_copy_only=False).astype(str), return_inverse=True
        )
        share = np.zeros((n, len(device_names)))
        np.add.at(share, (user, device_index), 1.0)
        columns.append(share / count[:, None])
        names += [f"device:{d}" for d in device_names]
    return UserFeatures(user_ids, np.hstack(columns), tuple(names))


# ---- clustering and the choice of k -----------------------------------------------------------


@dataclass(frozen=True)
class SegmentsConfig:
    method: str = "kmeans"  # kmeans | ward
    k: int | None = None  # None: chosen by choose_k over k_min..k_max
    k_min: int = 2
    k_max: int = 10
    n_bootstrap: int = 4  # resamples for the stability check
    n_references: int = 5  # uniform reference sets for the gap statistic
    min_stability: float = 0.75
    max_fit_users: int = 3000  # Ward is O(n^2): cluster a seeded sample, assign the rest
    # Per-group multipliers after standardisation (1 = every feature counts the same).
    weights: tuple[tuple[str, float], ...] = (
        ("activity", 1.0),
        ("genre", 1.0),
        ("time", 1.0),
        ("device", 1.0),
    )
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("kmeans", "ward"):
            raise InputError(f"method must be 'kmeans' or 'ward', got {self.method!r}")
        if not 2 <= self.k_min <= self.k_max:
            raise InputError(f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if self.k is not None and self.k < 2:
            raise InputError(f"k must be >= 2, got {self.k}")
        unknown = sorted({g for g, _ in self.weights} - set(GROUPS))
        if unknown:
            raise InputError(f"unknown feature groups {unknown}; known: {list(GROUPS)}")


@dataclass(frozen=True)
class KScore:
    k: int
    silhouette: float
    gap: float
    gap_se: float
    stability: float
    inertia: float


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    d = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None, :]
    return np.argmin(d, axis=1)


def cluster(x: np.ndarray, k: int, method: str, seed: int, n_init: int = 4) -> np.ndarray:
    """Centroids of a k-means or Ward clustering of ``x`` (k x d)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny problems; spinning threads cost more than they save
        if method == "kmeans":
            return KMeans(k, n_init=n_init, random_state=seed).fit(x).cluster_centers_
        labels = AgglomerativeClustering(k, linkage="ward").fit_predict(x)
    return np.array([x[labels == c].mean(axis=0) for c in range(k)])


def _inertia(x: np.ndarray, centroids: np.ndarray) -> float:
    return float(((x - centroids[_nearest(x, centroids)]) ** 2).sum())


def score_k(x: np.ndarray, k: int, config: SegmentsConfig) -> KScore:
    """Silhouette, gap (with its standard error) and bootstrap stability of k clusters."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    rng = np.random.default_rng([config.seed, k])
    centroids = cluster(x, k, config.method, config.seed)
    labels = _nearest(x, centroids)
    inertia = _inertia(x, centroids)
    sample = rng.choice(len(x), min(len(x), 2000), replace=False)
    silhouette = (
        float(silhouette_score(x[sample], labels[sample]))
        if len(np.unique(labels[sample])) > 1
        else -1.0
    )
    # Gap: uniform references in the box of the data's principal axes.
    centre = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - centre, full_matrices=False)
    rotated = (x - centre) @ vt.T
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    log_ref = []
    for _ in range(config.n_references):
        ref = rng.uniform(lo, hi, size=rotated.shape)
        log_ref.append(np.log(_inertia(ref, cluster(ref, k, "kmeans", config.seed, n_init=1))))
    gap = float(np.mean(log_ref) - np.log(max(inertia, 1e-12)))
    gap_se = float(np.std(log_ref) * np.sqrt(1 + 1 / config.n_references))
    # Stability: clusterings of resamples, each labelling all users, compared pairwise.
    boots = []
    for b in range(config.n_bootstrap):
        # 80% subsamples: duplicated points of a true bootstrap distort k-means and Ward.
        size = min(int(0.8 * len(x)), config.max_fit_users)
        rows = rng.choice(len(x), size, replace=False)
        boots.append(_nearest(x, cluster(x[rows], k, config.method, config.seed + b + 1)))
    pairs = [
        adjusted_rand_score(boots[i], boots[j])
        for i in range(len(boots))
        for j in range(i + 1, len(boots))
    ]
    stability = float(np.mean(pairs)) if pairs else 1.0
    return KScore(k, silhouette, gap, gap_se, stability, inertia)


def choose_k(scores: Sequence[KScore], config: SegmentsConfig) -> int:
    """Apply the documented rule (module docstring) to the per-k scores."""
    by_k = {s.k: s for s in scores}
    stable = [s for s in scores if s.stability >= config.min_stability]
    if not stable:
        return max(scores, key=lambda s: (s.stability, -s.k)).k

    def gap_ok(s: KScore) -> bool:
        nxt = by_k.get(s.k + 1)
        return nxt is None or s.gap >= nxt.gap - nxt.gap_se

    candidates = [s for s in stable if gap_ok(s)] or stable
    return max(candidates, key=lambda s: (s.silhouette, -s.k)).k


# ---- the model --------------------------------------------------------------------------------


class Segments(Model[SegmentsConfig]):
    """Segments of users: ``fit(features)``, ``predict(features)``, ``profiles_``."""

    kind = "segments"
    Config = SegmentsConfig

    def _scale(self, features: UserFeatures) -> np.ndarray:
        return (features.aligned(self.feature_names_) - self.mean_) / self.scale_ * self.weight_

    def prepare(self, features: UserFeatures) -> np.ndarray:
        """Learn the standardisation from ``features`` and return the scaled matrix."""
        if len(features.user_ids) < max(2 * self.config.k_max, 10):
            raise InputError(
                f"{len(features.user_ids)} users; need at least {max(2 * self.config.k_max, 10)}"
            )
        self.feature_names_ = list(features.names)
        self.mean_ = features.values.mean(axis=0)
        std = features.values.std(axis=0)
        self.scale_ = np.where(std > 1e-9, std, 1.0)
        weights = dict(self.config.weights)
        self.weight_ = np.array([weights.get(n.split(":")[0], 1.0) for n in self.feature_names_])
        return self._scale(features)

    def fit(self, features: UserFeatures, scores: Sequence[KScore] | None = None) -> Segments:
        """Standardise, choose k (unless configured or ``scores`` are given), cluster."""
        c = self.config
        x = self.prepare(features)
        if c.k is not None:
            self.k_, self.selection_ = c.k, []
        else:
            if scores is None:
                scores = [score_k(x, k, c) for k in range(c.k_min, c.k_max + 1)]
            self.k_ = choose_k(scores, c)
            self.selection_ = [asdict(s) for s in scores]
        rng = np.random.default_rng(c.seed)
        rows = (
            np.sort(rng.choice(len(x), c.max_fit_users, replace=False))
            if len(x) > c.max_fit_users
            else np.arange(len(x))
        )
        centroids = cluster(x[rows], self.k_, c.method, c.seed)
        labels = _nearest(x, centroids)
        # Segment 0 is the largest: stable, readable numbering.
        order = np.argsort(-np.bincount(labels, minlength=self.k_), kind="stable")
        self.centroids_ = centroids[order]
        self.user_ids_ = features.user_ids.astype(str)
        self.labels_ = _nearest(x, self.centroids_)
        self.profiles_ = profiles(features, self.labels_, self.k_)
        self.fitted_ = True
        log.info("segments: k=%d (%s) over %d users", self.k_, c.method, len(x))
        return self

    def predict(self, features: UserFeatures) -> np.ndarray:
        """The nearest segment of each user in ``features``."""
        self.check_fitted()
        return _nearest(self._scale(features), self.centroids_)

    def segment_of(self, user_id: str) -> int:
        """The segment assigned to a user seen at fit time."""
        self.check_fitted()
        hit = np.flatnonzero(self.user_ids_ == user_id)
        if not len(hit):
            raise NotFoundError(f"unknown user {user_id!r} (not in the segmented data)")
        return int(self.labels_[hit[0]])

    def forget_users(self, user_ids: Sequence[str]) -> int:
        """Drop users from the fitted assignment (an erasure request); returns how many.

        Centroids, scaling and profiles are aggregates over everybody and stay as they are.
        """
        self.check_fitted()
        gone = np.isin(self.user_ids_, [str(u) for u in user_ids])
        if gone.any():
            self.user_ids_, self.labels_ = self.user_ids_[~gone], self.labels_[~gone]
        return int(gone.sum())

    def _save_state(self, directory: Path) -> None:
        save_arrays(
            directory / "segments.npz",
            centroids=self.centroids_,
            mean=self.mean_,
            scale=self.scale_,
            weight=self.weight_,
            user_ids=self.user_ids_.astype(str),
            labels=self.labels_.astype(np.int32),
        )
        meta = {
            "k": self.k_,
            "feature_names": self.feature_names_,
            "profiles": self.profiles_,
            "selection": self.selection_,
        }
        (directory / "segments.json").write_text(json.dumps(meta, indent=1))

    def _load_state(self, directory: Path) -> None:
        arrays = load_arrays(directory / "segments.npz")
        meta = json.loads((directory / "segments.json").read_text())
        self.centroids_, self.mean_ = arrays["centroids"], arrays["mean"]
        self.scale_, self.weight_ = arrays["scale"], arrays["weight"]
        self.user_ids_, self.labels_ = arrays["user_ids"], arrays["labels"].astype(np.int64)
        self.k_, self.feature_names_ = int(meta["k"]), list(meta["feature_names"])
        self.profiles_, self.selection_ = meta["profiles"], meta["selection"]
        if self.centroids_.shape != (self.k_, len(self.feature_names_)):
            raise ValueError("centroids do not match k and the feature names")


def profiles(features: UserFeatures, labels: np.ndarray, k: int) -> list[dict[str, Any]]:
    """Per segment: size, share, a name from its top genres, mean features, top genres (with
    lift over all users), main device and peak time of day."""
    names = list(features.names)
    overall = features.values.mean(axis=0)
    out = []
    for c in range(k):
        members = features.values[labels == c]
        mean = members.mean(axis=0) if len(members) else np.zeros(len(names))

        def group(prefix: str, values: np.ndarray = mean) -> dict[str, float]:
            return {
                n.split(":", 1)[1]: float(values[j])
                for j, n in enumerate(names)
                if n.startswith(prefix + ":")
            }

        genres = group("genre")
        overall_genres = group("genre", overall)
        top = sorted(genres, key=lambda g: -genres[g])[:3]
        devices, times = group("device"), group("time")
        activity = group("activity")
        out.append(
            {
                "segment": c,
                "name": " & ".join(top[:2]) + " fans" if top else f"segment {c}",
                "size": int(len(members)),
                "share": float(len(members) / max(len(labels), 1)),
                "top_genres": [
                    {
                        "genre": g,
                        "share": genres[g],
                        "lift": genres[g] / max(overall_genres[g], 1e-9),
                    }
                    for g in top
                ],
                "main_device": max(devices, key=lambda d: devices[d]) if devices else None,
                "peak_time": max(times, key=lambda t: times[t]) if times else None,
                "mean_interactions": float(np.expm1(activity.get("log_count", 0.0))),
                "mean_recency_days": float(np.expm1(activity.get("log_recency_days", 0.0))),
                "features": {n: float(v) for n, v in zip(names, mean, strict=True)},
            }
        )
    return out


def fit_dataset(dataset_uri: str, config: SegmentsConfig = SegmentsConfig()) -> Segments:
    """Features of every user of a dataset, then :meth:`Segments.fit`."""
    from entertainai.data.dataset import Dataset

    ds = Dataset.open(dataset_uri)
    return Segments(config).fit(user_features(ds.interactions, ds.items))


def with_k(config: SegmentsConfig, k: int) -> SegmentsConfig:
    return replace(config, k=k)


def planted_ari(dataset_uri: str, model: Segments) -> float | None:
    """Adjusted Rand index against the demo generator's planted segments (None elsewhere)."""
    import io

    import pyarrow.parquet as pq
    from sklearn.metrics import adjusted_rand_score

    from entertainai.data.dataset import Dataset

    try:
        data = Dataset.open(dataset_uri).extra("ground_truth/users.parquet")
    except NotFoundError:
        return None
    truth = pq.read_table(io.BytesIO(data))
    segment = dict(
        zip(truth.column("user_id").to_pylist(), truth.column("segment").to_pylist(), strict=True)
    )
    known = np.array([u in segment for u in model.user_ids_])
    planted = [segment[u] for u in model.user_ids_[known]]
    return float(adjusted_rand_score(planted, model.labels_[known]))


def metrics_of(model: Segments, dataset_uri: str | None = None) -> dict[str, Any]:
    chosen = next((s for s in model.selection_ if s["k"] == model.k_), {})
    out: dict[str, Any] = {
        "k": model.k_,
        "n_users": len(model.user_ids_),
        **{f"{m}": chosen[m] for m in ("silhouette", "gap", "stability") if m in chosen},
    }
    if dataset_uri is not None and (ari := planted_ari(dataset_uri, model)) is not None:
        out["planted_ari"] = ari
    return out
