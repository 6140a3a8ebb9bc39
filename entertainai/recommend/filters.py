"""Business filters applied to candidate items at serving time, vectorised over the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entertainai.data.schemas import MATURITY_RATINGS
from entertainai.errors import InputError
from entertainai.recommend.catalogue import Catalogue

MASK_CACHE_SIZE = 256


@dataclass(frozen=True)
class Filters:
    include_genres: tuple[str, ...] = ()
    exclude_genres: tuple[str, ...] = ()
    min_year: int | None = None
    max_year: int | None = None
    max_maturity: str | None = None  # e.g. "PG-13": nothing rated above it
    available_only: bool = True
    exclude_items: tuple[str, ...] = ()
    allow_items: tuple[str, ...] | None = None  # e.g. what is licensed in the viewer's region

    def __post_init__(self) -> None:
        if self.max_maturity is not None and self.max_maturity not in MATURITY_RATINGS:
            raise InputError(
                f"max_maturity {self.max_maturity!r} is not one of {list(MATURITY_RATINGS)}"
            )
        if (
            self.min_year is not None
            and self.max_year is not None
            and self.min_year > self.max_year
        ):
            raise InputError(f"min_year {self.min_year} is after max_year {self.max_year}")

    def mask(self, catalogue: Catalogue) -> np.ndarray:
        """Boolean array over the catalogue: True where an item may be shown (read-only).

        Memoised per catalogue (catalogues are immutable; new items make a new one): serving
        asks for the same few filters thousands of times a second.
        """
        cache = catalogue.__dict__.setdefault("_filter_masks", {})
        keep = cache.get(self)
        if keep is None:
            keep = self._mask(catalogue)
            keep.flags.writeable = False
            if len(cache) < MASK_CACHE_SIZE:
                cache[self] = keep
        return keep

    def _mask(self, catalogue: Catalogue) -> np.ndarray:
        keep = np.ones(len(catalogue), bool)
        if self.available_only:
            keep &= catalogue.available
        if self.include_genres:
            keep &= catalogue.genre_mask(self.include_genres)
        if self.exclude_genres:
            keep &= ~catalogue.genre_mask(self.exclude_genres)
        if self.min_year is not None:
            keep &= catalogue.years >= self.min_year
        if self.max_year is not None:
            keep &= (catalogue.years <= self.max_year) & (catalogue.years >= 0)
        if self.max_maturity is not None:
            # Unknown maturity counts as unrated: shown only when no cap is asked for.
            limit = MATURITY_RATINGS.index(self.max_maturity)
            keep &= (catalogue.maturity >= 0) & (catalogue.maturity <= limit)
        if self.exclude_items:
            keep &= ~np.isin(catalogue.item_ids, list(self.exclude_items))
        if self.allow_items is not None:
            keep &= np.isin(catalogue.item_ids, list(self.allow_items))
        return keep
