"""The ingress deployment: FastAPI on Serve, answering the hot path in-replica.

Recommendations, similar items, trending, events and curation run here with the models loaded
in this replica (no handle hop: each costs ~1 ms of CPU). Heavier capabilities are composed
through ``DeploymentHandle``s passed into ``.bind()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.concurrency import run_in_threadpool

from deployments import follow
from deployments.api import create_app
from deployments.autoscaling import CPU_METRIC, CpuMeter
from deployments.feed import FeedFollower
from deployments.observability import configure_json_logging
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.serving.security import replica_share

log = logging.getLogger(__name__)


def replica_id() -> str:
    """This replica's unique id, naming it on the live feed (local testing mode has no
    replica context). Not its event log's name: a restarted replica gets a new id, while its
    log is found again by node and slot (``entertainai.serving.event_log.open_slot``)."""
    try:
        return serve.get_replica_context().replica_id.unique_id
    except Exception:  # RayServeException outside a real replica
        return f"local-{os.getpid()}"


def serve_replicas() -> int:
    """How many Gateway replicas share the traffic: ``max_replicas`` when autoscaling (a key
    then never gets more than the cluster limit, less while scaled down), else
    ``num_replicas``; 1 outside Serve."""
    try:
        context = serve.get_replica_context()
    except Exception:  # RayServeException outside a real replica
        return 1
    config = getattr(context, "_deployment_config", None)
    autoscaling = getattr(config, "autoscaling_config", None)
    if autoscaling is not None and getattr(autoscaling, "max_replicas", None):
        return int(autoscaling.max_replicas)
    return max(1, int(getattr(context, "world_size", 1) or 1))


def limit_share(args: AppArgs, replicas: int | None = None) -> tuple[float, int]:
    """This replica's (rate, burst): the cluster-wide per-key limit over the replica count
    (``rate_limit_replicas`` if set, else ``replicas``, else Serve's)."""
    count = args.rate_limit_replicas or replicas or serve_replicas()
    return replica_share(args.rate_limit_per_s, args.rate_limit_burst, count)


@serve.deployment(name="Gateway")
@serve.ingress()  # late-bound: each replica builds its own app in __serve_build_asgi_app__
class Gateway:
    def __init__(
        self,
        args: dict[str, Any],
        batch: DeploymentHandle | None = None,
        feed: DeploymentHandle | None = None,
        **capabilities: DeploymentHandle,
    ) -> None:
        """``capabilities``: capability name (see ``deployments.app.CAPABILITIES``) -> handle."""
        configure_json_logging()
        self.args = AppArgs(**args)
        replica = f"gateway-{replica_id()}"
        self.state = GatewayState.build(self.args, batch=batch)  # log: <host>-<slot>
        self.state.capabilities.update(capabilities)
        self.state.limiter.reconfigure(*limit_share(self.args))
        self._cpu = CpuMeter()
        loop = asyncio.get_event_loop()
        self._watcher = loop.create_task(self._watch_registry())
        if feed is not None:
            self.state.feed = FeedFollower(feed, replica, self.state.service)
            self._follower = loop.create_task(self.state.feed.follow(self.args.feed_interval_s))

    def __serve_build_asgi_app__(self) -> FastAPI:
        """The replica's own FastAPI app (a module-level app would be frozen at import)."""
        # Serve's own HTTP servers (proxy and direct ingress) echo x-request-id on every
        # response; echoing it here too sent the header twice.
        app = create_app(self.args.max_body_bytes, echo_request_id=False, web_app=self.args.web_app)
        app.state.gateway = self.state
        return app

    async def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live knobs (``user_config``): model refs and reload cadence; applied without restart."""
        if not hasattr(self, "state"):
            return
        self.args = self.args.model_copy(update=user_config)
        self.state.args = self.args
        self.state.limiter.reconfigure(*limit_share(self.args))  # new limits apply at once
        await run_in_threadpool(self.state.reload_if_changed)

    async def _watch_registry(self) -> None:
        """Follow registry aliases and curation: ``models promote`` takes effect within seconds."""
        await follow.watch(
            self.state.service,
            "Gateway",
            lambda: self.args,
            self.state.capabilities.get("moderate"),
            extra=self._tick,
        )

    def _tick(self) -> None:
        """Each registry poll: erasures, and the limit share for the current replica count
        (Serve changes num_replicas without calling ``reconfigure``, and updates the replica
        context only after it)."""
        self.state.limiter.reconfigure(*limit_share(self.args))
        self.state.apply_erasures()

    def record_autoscaling_stats(self) -> dict[str, float]:
        """Cores this replica used since the last call, for ``CpuAwarePolicy``."""
        return {CPU_METRIC: self._cpu.read()}

    def check_health(self) -> None:
        if self.state.service.models.model is None:
            raise RuntimeError("no model loaded")
