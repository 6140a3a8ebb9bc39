"""The Serve graph in local testing mode: composition, batching, and the shipped config (the real
HTTP deploy, both entrances, is tests/deployments/test_direct_ingress.py)."""

from __future__ import annotations

from pathlib import Path

from ray import serve

from deployments.app import build_app
from deployments.batch import BatchRecommender
from deployments.launch import deployment_options, load_config
from deployments.settings import AppArgs
from entertainai.recommend.filters import Filters


def test_batch_deployment_merges_requests_in_local_testing_mode(
    served_registry: Path, api_keys, monkeypatch
):
    # Ray 2.60's batch queue asks for the replica context to print a sizing warning, which
    # local testing mode does not provide; skip only that warning.
    from ray.serve import batching

    monkeypatch.setattr(
        batching._BatchQueue,
        "_warn_if_max_batch_size_exceeds_max_ongoing_requests",
        lambda self: None,
    )
    args = AppArgs(registry=str(served_registry), event_dir=None)
    handle = serve.run(BatchRecommender.bind(args.model_dump()), _local_testing_mode=True)
    calls = [
        handle.recommend.remote(["u00001", "u00002"], 4, Filters()),
        handle.recommend.remote(["nobody"], 4, Filters()),
        handle.recommend.remote(["u00003"], 2, Filters(include_genres=("Comedy",))),
    ]
    answers = [c.result() for c in calls]
    assert {a.model for a in answers} == {"hybrid@1"}  # answers name the version that ranked
    results = [a.rows for a in answers]
    assert [len(r) for r in results] == [2, 1, 1]
    assert [len(rows) for rows in results[0]] == [4, 4] and len(results[2][0]) == 2
    assert all("Comedy" in item.genres for item in results[2][0])


def test_gateway_builds_in_local_testing_mode(served_registry: Path, tmp_path: Path, api_keys):
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    handle = serve.run(
        build_app(args), _local_testing_mode=True
    )  # builds both replicas and the app
    assert handle.deployment_name == "Gateway"


def test_shipped_config_is_safe_and_fits_two_cpus():
    config = load_config()
    assert config["http_options"]["host"] == "127.0.0.1"
    app = config["applications"][0]
    assert app["import_path"] == "deployments.app:build_app"
    options = deployment_options(app)
    from deployments.app import CAPABILITIES

    assert set(options) == {"Gateway", "BatchRecommender", "LiveFeed"} | {
        d.name for d in CAPABILITIES.values()
    }
    # The live feed is one replica by design: its log's order is the order every replica sees.
    feed = options.pop("LiveFeed")
    assert feed["num_replicas"] == 1 and "autoscaling_config" not in feed
    total_cpus = feed["ray_actor_options"]["num_cpus"]
    for name, opts in options.items():
        cpus = opts["ray_actor_options"]["num_cpus"]
        assert cpus <= 0.5, name
        scaling = opts["autoscaling_config"]
        assert (
            1 <= scaling["min_replicas"] < scaling["max_replicas"]
            and scaling["target_ongoing_requests"] > 0
        )
        total_cpus += cpus * scaling["min_replicas"]
    assert total_cpus <= 1.5  # the whole graph at its minimum leaves room for a job
    AppArgs(**app["args"])  # the shipped args are valid builder args
