"""Item metadata as dense arrays, aligned with a model's item index, for filters and content."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from entertainai.data.schemas import MATURITY_RATINGS
from entertainai.model import load_arrays


@dataclass
class Catalogue:
    item_ids: np.ndarray  # str, shape (n_items,)
    titles: np.ndarray  # str
    texts: np.ndarray  # str: title, description, genres and tags, for content models
    genre_names: np.ndarray  # str, shape (n_genres,)
    genres: sp.csr_matrix  # (n_items, n_genres) multi-hot, float32
    years: np.ndarray  # int32, -1 = unknown
    maturity: np.ndarray  # int8 index into MATURITY_RATINGS, -1 = unknown
    available: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.item_ids)

    # Derived views, computed once per catalogue object (a changed catalogue is a new object):
    # the serving hot path reads them on every request.

    @cached_property
    def unit_genres(self) -> np.ndarray:
        """Dense genre vectors scaled to unit length (cosine by dot product)."""
        dense = self.genres.toarray().astype(np.float32)
        return dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)

    @cached_property
    def genre_lists(self) -> list[list[str]]:
        g = self.genres.tocsr()
        names = self.genre_names.tolist()
        return [
            [names[c] for c in sorted(g.indices[g.indptr[i] : g.indptr[i + 1]])]
            for i in range(len(self))
        ]

    @cached_property
    def first_genres(self) -> np.ndarray:
        """Each item's first genre name ("" when it has none)."""
        return np.asarray([g[0] if g else "" for g in self.genre_lists], dtype=object)

    @classmethod
    def from_table(cls, items: pa.Table, item_ids: np.ndarray | None = None) -> Catalogue:
        """Build from an items table; ``item_ids`` fixes the order (ids missing get blanks)."""
        rows = items.to_pylist()
        by_id = {str(r["item_id"]): r for r in rows}
        ids = np.asarray(item_ids if item_ids is not None else list(by_id), dtype=str)
        genre_set = sorted({g for r in rows for g in (r.get("genres") or [])})
        genre_index = {g: j for j, g in enumerate(genre_set)}
        maturity_index = {m: j for j, m in enumerate(MATURITY_RATINGS)}
        titles, texts, years, maturity, available = [], [], [], [], []
        gi, gj = [], []
        for i, item_id in enumerate(ids):
            r = by_id.get(item_id, {})
            genres = r.get("genres") or []
            for g in genres:
                gi.append(i)
                gj.append(genre_index[g])
            title = r.get("title") or ""
            titles.append(title)
            texts.append(
                " ".join(
                    [
                        title,
                        r.get("description") or "",
                        " ".join(genres),
                        " ".join(r.get("tags") or []),
                    ]
                )
            )
            years.append(r.get("year") if r.get("year") is not None else -1)
            maturity.append(maturity_index.get(r.get("maturity_rating") or "", -1))
            available.append(r.get("available") is not False)
        genres_m = sp.csr_matrix(
            (np.ones(len(gi), np.float32), (gi, gj)), shape=(len(ids), len(genre_set))
        )
        return cls(
            item_ids=ids,
            titles=np.asarray(titles, dtype=str),
            texts=np.asarray(texts, dtype=str),
            genre_names=np.asarray(genre_set, dtype=str),
            genres=genres_m,
            years=np.asarray(years, np.int32),
            maturity=np.asarray(maturity, np.int8),
            available=np.asarray(available, bool),
        )

    def genre_mask(self, names: tuple[str, ...]) -> np.ndarray:
        """Items having any of the genres ``names`` (case-insensitive; unknown names match none)."""
        lower = np.char.lower(self.genre_names.astype(str))
        cols = np.flatnonzero(np.isin(lower, [n.lower() for n in names]))
        if len(cols) == 0:
            return np.zeros(len(self), bool)
        return np.asarray(self.genres[:, cols].sum(axis=1)).ravel() > 0

    def to_arrays(self, prefix: str = "catalogue_") -> dict[str, np.ndarray]:
        g = self.genres.tocoo()
        return {
            f"{prefix}item_ids": self.item_ids,
            f"{prefix}titles": self.titles,
            f"{prefix}texts": self.texts,
            f"{prefix}genre_names": self.genre_names,
            f"{prefix}genre_rows": g.row.astype(np.int32),
            f"{prefix}genre_cols": g.col.astype(np.int32),
            f"{prefix}years": self.years,
            f"{prefix}maturity": self.maturity,
            f"{prefix}available": self.available,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "catalogue_") -> Catalogue:
        ids = arrays[f"{prefix}item_ids"]
        names = arrays[f"{prefix}genre_names"]
        rows, cols = arrays[f"{prefix}genre_rows"], arrays[f"{prefix}genre_cols"]
        genres = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(ids), len(names))
        )
        return cls(
            item_ids=ids,
            titles=arrays[f"{prefix}titles"],
            texts=arrays[f"{prefix}texts"],
            genre_names=names,
            genres=genres,
            years=arrays[f"{prefix}years"],
            maturity=arrays[f"{prefix}maturity"],
            available=arrays[f"{prefix}available"],
        )

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        return cls.from_arrays(load_arrays(path))
