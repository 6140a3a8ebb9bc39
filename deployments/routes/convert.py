"""Translate between HTTP schemas and core types (in one place, shared by every router)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from deployments.schemas import FiltersIn, ItemIn, RecommendedItem
from entertainai.data.schemas import ITEMS
from entertainai.recommend.filters import Filters
from entertainai.serving.service import RecommendationItem


def to_filters(f: FiltersIn) -> Filters:
    return Filters(
        include_genres=tuple(f.include_genres),
        exclude_genres=tuple(f.exclude_genres),
        min_year=f.min_year,
        max_year=f.max_year,
        max_maturity=f.max_maturity,
        exclude_items=tuple(f.exclude_items),
        allow_items=tuple(f.allow_items) if f.allow_items is not None else None,
    )


def to_items(rows: Sequence[RecommendationItem]) -> list[RecommendedItem]:
    return [RecommendedItem(**r.__dict__) for r in rows]


def items_table(items: Sequence[ItemIn]) -> pa.Table:
    rows = [i.model_dump() for i in items]
    return pa.Table.from_pylist(rows, schema=ITEMS)
