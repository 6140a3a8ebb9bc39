"""The Serve graph itself: local testing mode for the composition, one real HTTP deploy."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from ray import serve

from deployments.app import build_app
from deployments.batch import BatchRecommender
from deployments.launch import app_args, deployment_options, load_config, start
from deployments.settings import AppArgs
from entertainai.recommend.filters import Filters
from entertainai.serving.security import hash_key
from tests.deployments.conftest import READ_KEY, WRITE_KEY


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
    results = [c.result() for c in calls]
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_real_deploy_over_http(ray_session, served_registry: Path, tmp_path: Path):
    # Replicas are separate processes: keys reach them through a (hashed) secrets file.
    secrets = tmp_path / "keys.json"
    secrets.write_text(
        json.dumps(
            [
                {"name": "reader", "scopes": ["read"], "sha256": hash_key(READ_KEY)},
                {
                    "name": "writer",
                    "scopes": ["read", "write-events"],
                    "sha256": hash_key(WRITE_KEY),
                },
            ]
        )
    )
    config = load_config()
    overrides = {
        "registry": str(served_registry),
        "event_dir": str(tmp_path / "ev"),
        "api_keys_file": str(secrets),
    }
    args = app_args(config["applications"][0], overrides)
    url = start(args, config, port=free_port())
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            assert http.get("/v1/trending").status_code == 401
            r = http.get("/v1/users/u00001/recommendations?k=3", headers={"x-api-key": READ_KEY})
            assert r.status_code == 200 and len(r.json()["items"]) == 3
            first = r.json()["items"][0]["item_id"]
            ev = {"events": [{"user_id": "u00001", "item_id": first, "event_type": "play"}]}
            assert (
                http.post("/v1/events", json=ev, headers={"x-api-key": WRITE_KEY}).status_code
                == 202
            )
            again = http.get(
                "/v1/users/u00001/recommendations?k=3", headers={"x-api-key": READ_KEY}
            ).json()
            assert first not in [i["item_id"] for i in again["items"]]
            assert (
                http.get(
                    "/v1/users/u00001/recommendations?k=0", headers={"x-api-key": READ_KEY}
                ).status_code
                == 422
            )
            assert "entertainai_requests_total" in http.get("/metrics").text
            assert http.get("/docs").status_code == 200
    finally:
        serve.shutdown()
