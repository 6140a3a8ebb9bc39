"""The batch recommender's merged calls stay bounded in memory: chunks of users per call."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from deployments.batch import BatchRecommender
from entertainai.recommend.batch import users_per_call
from entertainai.recommend.filters import Filters


class FakeService:
    def __init__(self, n_items: int) -> None:
        self.models = SimpleNamespace(
            model=SimpleNamespace(item_ids_=[f"i{j}" for j in range(n_items)])
        )
        self.calls: list[int] = []

    def recommend(self, users: list[str], k: int, **_: object) -> list[list[str]]:
        self.calls.append(len(users))
        return [[f"{u}:{k}"] for u in users]


def test_merged_requests_are_scored_in_bounded_chunks_and_answered_in_order() -> None:
    n_items = 10_000
    batch = object.__new__(BatchRecommender.func_or_class)
    batch.service = service = FakeService(n_items)
    requests = [(tuple(f"r{r}u{u}" for u in range(1000)), 10, Filters()) for r in range(64)]
    results = asyncio.run(batch._recommend_batch(requests))
    step = users_per_call(n_items)
    assert max(service.calls) == step < 64_000 and sum(service.calls) == 64_000
    assert max(service.calls) * n_items * 4 <= 64 * 2**20  # at most 64 MB of scores per call
    for r, rows in enumerate(results):  # every request gets its own users' rows back
        assert rows == [[f"r{r}u{u}:10"] for u in range(1000)]


def test_users_per_call_is_at_least_one() -> None:
    assert users_per_call(10**9) == 1 and users_per_call(0) > 1
