"""Batch recommendations: concurrent requests merged into one vectorised model call."""

from __future__ import annotations

import asyncio
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from deployments import observability
from deployments.feed import FeedFollower
from deployments.settings import AppArgs
from entertainai.recommend.filters import Filters
from entertainai.serving.service import RecommendationItem, RecommendationService


@serve.deployment(name="BatchRecommender")
class BatchRecommender:
    def __init__(self, args: dict[str, Any], feed: DeploymentHandle | None = None) -> None:
        settings = AppArgs(**args)
        config = settings.service_config()
        # The batch path reads models only: it logs no events of its own.
        from dataclasses import replace

        self.service = RecommendationService.from_config(replace(config, event_dir=None))
        # Batched per instance: sizes come from the app args, and the class itself holds no
        # queue state, so it stays picklable however often it is deployed in one process.
        self._batched = serve.batch(
            max_batch_size=settings.batch_max_size,
            batch_wait_timeout_s=settings.batch_wait_timeout_s,
        )(self._recommend_batch)
        if feed is not None:  # live events and new items from the Gateway replicas
            follower = FeedFollower(feed, "batch", self.service)
            self._follower = asyncio.get_event_loop().create_task(
                follower.follow(settings.feed_interval_s)
            )

    async def recommend(
        self, user_ids: list[str], k: int, filters: Filters
    ) -> list[list[RecommendationItem]]:
        return await self._batched((tuple(user_ids), k, filters))

    async def _recommend_batch(
        self, requests: list[tuple[tuple[str, ...], int, Filters]]
    ) -> list[list[list[RecommendationItem]]]:
        # Requests with the same k and filters share one model call.
        groups: dict[tuple[int, Filters], list[int]] = {}
        for n, (_, k, filters) in enumerate(requests):
            groups.setdefault((k, filters), []).append(n)
        results: list[list[list[RecommendationItem]]] = [[] for _ in requests]
        for (k, filters), members in groups.items():
            users = [u for n in members for u in requests[n][0]]
            # Through the module: the batched function is pickled by value, a metric (lock) can't be.
            observability.BATCH_SIZE.observe(len(users))
            rows = self.service.recommend(users, k, filters=filters, explain_items=False)
            start = 0
            for n in members:
                size = len(requests[n][0])
                results[n] = rows[start : start + size]
                start += size
        return results
