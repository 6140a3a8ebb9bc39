"""The Serve graph on two nodes via ``serve deploy``: autoscaling under a ramp, a replica killed."""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.loadgen import Load, failed, percentile_ms, retried, windows
from deployments.launch import load_config
from entertainai.serving.security import hash_key
from tests.cluster.cluster import SERVE, LocalCluster, free_port, record_figure
from tests.deployments.conftest import READ_KEY

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP, GATEWAY = "entertainai", "Gateway"
PATHS = [f"/v1/users/u{i:05d}/recommendations?k=5&explain=false" for i in range(1, 60)]

# Short delays so a ramp takes seconds (production values: serve_config.yaml, docs/operations.md).
RAMP_SCALING = {
    "min_replicas": 1,
    "max_replicas": 2,
    "target_ongoing_requests": 1,
    "upscale_delay_s": 1,
    "downscale_delay_s": 4,
    "look_back_period_s": 2,
}


def cluster_serve_config(
    base: dict[str, Any], port: int, args: dict[str, str], scaling: dict
) -> dict:
    """serve_config.yaml with the test's ports, paths, tiny CPUs and short autoscaling delays."""
    config = copy.deepcopy(base)
    # One proxy: every node here shares 127.0.0.1, so per-node proxies would fight for the port.
    config["proxy_location"] = "HeadOnly"
    config["http_options"] = {"host": "127.0.0.1", "port": port, "request_timeout_s": 30}
    app = config["applications"][0]
    app["args"].update(args)
    for deployment in app["deployments"]:
        deployment["ray_actor_options"]["num_cpus"] = 0.1
        deployment.get("user_config", {})["reload_interval_s"] = 1
    gateway = next(d for d in app["deployments"] if d["name"] == GATEWAY)
    gateway["autoscaling_config"] = dict(scaling)
    gateway["max_replicas_per_node"] = 1  # so two replicas means two nodes
    return config


def running(cluster: LocalCluster) -> list[dict[str, Any]]:
    return [r for r in cluster.serve_replicas(APP, GATEWAY) if r.get("state") == "RUNNING"]


def deploy(cluster: LocalCluster, config: dict[str, Any], path: Path) -> None:
    path.write_text(yaml.safe_dump(config))
    out = cluster.run([SERVE, "deploy", str(path), "--address", cluster.address], 120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def app_running(cluster: LocalCluster) -> bool:
    try:
        apps = cluster.get("/api/serve/applications/").get("applications") or {}
    except (OSError, ValueError):
        return False
    return (apps.get(APP) or {}).get("status") == "RUNNING"


class ReplicaSampler:
    """Records (t, running Gateway replicas, their nodes) every ``every`` seconds."""

    def __init__(self, cluster: LocalCluster, t0: float, every: float = 0.5) -> None:
        self.cluster, self.t0, self.every = cluster, t0, every
        self.timeline: list[tuple[float, int, list[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            replicas = running(self.cluster)
            names = self.cluster.node_names() if replicas else {}
            nodes = sorted(names.get(r["node_id"], "?") for r in replicas)
            self.timeline.append((round(time.monotonic() - self.t0, 1), len(replicas), nodes))
            self._stop.wait(self.every)

    def stop(self) -> list[tuple[float, int, list[str]]]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.timeline


@pytest.fixture(scope="module")
def served(
    cluster: LocalCluster, served_registry: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("serve-cluster")
    keys = root / "keys.json"  # replicas don't inherit the test's env: keys come from a file
    keys.write_text(
        json.dumps([{"name": "reader", "scopes": ["read"], "sha256": hash_key(READ_KEY)}])
    )
    port = free_port()
    args = {
        "registry": str(served_registry),
        "event_dir": str(root / "events"),
        "api_keys_file": str(keys),
        "rate_limit_per_s": 100000,
        "rate_limit_burst": 100000,
    }
    config = cluster_serve_config(load_config(), port, args, RAMP_SCALING)
    deploy(cluster, config, root / "serve.yaml")
    cluster.wait(lambda: app_running(cluster) and len(running(cluster)) == 1, 300, "Serve app")
    yield {"config": config, "port": port, "root": root}
    cluster.run([SERVE, "shutdown", "--yes", "--address", cluster.address], 120)


def load(port: int, **kwargs: Any) -> Load:
    return Load("127.0.0.1", port, PATHS, {"x-api-key": READ_KEY}, **kwargs)


def test_autoscaling_ramp_scales_up_across_nodes_and_back_down(cluster: LocalCluster, served):
    t0 = time.monotonic()
    sampler = ReplicaSampler(cluster, t0)
    time.sleep(2)  # baseline at the minimum
    traffic = load(served["port"], concurrency=6, max_seconds=200).start()
    load_started = time.monotonic() - t0
    deadline = time.monotonic() + 180  # a new replica loads the model: slow on a busy machine
    while time.monotonic() < deadline and not any(n == 2 for _, n, _ in sampler.timeline):
        time.sleep(0.5)
    scaled_at = time.monotonic() - t0
    time.sleep(4)  # a few seconds at two replicas
    samples = traffic.stop()
    load_stopped = time.monotonic() - t0
    cluster.wait(lambda: len(running(cluster)) == 1, 90, "downscale to the minimum")
    time.sleep(1)
    timeline = sampler.stop()

    peak = max(n for _, n, _ in timeline)
    spread = next((nodes for _, n, nodes in timeline if n == 2), [])
    figure = {
        "config": RAMP_SCALING,
        "load": {"clients": 6, "started_s": round(load_started, 1), "stopped_s": load_stopped},
        "scaled_to_2_at_s": round(scaled_at, 1),
        "replicas_over_time": [(t, n) for t, n, _ in timeline],
        "nodes_at_peak": spread,
        "latency_windows_2s": windows(samples, 2.0),
        "requests": len(samples),
        "failed_after_retry": failed(samples),
        "p50_ms": round(percentile_ms(samples, 50), 1),
        "p95_ms": round(percentile_ms(samples, 95), 1),
    }
    record_figure("autoscaling_ramp", figure)
    assert timeline[0][1] == 1 and peak == 2, figure
    assert len(set(spread)) == 2 and "head" in spread, figure  # replicas on both nodes
    assert timeline[-1][1] == 1  # back at the minimum after the load stopped
    assert failed(samples) == 0, figure


def test_killed_replica_under_load_recovers_without_client_failures(cluster: LocalCluster, served):
    # An upgrade in place (serve deploy again): two replicas minimum, one per node.
    config = copy.deepcopy(served["config"])
    gateway = config["applications"][0]["deployments"][0]
    gateway["autoscaling_config"] = {**RAMP_SCALING, "min_replicas": 2, "max_replicas": 2}
    deploy(cluster, config, served["root"] / "serve-2.yaml")
    cluster.wait(lambda: len(running(cluster)) == 2 and app_running(cluster), 180, "2 replicas")

    t0 = time.monotonic()
    sampler = ReplicaSampler(cluster, t0, every=0.25)
    traffic = load(served["port"], concurrency=4, max_seconds=120).start()
    time.sleep(3)
    victim = next(r for r in running(cluster))
    killed_at = time.monotonic()
    os.kill(victim["pid"], signal.SIGKILL)  # a replica process of our own cluster

    def replaced() -> bool:
        ids = {r["replica_id"] for r in running(cluster)}
        return len(ids) == 2 and victim["replica_id"] not in ids

    cluster.wait(replaced, 120, "a replacement replica", every=0.25)
    recovery_s = time.monotonic() - killed_at
    time.sleep(3)  # serve a little on the replacement too
    samples = traffic.stop()
    timeline = sampler.stop()
    kill_t = killed_at - t0
    after = [s for s in samples if s.t >= kill_t]
    figure = {
        "killed_replica_node": cluster.node_names().get(victim["node_id"], "?"),
        "requests": len(samples),
        "requests_after_kill": len(after),
        "retried": retried(samples),
        "failed_after_retry": failed(samples),
        "recovery_s": round(recovery_s, 1),
        "kill_at_s": round(kill_t, 1),
        "replicas_over_time": [(t, n) for t, n, _ in timeline],
        "latency_windows_1s": windows(samples, 1.0),
    }
    record_figure("replica_kill", figure)
    assert len(after) > 0
    assert failed(samples) == 0, figure  # retries hide the dead replica from clients
    assert recovery_s < 120
