"""Batch recommendations: concurrent requests merged into one vectorised model call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from deployments import follow, observability
from deployments.feed import FeedFollower
from deployments.settings import AppArgs
from entertainai.recommend.batch import users_per_call
from entertainai.recommend.filters import Filters
from entertainai.serving.service import RecommendationItem, RecommendationService, ServiceConfig


@dataclass(frozen=True)
class BatchAnswer:
    rows: list[list[RecommendationItem]]
    model: str | None  # the ref that ranked them (answers name what actually served them)
    reload: dict[str, Any]


@dataclass(frozen=True)
class _BatchSettings:
    """What ``follow.watch`` reads each tick: the app args with this deployment's config."""

    args: AppArgs
    config: ServiceConfig

    @property
    def reload_interval_s(self) -> float:
        return self.args.reload_interval_s

    @property
    def curation_dataset(self) -> str | None:
        return self.args.curation_dataset

    def service_config(self) -> ServiceConfig:
        return self.config


@serve.deployment(name="BatchRecommender")
class BatchRecommender:
    def __init__(
        self,
        args: dict[str, Any],
        feed: DeploymentHandle | None = None,
        moderate: DeploymentHandle | None = None,
    ) -> None:
        settings = self.args = AppArgs(**args)
        # The batch path reads models only: it logs no events of its own.
        self.service = RecommendationService.from_config(self._service_config())
        # Batched per instance: sizes come from the app args, and the class itself holds no
        # queue state, so it stays picklable however often it is deployed in one process.
        self._batched = serve.batch(
            max_batch_size=settings.batch_max_size,
            batch_wait_timeout_s=settings.batch_wait_timeout_s,
        )(self._recommend_batch)
        loop = asyncio.get_event_loop()
        if feed is not None:  # live events and new items from the Gateway replicas
            follower = FeedFollower(feed, "batch", self.service)
            self._follower = loop.create_task(follower.follow(settings.feed_interval_s))
        # The same registry and curation loop as the Gateway: promote, rollback and block
        # lists reach POST /v1/recommendations as they reach the GETs.
        self._watcher = loop.create_task(
            follow.watch(self.service, "BatchRecommender", self._settings, moderate)
        )
        follow.publish_versions(self.service)

    def _settings(self) -> Any:
        return _BatchSettings(self.args, self._service_config())

    def _service_config(self) -> ServiceConfig:
        return replace(self.args.service_config(), event_dir=None)

    async def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live knobs, as the Gateway takes them: model refs follow without a restart."""
        if not hasattr(self, "service"):
            return
        self.args = self.args.model_copy(update=user_config)
        follow.reload(self.service, "BatchRecommender", self._service_config())

    async def recommend(self, user_ids: list[str], k: int, filters: Filters) -> BatchAnswer:
        """Rows per user, and the model version that ranked them."""
        rows = await self._batched((tuple(user_ids), k, filters))
        mv = self.service.models.versions.get("model")
        return BatchAnswer(rows, mv.ref if mv else None, self.service.reload_status.to_json())

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
            # In chunks: one call's dense users x items scores stay bounded however many
            # requests (of up to 1,000 users each) were merged.
            step = users_per_call(len(self.service.models.model.item_ids_))
            rows = []
            for chunk in (users[i : i + step] for i in range(0, len(users), step)):
                # Through the module: the batched function is pickled by value, a metric
                # (lock) can't be.
                observability.BATCH_SIZE.observe(len(chunk))
                rows += self.service.recommend(chunk, k, filters=filters, explain_items=False)
            start = 0
            for n in members:
                size = len(requests[n][0])
                results[n] = rows[start : start + size]
                start += size
        return results
