"""Growing a fitted recommender's item index at serving time.

New catalogue items (``add_items``) and item ids first seen in live events (``update``) must
be recommendable at once, without a refit. Items only ever get appended, so every index a
model handed out stays valid; an id already known keeps its index and gets the new metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from entertainai.recommend.catalogue import Catalogue

if TYPE_CHECKING:
    from entertainai.recommend.base import Recommender


def blank_catalogue(item_ids: Sequence[str]) -> Catalogue:
    """Rows without metadata, for ids seen in events before the catalogue knows them."""
    empty = pa.table({"item_id": pa.array([], pa.string())})
    return Catalogue.from_table(empty, np.asarray(item_ids, str))


def merge_catalogues(old: Catalogue, new: Catalogue) -> tuple[Catalogue, np.ndarray]:
    """``old`` with ``new``'s rows replacing equal ids and the others appended.

    Returns the merged catalogue and the position of each of ``new``'s items in it.
    """
    index = {item: i for i, item in enumerate(old.item_ids.tolist())}
    positions = np.empty(len(new), np.int64)
    n = len(old)
    for j, item in enumerate(new.item_ids.tolist()):
        if item not in index:
            index[item] = n
            n += 1
        positions[j] = index[item]
    appended = positions >= len(old)

    # Object arrays first: assigning into a fixed-width str array would truncate longer text.
    def column(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.concatenate([a.astype(object), b[appended].astype(object)])
        out[positions] = b.astype(object)
        return out

    known_genres = set(old.genre_names.tolist())
    added = [g for g in new.genre_names.tolist() if g not in known_genres]
    names = old.genre_names.tolist() + added
    return (
        Catalogue(
            item_ids=column(old.item_ids, new.item_ids).astype(str),
            titles=column(old.titles, new.titles).astype(str),
            texts=column(old.texts, new.texts).astype(str),
            genre_names=np.asarray(names, str),
            genres=_merge_genres(old, new, positions, n, names),
            years=column(old.years, new.years).astype(np.int32),
            maturity=column(old.maturity, new.maturity).astype(np.int8),
            available=column(old.available, new.available).astype(bool),
        ),
        positions,
    )


def _merge_genres(
    old: Catalogue, new: Catalogue, positions: np.ndarray, n_items: int, names: list[str]
) -> sp.csr_matrix:
    col_of = {g: j for j, g in enumerate(names)}
    a = old.genres.tocoo()
    keep = ~np.isin(a.row, positions)  # a replaced item loses its old genres
    b = new.genres.tocoo()
    b_cols = np.asarray([col_of[g] for g in new.genre_names.tolist()], np.int64)
    rows = np.r_[a.row[keep], positions[b.row]]
    cols = np.r_[a.col[keep], b_cols[b.col] if len(b_cols) else b.col]
    return sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(n_items, len(names))
    )


def extend_items(model: Recommender, new: Catalogue) -> np.ndarray:
    """Merge ``new`` into a fitted model's catalogue and grow the state the base owns.

    Appended items are unseen by everybody and have zero popularity. Returns the positions
    of ``new``'s items; the model grows its own state to ``len(model.item_ids_)``.
    """
    catalogue, positions = merge_catalogues(model.catalogue_, new)
    n_items = len(catalogue)
    model.catalogue_ = catalogue
    model.item_ids_ = catalogue.item_ids
    seen = model.seen_.tocsr()
    model.seen_ = sp.csr_matrix(
        (seen.data, seen.indices, seen.indptr), shape=(seen.shape[0], n_items)
    )
    model.popularity_ = pad(model.popularity_, n_items)
    model._build_index()
    return positions


def pad(values: np.ndarray, n: int, axis: int = -1) -> np.ndarray:
    """Zero-pad ``values`` along ``axis`` to length ``n`` (new items start with no counts)."""
    widths = [(0, 0)] * values.ndim
    widths[axis] = (0, n - values.shape[axis])
    return np.pad(values, widths)
