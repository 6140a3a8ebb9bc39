"""The KubeRay RayService is generated from serve_config.yaml and cannot drift from it."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from deployments import kuberay
from deployments.launch import deployment_options, load_config
from deployments.settings import AppArgs

REPO = Path(__file__).resolve().parents[2]


def committed() -> dict:
    return yaml.safe_load(kuberay.RAYSERVICE.read_text())


def test_committed_file_is_the_generated_one():
    # Read at test time: adding a deployment to serve_config.yaml without regenerating fails.
    assert kuberay.RAYSERVICE.read_text() == kuberay.render(), (
        "deployments/kuberay/rayservice.yaml is stale: run `python -m deployments.kuberay`"
    )
    assert kuberay.main(["--check"]) == 0


def test_embedded_serve_config_is_serve_config_plus_named_overrides():
    embedded = yaml.safe_load(committed()["spec"]["serveConfigV2"])
    expected = copy.deepcopy(load_config())
    expected["http_options"].update(kuberay.K8S_HTTP)
    for app in expected["applications"]:
        app["args"].update(kuberay.K8S_ARGS)
    assert embedded == expected
    # Same deployments, replicas, autoscaling and resources as the Serve config.
    for ours, theirs in zip(load_config()["applications"], embedded["applications"], strict=True):
        assert deployment_options(ours) == deployment_options(theirs)
        AppArgs(**theirs["args"])  # the cluster's builder args are valid


def test_check_reports_drift(tmp_path: Path, capsys):
    config = load_config()
    config["applications"][0]["deployments"][0]["autoscaling_config"]["max_replicas"] = 99
    changed = tmp_path / "serve_config.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = tmp_path / "rayservice.yaml"
    out.write_text(kuberay.RAYSERVICE.read_text())
    assert kuberay.main(["--serve-config", str(changed), "--out", str(out), "--check"]) == 1
    assert "max_replicas: 99" in capsys.readouterr().err
    assert kuberay.main(["--serve-config", str(changed), "--out", str(out)]) == 0
    assert kuberay.main(["--serve-config", str(changed), "--out", str(out), "--check"]) == 0


def test_cluster_has_head_cpu_gpu_groups_autoscaling_and_token_auth():
    spec = committed()["spec"]["rayClusterConfig"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["rayVersion"] == "2.60.0"
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    assert groups["gpu"]["minReplicas"] == 0 < groups["gpu"]["maxReplicas"]
    assert groups["cpu"]["minReplicas"] <= groups["cpu"]["replicas"] < groups["cpu"]["maxReplicas"]
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu["nvidia.com/gpu"] == 1
    pods = [spec["headGroupSpec"], *groups.values()]
    for pod in pods:
        env = {e["name"]: e for e in pod["template"]["spec"]["containers"][0]["env"]}
        assert env["RAY_AUTH_MODE"]["value"] == "token"
        assert "secretKeyRef" in env["RAY_AUTH_TOKEN"]["valueFrom"]  # never inline


def test_dockerfile_pins_the_same_ray_and_python():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"rayproject/ray:{kuberay.RAY_VERSION}-py311" in dockerfile
    assert "ray[serve,train,tune]==" + kuberay.RAY_VERSION in (REPO / "pyproject.toml").read_text()
    assert "USER ray" in dockerfile
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", "artifacts", "runs"} <= set(ignored)


def test_shipped_import_path_is_a_builder_serve_deploy_accepts(tmp_path: Path):
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    from deployments.app import build_app

    args = load_config()["applications"][0]["args"]
    app = call_user_app_builder_with_args_if_necessary(
        build_app, {**args, "registry": str(tmp_path), "event_dir": None}
    )
    gateway = app._bound_deployment
    assert gateway.name == "Gateway" and gateway.init_args[0]["registry"] == str(tmp_path)
    batch, feed = (a._bound_deployment for a in gateway.init_args[1:])
    assert (batch.name, feed.name) == ("BatchRecommender", "LiveFeed")
    # The batch path follows the same curation as the Gateway: it holds the Moderator too.
    assert batch.init_args[2]._bound_deployment.name == "Moderator"
    composed = {k: v._bound_deployment.name for k, v in gateway.init_kwargs.items()}
    assert composed == {
        "generate_text": "TextGenerator",
        "generate_image": "ImageGenerator",
        "generate_music": "MusicGenerator",
        "analyze_text": "TextAnalyzer",
        "moderate": "Moderator",
        "insights": "Insights",
    }
