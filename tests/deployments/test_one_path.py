"""One API, one model, one path: the offline pipeline, GET and POST give the same lists, and a
refused reload is loud and explained (WARNING, /readyz, /v1/models, metric)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ray import serve

from deployments.api import create_app
from deployments.batch import BatchRecommender
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.model import load_model
from entertainai.recommend.filters import Filters
from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}
USERS = ["u00001", "u00002", "u00007", "somebody-new"]


@pytest.fixture()
def own_registry(served_registry: Path, tmp_path: Path) -> Path:
    """A copy: these tests move aliases and add versions."""
    root = tmp_path / "registry"
    shutil.copytree(served_registry, root)
    return root


@pytest.fixture()
def client(own_registry: Path, tmp_path: Path, api_keys) -> Iterator[TestClient]:
    args = AppArgs(
        registry=str(own_registry),
        event_dir=str(tmp_path / "events"),
        capabilities=["generate_text"],
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    app.state.gateway.capabilities["generate_text"] = object()  # composed, model not trained
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def exported() -> str:
    from deployments.observability import metrics_response

    return metrics_response().body.decode()


def offline(registry: Path, k: int) -> list[list[str]]:
    model = load_model(Registry(str(registry)).local_path("hybrid@production"))
    recs = model.recommend(USERS, k=k, filters=Filters())
    return [[i for i, _ in recs.row(r)] for r in range(len(USERS))]


def test_offline_get_and_post_return_identical_lists(client, own_registry: Path):
    want = offline(own_registry, 6)
    got = [
        [i["item_id"] for i in client.get(f"/v1/users/{u}/recommendations?k=6", headers=R).json()[
            "items"
        ]]
        for u in USERS
    ]  # fmt: skip
    posted = client.post("/v1/recommendations", json={"user_ids": USERS, "k": 6}, headers=R)
    assert posted.status_code == 200
    batch = [[i["item_id"] for i in r["items"]] for r in posted.json()["results"]]
    assert got == want and batch == want


def test_batch_deployment_answers_like_the_offline_pipeline(own_registry: Path, api_keys, monkeypatch):
    from ray.serve import batching

    monkeypatch.setattr(
        batching._BatchQueue,
        "_warn_if_max_batch_size_exceeds_max_ongoing_requests",
        lambda self: None,
    )
    args = AppArgs(registry=str(own_registry), event_dir=None)
    handle = serve.run(BatchRecommender.bind(args.model_dump()), _local_testing_mode=True)
    answer = handle.recommend.remote(USERS, 6, Filters()).result()
    assert answer.model == "hybrid@1"
    assert [[i.item_id for i in row] for row in answer.rows] == offline(own_registry, 6)


def test_a_refused_reload_is_explained_everywhere(client, own_registry: Path, demo_dir, caplog):
    registry = Registry(str(own_registry))
    prepared = prepare(str(demo_dir), "random:0.2:42")
    spec = TrainSpec("popularity", name="hybrid", eval_users=50)
    model, result = fit_and_evaluate(prepared, spec)
    mv = register(registry, model, result, prepared, spec, refit_on_full=False)
    registry.set_alias("hybrid", "production", mv.version)  # behind the CLI's check
    state = client.app.state.gateway
    with caplog.at_level(logging.WARNING):
        assert state.reload_if_changed() is False
    assert "wanted v3, serving v1, because" in caplog.text and "no trending" in caplog.text
    ready = client.get("/readyz").json()
    assert ready["status"] == "degraded"
    assert ready["refused"]["recommendations"].startswith("model: wanted v3, serving v1")
    models = client.get("/v1/models", headers=R).json()
    assert models["model"]["version"] == 1 and "because" in models["reload"]["refused"]
    assert 'entertainai_model_reload_refused{deployment="Gateway"} 1.0' in exported()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert state.reload_if_changed() is False  # not retried: nothing new to say
    assert caplog.text == ""
    registry.set_alias("hybrid", "production", 2)  # a good version clears it
    assert state.reload_if_changed() is True
    assert client.get("/readyz").json()["refused"] == {}
    assert 'entertainai_model_reload_refused{deployment="Gateway"} 0.0' in exported()


def test_readyz_lists_missing_models_with_the_command_that_trains_them(client):
    ready = client.get("/readyz").json()
    missing = {m["ref"]: m for m in ready["missing"]}
    assert ready["status"] == "degraded"
    assert set(missing) == {"text_transformer@production", "text_lstm@production"}
    assert "train.capabilities" in missing["text_transformer@production"]["train"]


def test_serve_refuses_a_missing_recommender_in_one_line(capsys):
    from deployments import launch

    with tempfile.TemporaryDirectory() as empty:
        rc = launch.main(["--registry", empty, "--no-block"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "hybrid@production is not in the registry" in err and "make run" in err


def test_readyz_shows_a_capability_refusing_a_version(client, own_registry: Path):
    from deployments.capability import InProcessHandle, ModelSlots, ServesModels
    from entertainai.errors import ArtifactError

    registry = Registry(str(own_registry))
    registry.set_alias("hybrid", "staging", 1)

    def loader(path: str):
        if path.rstrip("/").endswith("2"):
            raise ArtifactError("hybrid@2: safetensors header is corrupt")
        return load_model(path)

    class Fake(ServesModels):
        models = ModelSlots(str(own_registry), {"text": "hybrid@staging"}, loader=loader,
                            reload_interval_s=0)  # fmt: skip

    fake = Fake()
    fake.models.get("text")
    registry.set_alias("hybrid", "staging", 2)
    fake.models.get("text")  # refused: keeps v1
    client.app.state.gateway.capabilities["generate_text"] = InProcessHandle(fake)
    refused = client.get("/readyz").json()["refused"]
    assert refused["generate_text/text"].startswith("wanted v2, serving v1, because")
    assert "corrupt" in refused["generate_text/text"]
