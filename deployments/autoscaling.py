"""Gateway autoscaling on CPU as well as on ongoing requests.

Serve's default policy scales on ongoing requests. Through direct ingress a Gateway answers the
hot GETs synchronously (well under a millisecond, nothing awaited), so when Serve samples the
count there is hardly ever one in flight: the queue waits in the socket, where Serve cannot see
it. Measured: one replica saturated at ~2,000 requests/s by 16 connections for 50 s never asked
for a second. So each Gateway replica also reports the share of a core its process used
(``Gateway.record_autoscaling_stats``), and ``CpuAwarePolicy`` asks for enough replicas to keep
that at ``target_cpu`` each, or for what the default policy wants (traffic queued at handles and
the proxy), whichever is more. Serve still applies min/max, the delays and the scaling factors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ray.serve.autoscaling_policy import replica_queue_length_autoscaling_policy
from ray.serve.config import AutoscalingContext

CPU_METRIC = "cpu_cores"


class CpuMeter:
    """Cores this process used between two readings (1.0 = one core busy all the time)."""

    def __init__(
        self,
        cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cpu, self._clock = cpu, clock
        self._last = (cpu(), clock())

    def read(self) -> float:
        cpu, now = self._cpu(), self._clock()
        last_cpu, last_now = self._last
        self._last = (cpu, now)
        return max(cpu - last_cpu, 0.0) / (now - last_now) if now > last_now else 0.0


class CpuAwarePolicy:
    """``autoscaling_config.policy`` of the Gateway (``policy_kwargs``: ``target_cpu``)."""

    def __init__(self, target_cpu: float = 0.6) -> None:
        if not target_cpu > 0:
            raise ValueError(f"target_cpu must be positive, got {target_cpu}")
        self.target_cpu = target_cpu

    def __call__(self, ctx: AutoscalingContext) -> tuple[float, dict[str, Any]]:
        desired, state = replica_queue_length_autoscaling_policy(ctx)
        running = set(ctx.running_replicas)
        cores = (ctx.aggregated_metrics or {}).get(CPU_METRIC) or {}
        used = sum(v for replica, v in cores.items() if replica in running)
        if ctx.current_num_replicas > 0 and used > 0:
            desired = max(desired, used / self.target_cpu)
        return desired, state
