"""Generate ``deployments/kuberay/rayservice.yaml`` from ``deployments/serve_config.yaml``.

    python -m deployments.kuberay            # rewrite rayservice.yaml
    python -m deployments.kuberay --check    # exit 1 when the committed file has drifted

The RayService's ``serveConfigV2`` is the Serve config file itself with a few, named,
Kubernetes-only overrides (``K8S_OVERRIDES``): the proxy listens on the pod address and paths
point at the object store, volume and secret mounts. Everything else (deployments, replicas,
autoscaling, resources) comes from the one Serve config, so the two cannot drift.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from deployments.ingress_hints import PROXY_CALLBACK, PROXY_CALLBACK_ENV

HERE = Path(__file__).resolve().parent
SERVE_CONFIG = HERE.parent / "serve_config.yaml"
RAYSERVICE = HERE / "rayservice.yaml"

RAY_VERSION = "2.60.0"
IMAGE = "entertainai:0.1.0"  # built from the repository's Dockerfile
# Names of Kubernetes Secrets (not secrets): the values never live in this repository.
TOKEN_SECRET = "entertainai-ray-token"  # nosec B105
KEYS_SECRET = "entertainai-api-keys"  # nosec B105

# Serve config -> cluster: only these keys differ, and the drift test asserts exactly that.
# The proxy must bind the pod IP for the Kubernetes Service to reach it (the Service, not the
# pod, is what is exposed); the registry lives in object storage shared by every pod.
# (Inside the pod; what is exposed is the Service's job.)
K8S_HTTP = {"host": "0.0.0.0"}  # nosec B104
K8S_ARGS = {
    "registry": "s3://entertainai-artifacts/registry",
    "event_dir": "/mnt/events",
    "api_keys_file": "/etc/entertainai/api_keys.json",
}


def serve_config_v2(serve_config: dict[str, Any]) -> dict[str, Any]:
    """The Serve config as the cluster runs it: ``serve_config`` plus ``K8S_*`` overrides."""
    config = copy.deepcopy(serve_config)
    config.setdefault("http_options", {}).update(K8S_HTTP)
    for app in config["applications"]:
        app.setdefault("args", {}).update(K8S_ARGS)
    return config


def _env() -> list[dict[str, Any]]:
    return [
        {"name": "RAY_AUTH_MODE", "value": "token"},
        {
            "name": "RAY_AUTH_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}},
        },
        {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
        {"name": "ENTERTAINAI_ARTIFACTS", "value": K8S_ARGS["registry"]},
        # Serve's proxy reads its callback (strip client hint headers) from the pod's env only.
        {"name": PROXY_CALLBACK_ENV, "value": PROXY_CALLBACK},
    ]


def _container(name: str, cpu: str, memory: str, gpus: int = 0, ports: bool = False) -> dict:
    limits: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if gpus:
        limits["nvidia.com/gpu"] = gpus
    container: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "env": _env(),
        "resources": {"requests": dict(limits), "limits": limits},
        "volumeMounts": [
            {"name": "events", "mountPath": K8S_ARGS["event_dir"]},
            {"name": "api-keys", "mountPath": "/etc/entertainai", "readOnly": True},
        ],
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "ray stop"]}}},
    }
    if ports:
        container["ports"] = [
            {"containerPort": 6379, "name": "gcs-server"},
            {"containerPort": 8265, "name": "dashboard"},
            {"containerPort": 10001, "name": "client"},
            {"containerPort": 8000, "name": "serve"},
            {"containerPort": 8080, "name": "metrics"},
        ]
    # Ray's object store lives in /dev/shm; the container default (64 MiB) is too small.
    container["volumeMounts"].append({"name": "dshm", "mountPath": "/dev/shm"})  # nosec B108
    return container


def _pod(container: dict[str, Any], gpu: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [
            {"name": "events", "emptyDir": {}},  # production: a PersistentVolumeClaim per node
            {"name": "api-keys", "secret": {"secretName": KEYS_SECRET}},
            {"name": "dshm", "emptyDir": {"medium": "Memory"}},
        ],
    }
    if gpu:
        spec["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    return {"spec": spec}


def rayservice(serve_config: dict[str, Any]) -> dict[str, Any]:
    """The RayService resource: Serve graph + a head and CPU/GPU worker groups, autoscaled."""
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "entertainai", "labels": {"app": "entertainai"}},
        "spec": {
            "serveConfigV2": yaml.safe_dump(serve_config_v2(serve_config), sort_keys=False),
            "rayClusterConfig": {
                "rayVersion": RAY_VERSION,
                # The in-tree autoscaler adds worker pods when Serve replicas, Train workers
                # or Tune trials cannot be placed, and removes them after idleTimeoutSeconds.
                "enableInTreeAutoscaling": True,
                "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": 300},
                "headGroupSpec": {
                    # The head runs the GCS, dashboard and Serve controller; no replicas or
                    # training (num-cpus 0), as in cluster.yaml.
                    # Pod address; reached through `kubectl port-forward`, never a public Service.
                    "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},  # nosec B104
                    "template": _pod(_container("ray-head", "2", "8Gi", ports=True)),
                },
                "workerGroupSpecs": [
                    {
                        "groupName": "cpu",
                        "replicas": 1,
                        "minReplicas": 1,
                        "maxReplicas": 8,
                        "rayStartParams": {},
                        "template": _pod(_container("ray-worker", "8", "32Gi")),
                    },
                    {
                        "groupName": "gpu",
                        "replicas": 0,
                        "minReplicas": 0,
                        "maxReplicas": 2,
                        "rayStartParams": {"num-gpus": "1"},
                        "template": _pod(_container("ray-worker", "8", "32Gi", gpus=1), gpu=True),
                    },
                ],
            },
        },
    }


class _Literal(str):
    """A multi-line string dumped as a YAML block, so serveConfigV2 reads like the config."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)

HEADER = """\
# GENERATED by `python -m deployments.kuberay` from deployments/serve_config.yaml: do not edit.
# kubectl create secret generic entertainai-ray-token --from-literal=token=$(openssl rand -hex 32)
# kubectl create secret generic entertainai-api-keys --from-file=api_keys.json
# kubectl apply -f deployments/kuberay/rayservice.yaml     (KubeRay operator >= 1.3)
"""


def render(serve_config_path: Path = SERVE_CONFIG) -> str:
    """The rayservice.yaml text generated from the Serve config file."""
    resource = rayservice(yaml.safe_load(serve_config_path.read_text()))
    resource["spec"]["serveConfigV2"] = _Literal(resource["spec"]["serveConfigV2"])
    return HEADER + yaml.dump(resource, Dumper=_Dumper, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.kuberay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--serve-config", type=Path, default=SERVE_CONFIG)
    parser.add_argument("--out", type=Path, default=RAYSERVICE)
    parser.add_argument("--check", action="store_true", help="fail if --out differs; write nothing")
    args = parser.parse_args(argv)
    text = render(args.serve_config)
    current = args.out.read_text() if args.out.exists() else ""
    if args.check:
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), str(args.out), "generated", lineterm=""
        )
        print("\n".join(diff), file=sys.stderr)
        print(f"{args.out} is stale: run `python -m deployments.kuberay`", file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0
