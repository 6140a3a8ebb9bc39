"""What every replica that serves recommendations does on each watch tick: follow the registry
(promote/rollback) and the curation block list. The Gateway and the BatchRecommender run the
same loop, so one API never answers from two models."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool

from deployments.observability import MODEL_VERSION, RELOAD_REFUSED, RELOADS
from entertainai.errors import EntertainAIError
from entertainai.serving.service import RecommendationService, ServiceConfig

log = logging.getLogger(__name__)


def reload(service: RecommendationService, deployment: str, config: ServiceConfig) -> bool:
    """One reload check (the core decides); counts and exports the outcome."""
    outcome = service.reload_if_changed(config)
    if outcome == "swapped":
        RELOADS.labels("swapped").inc()
        publish_versions(service)
    elif outcome == "refused":
        RELOADS.labels("failed").inc()
    RELOAD_REFUSED.labels(deployment).set(1.0 if service.reload_status.refused else 0.0)
    return outcome == "swapped"


def publish_versions(service: RecommendationService) -> None:
    for role, mv in service.models.versions.items():
        if mv is not None:
            MODEL_VERSION.labels(role, mv.name).set(mv.version)


async def refresh_curation(
    service: RecommendationService, moderator: Any, dataset: str | None
) -> bool:
    """Fetch the moderation block list of ``dataset`` (cached by the Moderator per dataset
    and model version); until a moderation model exists nothing is blocked."""
    if moderator is None or not dataset:
        return False
    try:
        result = await moderator.curation.remote(dataset)
    except EntertainAIError as exc:  # e.g. no moderation model trained yet
        log.info("curation unavailable: %s", exc)
        return False
    except Exception:
        log.exception("curation failed; keeping the current block list")
        return False
    return service.set_blocked(result["blocked_items"])


async def watch(
    service: RecommendationService,
    deployment: str,
    settings: Any,
    moderator: Any = None,
    extra: Any = None,
) -> None:
    """Every ``reload_interval_s``: reload, ``extra()`` (e.g. erasures), curation.

    ``settings`` is read on every tick (an ``AppArgs`` holder), so live ``user_config``
    changes to refs and cadence apply without a restart."""
    while True:
        args = settings()
        await asyncio.sleep(args.reload_interval_s)
        try:
            await run_in_threadpool(reload, service, deployment, args.service_config())
        except Exception:  # never let the watcher die: the next tick retries
            log.exception("registry check failed")
        if extra is not None:
            try:
                await run_in_threadpool(extra)
            except Exception:  # storage hiccup: retried on the next tick
                log.exception("replica maintenance failed")
        await refresh_curation(service, moderator, args.curation_dataset)
