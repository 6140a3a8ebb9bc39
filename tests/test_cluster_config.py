"""cluster.yaml must pass Ray's own cluster-launcher validation and keep its promises."""

from __future__ import annotations

from pathlib import Path

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_YAML = Path(__file__).resolve().parents[1] / "cluster.yaml"


def load() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def test_validates_with_ray_schema():
    config = load()
    validate_config(config)
    validate_config(prepare_config(config))


def test_node_types_autoscale_cpu_and_gpu():
    types = load()["available_node_types"]
    assert {"head", "cpu_worker", "gpu_worker"} <= set(types)
    assert types["gpu_worker"]["min_workers"] == 0 < types["gpu_worker"]["max_workers"]
    assert types["cpu_worker"]["max_workers"] > types["cpu_worker"]["min_workers"]


def test_installs_project_and_keeps_token_auth():
    config = load()
    assert any("pip install" in c and "entertainai" in c for c in config["setup_commands"])
    for cmd in config["head_start_ray_commands"] + config["worker_start_ray_commands"]:
        if "ray start" in cmd:
            assert "RAY_AUTH_MODE=token" in cmd
            # Serve's proxy strips client hint headers only with the callback in node env.
            assert "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH=deployments.ingress_hints:" in cmd
