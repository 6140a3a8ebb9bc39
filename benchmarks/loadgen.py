"""A bounded, threaded HTTP load client with retries and per-request timestamps.

Used by the cluster tests (autoscaling ramp, replica kill) and by ``benchmarks/autoscaling.py``
and ``benchmarks/soak.py``. Every loop is bounded in time and count, and it only talks to
loopback addresses. ``http.client`` keeps it light: on a 2-core machine the client shares the
CPU with the servers it measures.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from dataclasses import dataclass, field

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the load started, at the request's end
    latency_s: float  # first attempt's start to the final answer, retries included
    status: int  # final status; 0 = no answer (connection refused, reset, timeout)
    attempts: int


@dataclass
class Load:
    """``concurrency`` closed-loop clients GETting ``paths`` until ``stop()`` or the bounds."""

    host: str
    port: int
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 4
    retries: int = 2  # a failed attempt (5xx or no answer) is retried, as a real client would
    timeout_s: float = 10.0
    max_seconds: float = 120.0
    max_requests: int = 200_000
    think_s: float = 0.0  # pause between a client's requests (moderate load for soaks)
    seed: int = 0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK:
            raise ValueError(f"load only against loopback, not {self.host}")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> Load:
        self.started = time.monotonic()
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._client, args=(self.seed + i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s * (self.retries + 1) + 5)
        return list(self.samples)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _done(self) -> bool:
        return (
            self._stop.is_set()
            or self.elapsed() > self.max_seconds
            or len(self.samples) >= self.max_requests
        )

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        conn: http.client.HTTPConnection | None = None
        while not self._done():
            path = self.paths[rng.randrange(len(self.paths))]
            start = time.monotonic()
            status, attempts = 0, 0
            while attempts <= self.retries and not self._stop.is_set():
                attempts += 1
                try:
                    conn = conn or http.client.HTTPConnection(
                        self.host, self.port, timeout=self.timeout_s
                    )
                    conn.request("GET", path, headers=self.headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0
                    if conn is not None:
                        conn.close()
                    conn = None
                if 0 < status < 500:
                    break
                time.sleep(0.1 * attempts)  # back off, then retry (on another replica)
            end = time.monotonic()
            with self._lock:
                self.samples.append(Sample(end - self.started, end - start, status, attempts))
            if self.think_s:
                time.sleep(self.think_s)
        if conn is not None:
            conn.close()


def failed(samples: list[Sample]) -> int:
    """Requests that still failed after their retries (what a client would see)."""
    return sum(1 for s in samples if not 0 < s.status < 500)


def retried(samples: list[Sample]) -> int:
    return sum(1 for s in samples if s.attempts > 1)


def windows(samples: list[Sample], width_s: float) -> list[dict[str, float]]:
    """Per time window: requests, rps, p50/p95 latency in ms, failures."""
    if not samples:
        return []
    out = []
    end = max(s.t for s in samples)
    lo = 0.0
    while lo <= end:
        chunk = [s for s in samples if lo <= s.t < lo + width_s]
        if chunk:
            lat = np.array([s.latency_s for s in chunk]) * 1000
            out.append(
                {
                    "t": round(lo, 1),
                    "requests": len(chunk),
                    "rps": round(len(chunk) / width_s, 1),
                    "p50_ms": round(float(np.percentile(lat, 50)), 1),
                    "p95_ms": round(float(np.percentile(lat, 95)), 1),
                    "failed": failed(chunk),
                }
            )
        lo += width_s
    return out


def percentile_ms(samples: list[Sample], q: float) -> float:
    if not samples:
        return float("nan")
    return float(np.percentile([s.latency_s for s in samples], q) * 1000)


# ---- a private local Serve graph to put load on ------------------------------------------------

KEY = "loadgen-key-0123456789abcdef"


def local_graph(
    root: str,
    *,
    n_users: int,
    gateway: dict | None = None,
    num_cpus: int = 2,
    registry: str | None = None,
) -> tuple[int, list[str]]:
    """Demo data + EASE on a private local Ray, the shipped Serve config with ``gateway``
    options over the Gateway's; returns (port, request paths). Caller: ``stop_local_graph()``."""
    import json
    import os
    import socket
    from pathlib import Path

    import ray

    from benchmarks.serve_load import prepare_registry
    from deployments.launch import app_args, load_config, start
    from entertainai.serving.security import hash_key

    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    registry = registry or str(prepare_registry(base, n_users))
    keys = base / "keys.json"
    keys.write_text(json.dumps([{"name": "load", "scopes": ["admin"], "sha256": hash_key(KEY)}]))
    config = load_config()
    app = config["applications"][0]
    for d in app["deployments"]:
        if d["name"] == "Gateway" and gateway:
            d.update(gateway)
    settings = app_args(
        app,
        {
            "registry": registry,
            "model": "ease@production",
            "trending": "trending@production",
            "event_dir": str(base / "events"),
            "api_keys_file": str(keys),
            "rate_limit_per_s": 1e9,
            "rate_limit_burst": 10**9,
        },
    )
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Autoscaling decisions need fresh metrics: push every 0.5 s instead of 10 s.
    os.environ.setdefault("RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S", "0.5")
    os.environ.setdefault("RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S", "0.5")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start(settings, config, port=port)
    paths = [f"/v1/users/u{n:05d}/recommendations?k=10" for n in range(0, n_users, 7)]
    return port, paths


def stop_local_graph() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def gateway_replicas() -> int:
    """RUNNING Gateway replicas of the local graph (Serve's own status)."""
    from ray import serve

    app = serve.status().applications.get("entertainai")
    if app is None or "Gateway" not in app.deployments:
        return 0
    return app.deployments["Gateway"].replica_states.get("RUNNING", 0)
