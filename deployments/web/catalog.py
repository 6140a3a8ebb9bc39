"""What the pages show beyond the API's answers: item kinds and descriptions, title search,
recent reviews and daily event series.

Titles, genres and years come from the served model's catalogue (so items added through
``POST /v1/items`` are found at once); kinds (movie, series, ...), descriptions, reviews and
history come from the dataset the models were trained on, found by ``dataset_uri``. Without
a dataset the pages still work, with no kind switch, descriptions or analyst history.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.series import Series, series_from_interactions
from entertainai.errors import EntertainAIError
from entertainai.recommend.catalogue import Catalogue

log = logging.getLogger(__name__)

DATA_ENV = "ENTERTAINAI_WEB_DATA"
DEMO_DATA = "data/demo"  # where `make run` writes the demo dataset, beside the registry
MAX_RESULTS = 48
RECENT_REVIEWS = 12
TOP_GENRES = 5


def dataset_uri(registry: str, curation_dataset: str | None) -> str | None:
    """The dataset behind the pages: ``$ENTERTAINAI_WEB_DATA``, else the curation dataset,
    else ``data/demo`` beside a local registry (the `make run` layout), else None."""
    configured = os.environ.get(DATA_ENV) or curation_dataset
    if configured:
        return configured
    if "://" not in registry:
        demo = Path(registry).resolve().parent / DEMO_DATA
        if (demo / "manifest.json").exists():
            return str(demo)
    return None


@dataclass
class DatasetView:
    """The dataset's parts the pages use, read once per replica."""

    uri: str
    counts: dict[str, int]
    kinds: dict[str, str]
    descriptions: dict[str, str]
    reviews: list[dict[str, Any]]  # newest first
    by_event_type: dict[str, Series]  # daily counts per event type
    genres: list[Series]  # daily counts of the top genres (primary genre)
    users_last_7d: int
    mean_rating: float | None
    kind_names: list[str] = field(default_factory=list)


class WebData:
    """Lazily opens the dataset at ``uri`` (None: none), once; a failure is logged once and
    leaves the pages without dataset features."""

    def __init__(self, uri: str | None) -> None:
        self.uri = uri
        self._view: DatasetView | None = None
        self._tried = uri is None
        self._lock = threading.Lock()

    def view(self) -> DatasetView | None:
        if not self._tried:
            with self._lock:
                if not self._tried:
                    try:
                        self._view = _read(str(self.uri))
                    except (EntertainAIError, OSError, ValueError) as exc:
                        log.warning("web pages without dataset %s: %s", self.uri, exc)
                    self._tried = True
        return self._view

    def kind_of(self, item_id: str) -> str | None:
        view = self.view()
        return view.kinds.get(item_id) if view else None


def _read(uri: str) -> DatasetView:
    import pyarrow.compute as pc

    from entertainai.data.dataset import Dataset

    ds = Dataset.open(uri)
    items = ds.table("items", ["item_id", "genres", "kind", "description"])
    ids = items.column("item_id").to_pylist()
    kinds = {i: k for i, k in zip(ids, items.column("kind").to_pylist(), strict=True) if k}
    descriptions = dict(zip(ids, items.column("description").to_pylist(), strict=True))
    interactions = ds.table("interactions", ["user_id", "item_id", "event_type", "timestamp"])
    by_type: dict[str, Series] = {}
    genres: list[Series] = []
    users_7d = 0
    if interactions.num_rows:
        for event_type in sorted(set(interactions.column("event_type").to_pylist())):
            platform = series_from_interactions(interactions, event_types=(event_type,))[0]
            by_type[event_type] = replace(platform, uid=event_type)
        per_genre = series_from_interactions(interactions, items, level="genre")
        genres = sorted(per_genre, key=lambda s: -float(s.values[-28:].sum()))[:TOP_GENRES]
        ts = interactions.column("timestamp").cast("int64").to_numpy()
        recent = interactions.filter(pc.greater_equal(ts, int(ts.max()) - 7 * 86_400_000))
        users_7d = len(set(recent.column("user_id").to_pylist()))
    texts = ds.table("texts", ["text_id", "item_id", "kind", "text", "timestamp", "rating"])
    ratings = [r for r in texts.column("rating").to_pylist() if r is not None]
    reviews = texts.filter(pc.equal(texts.column("kind"), "review"))
    if reviews.num_rows:
        order = pc.sort_indices(reviews, [("timestamp", "descending")])
        reviews = reviews.take(order.slice(0, RECENT_REVIEWS))
    recent_reviews = [
        {**r, "timestamp": r["timestamp"].isoformat() if r["timestamp"] else None}
        for r in reviews.to_pylist()
    ]
    return DatasetView(
        uri=ds.uri,
        counts=dict(ds.manifest.counts),
        kinds=kinds,
        descriptions=descriptions,
        reviews=recent_reviews,
        by_event_type=by_type,
        genres=genres,
        users_last_7d=users_7d,
        mean_rating=float(np.mean(ratings)) if ratings else None,
        kind_names=sorted(set(kinds.values())),
    )


def series_json(series: Series, last: int | None = None) -> dict[str, Any]:
    """``{"name", "ds": [ISO dates], "y": [...]}``, the last ``last`` steps."""
    index, values = series.index, series.values
    if last is not None:
        index, values = index[-last:], values[-last:]
    return {
        "name": series.uid,
        "ds": [str(d)[:10] if series.freq == "D" else str(d) for d in index],
        "y": [float(v) for v in values],
    }


def search(
    catalogue: Catalogue,
    query: str,
    *,
    genre: str | None = None,
    kind: str | None = None,
    data: WebData | None = None,
    blocked: frozenset[str] | set[str] = frozenset(),
    limit: int = MAX_RESULTS,
) -> list[int]:
    """Catalogue indices whose title holds every word of ``query`` (case-insensitive), in
    ``genre`` and of ``kind`` when given; best first: exact title, title start, word start,
    then anywhere (ties by title)."""
    words = query.casefold().split()
    mask = catalogue.available.astype(bool).copy()
    if genre:
        mask &= catalogue.genre_mask((genre,))
    hits: list[tuple[tuple[int, str], int]] = []
    needle = " ".join(words)
    for i in np.flatnonzero(mask).tolist():
        item_id = str(catalogue.item_ids[i])
        if item_id in blocked:
            continue
        if kind and (data is None or data.kind_of(item_id) != kind):
            continue
        title = str(catalogue.titles[i]).casefold()
        if not all(w in title for w in words):
            continue
        if not words:
            rank = 3
        elif title == needle:
            rank = 0
        elif title.startswith(needle):
            rank = 1
        elif any(t.startswith(words[0]) for t in title.split()):
            rank = 2
        else:
            rank = 3
        hits.append(((rank, title), i))
    hits.sort()
    return [i for _, i in hits[:limit]]
