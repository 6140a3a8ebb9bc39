"""A short reason per recommendation, from arrays the serving layer already holds.

In order of precedence: "New in <genre>" (an item added since the model was fitted);
"Because you watched <title>" (the user's history item most similar to the recommendation,
when similar enough); "Trending in <genre>" (in the trending top); otherwise "Popular with
viewers like you" (the collaborative signal, which has no single item to point at).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from entertainai.recommend.catalogue import Catalogue

NEW, WATCHED, TRENDING, POPULAR = "new", "because_you_watched", "trending", "popular_with_similar"
REASONS = (NEW, WATCHED, TRENDING, POPULAR)


@dataclass(frozen=True)
class Explanations:
    """Per recommendation (n rows of k): a reason code, its text, and the history item behind it.

    Held as Python lists, which is what responses are built from (numpy string arrays cost a
    tenth of a single user's request to build and read back); the array views are for analysis.
    """

    reason_rows: list[list[str]]  # one of REASONS, "" for padding
    text_rows: list[list[str]]  # what a viewer reads
    anchor_rows: list[list[str]]  # item id of "because you watched", else ""

    @cached_property
    def reasons(self) -> np.ndarray:
        return _str_array(self.reason_rows)

    @cached_property
    def texts(self) -> np.ndarray:
        return _str_array(self.text_rows)

    @cached_property
    def anchors(self) -> np.ndarray:
        return _str_array(self.anchor_rows)

    def row(self, i: int) -> list[tuple[str, str]]:
        return [(r, t) for r, t in zip(self.reason_rows[i], self.text_rows[i], strict=True) if r]


def _str_array(rows: list[list[str]]) -> np.ndarray:
    width = len(rows[0]) if rows else 0
    return np.array(rows, dtype=str).reshape(len(rows), width)


def histories_from_seen(seen: sp.csr_matrix, users: np.ndarray) -> list[np.ndarray]:
    """Each user's consumed item indices from a model's ``seen_`` (empty for ``-1`` users)."""
    return [
        seen.indices[seen.indptr[u] : seen.indptr[u + 1]] if u >= 0 else np.zeros(0, np.int64)
        for u in np.asarray(users).tolist()
    ]


def explain(
    items: np.ndarray,
    histories: Sequence[np.ndarray],
    catalogue: Catalogue,
    item_vectors: np.ndarray | sp.spmatrix | None = None,
    *,
    trending: np.ndarray | None = None,
    trending_mask: np.ndarray | None = None,
    new: np.ndarray | None = None,
    trending_top: int = 50,
    min_similarity: float = 0.3,
) -> Explanations:
    """Explain recommended item indices ``items`` (n, k; ``-1`` pads) for n users.

    ``histories[r]`` holds row r's consumed item indices; ``item_vectors`` (rows per item,
    e.g. a content model's TF-IDF matrix) measure similarity and default to genre vectors;
    ``trending`` holds trending scores per item (or ``trending_mask`` says directly which items
    are in the trending top) and ``new`` flags newly added items.
    """
    n = items.shape[0]
    vectors = (
        catalogue.unit_genres
        if item_vectors is None
        else _unit_rows(sp.csr_matrix(item_vectors)).toarray()
    )
    is_trending = (
        trending_mask
        if trending_mask is not None
        else top_mask(trending, trending_top, len(catalogue))
    )
    is_new = np.zeros(len(catalogue), bool) if new is None else np.asarray(new, bool)
    genre = catalogue.first_genres

    # Python lists: per-cell numpy access costs more than the rest of an explanation.
    reason_rows: list[list[str]] = []
    text_rows: list[list[str]] = []
    anchor_rows: list[list[str]] = []
    for r in range(n):
        reasons: list[str] = []
        texts: list[str] = []
        anchors: list[str] = []
        anchor, similarity = _closest_history(items[r], histories[r], vectors)
        anchor_list, similarity_list = anchor.tolist(), similarity.tolist()
        for j, item in enumerate(items[r].tolist()):
            reason = text = anchor_id = ""
            if item < 0:
                pass
            elif is_new[item]:
                reason, text = NEW, _in_genre("New", genre[item], "Just added")
            elif similarity_list[j] >= min_similarity:
                reason, anchor_id = WATCHED, str(catalogue.item_ids[anchor_list[j]])
                text = f"Because you watched {_title(catalogue, anchor_list[j])}"
            elif is_trending[item]:
                reason, text = TRENDING, _in_genre("Trending", genre[item], "Trending now")
            else:
                reason, text = POPULAR, "Popular with viewers like you"
            reasons.append(reason)
            texts.append(text)
            anchors.append(anchor_id)
        reason_rows.append(reasons)
        text_rows.append(texts)
        anchor_rows.append(anchors)
    return Explanations(reason_rows, text_rows, anchor_rows)


def _closest_history(
    items: np.ndarray, history: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each listed item, the most similar history item and the cosine (-inf if none)."""
    history = np.asarray(history, np.int64)
    history = history[(history >= 0) & (history < vectors.shape[0])]
    if len(history) == 0:
        return np.zeros(len(items), np.int64), np.full(len(items), -np.inf)
    sims = vectors[np.maximum(items, 0)] @ vectors[history].T
    sims[items[:, None] == history[None, :]] = -np.inf  # an item never explains itself
    best = np.argmax(sims, axis=1)
    return history[best], sims[np.arange(len(items)), best]


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m)


def top_mask(scores: np.ndarray | None, top: int, n_items: int) -> np.ndarray:
    mask = np.zeros(n_items, bool)
    if scores is None:
        return mask
    s = np.zeros(n_items)
    given = np.asarray(scores, np.float64)[:n_items]
    s[: len(given)] = given  # items newer than the trending model have no score yet
    top = min(top, int((s > 0).sum()))
    if top > 0:
        mask[np.argpartition(-s, top - 1)[:top]] = True
    return mask


def _in_genre(prefix: str, genre: str, fallback: str) -> str:
    return f"{prefix} in {genre}" if genre else fallback


def _title(catalogue: Catalogue, item: int) -> str:
    return str(catalogue.titles[item]) or str(catalogue.item_ids[item])
