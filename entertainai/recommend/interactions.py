"""Interactions as a sparse user x item matrix with stable id <-> index maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from entertainai.recommend.catalogue import Catalogue


@dataclass
class InteractionData:
    """What every recommender's ``fit`` takes.

    ``matrix[u, i]`` counts u's interactions with i (the confidence of implicit feedback);
    ``ratings[u, i]`` holds u's latest explicit rating of i (0 where none). The item index
    covers the whole catalogue, so items nobody has touched yet are still recommendable by
    content-aware models. ``last_seen[u, i]`` is the latest timestamp (seconds) of u on i.
    """

    user_ids: np.ndarray  # str (n_users,)
    item_ids: np.ndarray  # str (n_items,)
    matrix: sp.csr_matrix  # float32 counts
    ratings: sp.csr_matrix  # float32 explicit ratings
    last_seen: sp.csr_matrix  # float64 unix seconds
    catalogue: Catalogue
    user_attributes: dict[str, dict[str, str]] | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids.tolist())}

    def item_index(self) -> dict[str, int]:
        return {it: i for i, it in enumerate(self.item_ids.tolist())}

    @classmethod
    def from_tables(
        cls,
        interactions: pa.Table,
        items: pa.Table | None = None,
        users: pa.Table | None = None,
    ) -> InteractionData:
        user_col = pc.cast(interactions.column("user_id"), pa.string())
        item_col = pc.cast(interactions.column("item_id"), pa.string())
        catalogue_ids = (
            [str(x) for x in items.column("item_id").to_pylist()] if items is not None else []
        )
        seen_items = pc.unique(item_col).to_pylist()
        extra_items = sorted(set(seen_items) - set(catalogue_ids))
        item_ids = np.asarray(catalogue_ids + extra_items, dtype=str)
        user_ids = np.asarray(sorted(pc.unique(user_col).to_pylist()), dtype=str)

        u = pc.index_in(user_col, pa.array(user_ids)).to_numpy(zero_copy_only=False)
        i = pc.index_in(item_col, pa.array(item_ids)).to_numpy(zero_copy_only=False)
        shape = (len(user_ids), len(item_ids))
        counts = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=shape)
        counts.sum_duplicates()

        ts = pc.cast(interactions.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False)
        ts_s = ts.astype(np.float64) / 1000.0
        last_seen = _max_per_cell(u, i, ts_s, shape)

        is_rating = pc.equal(interactions.column("event_type"), "rating").to_numpy(
            zero_copy_only=False
        )
        values = pc.fill_null(interactions.column("value"), 0.0).to_numpy(zero_copy_only=False)
        # Latest rating wins: order by time, then keep the last value per cell.
        order = np.lexsort((ts_s[is_rating], u[is_rating] * shape[1] + i[is_rating]))
        ru, ri, rv = u[is_rating][order], i[is_rating][order], values[is_rating][order]
        keys = ru.astype(np.int64) * shape[1] + ri
        last = np.r_[keys[1:] != keys[:-1], True] if len(keys) else np.zeros(0, bool)
        ratings = sp.csr_matrix((rv[last].astype(np.float32), (ru[last], ri[last])), shape=shape)

        attributes = None
        if users is not None and users.num_rows:
            attributes = {
                str(r["user_id"]): dict(r["attributes"] or [])
                for r in users.select(["user_id", "attributes"]).to_pylist()
            }
        catalogue = (
            Catalogue.from_table(items, item_ids)
            if items is not None
            else Catalogue.from_table(pa.table({"item_id": pa.array([], pa.string())}), item_ids)
        )
        return cls(user_ids, item_ids, counts, ratings, last_seen, catalogue, attributes)


def _max_per_cell(
    u: np.ndarray, i: np.ndarray, v: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    if len(u) == 0:
        return sp.csr_matrix(shape, dtype=np.float64)
    keys = u.astype(np.int64) * shape[1] + i
    order = np.lexsort((v, keys))
    keys, v = keys[order], v[order]
    last = np.r_[keys[1:] != keys[:-1], True]
    keys, v = keys[last], v[last]
    return sp.csr_matrix((v, (keys // shape[1], keys % shape[1])), shape=shape)
