"""The planted data of ``conftest`` split for held-out evaluation, shared by model tests."""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from entertainai.data.splits import random_split
from entertainai.recommend.base import Recommender
from entertainai.recommend.evaluation import evaluate
from entertainai.recommend.interactions import InteractionData
from entertainai.recommend.popularity import Popularity
from tests.recommend.conftest import make_tables


@cache
def held_out() -> tuple[InteractionData, pa.Table]:
    """Train interactions (with the full catalogue) and the held-out 20% of each user's items."""
    interactions, items = make_tables()
    parts = random_split(interactions, 0.2, seed=42)
    return InteractionData.from_tables(parts.train, items), parts.test


def ndcg(model: Recommender) -> float:
    """NDCG@10 on the held-out split (full ranking, train items excluded)."""
    return evaluate(model, held_out()[1], k=10).metrics["ndcg"]


@cache
def popularity_ndcg() -> float:
    return ndcg(Popularity().fit(held_out()[0]))
