"""Insights over HTTP (TestClient, no Ray) and the deployment in Serve local testing mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.insights import Insights
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.analytics.segments import Segments, SegmentsConfig, user_features
from entertainai.analytics.topics import Topics, TopicsConfig
from entertainai.data.dataset import Dataset
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture(scope="module")
def insights_registry(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("insights") / "registry"
    registry = Registry(str(root))
    ds = Dataset.open(str(demo_dir))
    segments = Segments(SegmentsConfig(k=4)).fit(user_features(ds.interactions, ds.items))
    registry.register_model(segments, "segments", metrics={"k": 4})
    topics = Topics(TopicsConfig(n_topics=4)).fit(ds.items.column("description").to_pylist())
    registry.register_model(topics, "topics")
    return root


@pytest.fixture()
def client(insights_registry: Path, served_registry: Path, api_keys) -> Iterator[TestClient]:
    args = AppArgs(registry=str(served_registry), event_dir=None, max_body_bytes=500_000)
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    own = AppArgs(registry=str(insights_registry), event_dir=None)
    app.state.gateway.capabilities["insights"] = InProcessHandle(
        Insights.func_or_class(own.model_dump())
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def weekly_series(uid: str, n: int = 49) -> dict:
    days = np.datetime64("2026-01-01") + np.arange(n)
    y = 100 + 30 * (np.arange(n) % 7 >= 5) + np.random.default_rng(0).normal(0, 3, n)
    return {"unique_id": uid, "ds": [str(d) for d in days], "y": y.round(2).tolist()}


def test_forecast_route(client: TestClient):
    body = {"series": [weekly_series("a"), weekly_series("b")], "horizon": 7}
    r = client.post("/v1/forecast", json=body, headers=R)
    assert r.status_code == 200, r.text
    forecasts = r.json()["forecasts"]
    assert [f["unique_id"] for f in forecasts] == ["a", "b"] and len(forecasts[0]["points"]) == 7
    point = forecasts[0]["points"][0]
    assert point["ds"] == "2026-02-19T00:00:00Z"
    assert point["yhat_lower"] <= point["yhat"] <= point["yhat_upper"]
    assert {s["model"] for s in forecasts[0]["scores"]} >= {"seasonal_naive", "holt_winters"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"series": [weekly_series("a")], "horizon": 0}, "horizon"),
        ({"series": [weekly_series("a")], "horizon": 400}, "horizon"),
        ({"series": [], "horizon": 7}, "series"),
        ({"series": [weekly_series("a")], "extra": 1}, "extra"),
        ({"series": [weekly_series(str(i), 200) for i in range(51)]}, "10000"),
    ],
)
def test_forecast_limits(client: TestClient, body: dict, where: str):
    r = client.post("/v1/forecast", json=body, headers=R)
    assert r.status_code == 422 and where in r.text


def test_forecast_bad_values_name_the_position(client: TestClient):
    bad = weekly_series("a")
    bad["ds"][3] = "yesterday"
    r = client.post("/v1/forecast", json={"series": [bad]}, headers=R)
    assert r.status_code == 422 and "series[0].ds[3]" in r.json()["detail"]
    short = weekly_series("a", 10)
    r = client.post("/v1/forecast", json={"series": [short]}, headers=R)
    assert r.status_code == 422 and "too short" in r.json()["detail"]


def test_segments_and_topics_routes(client: TestClient, demo_dir: Path):
    r = client.get("/v1/segments", headers=R)
    assert r.status_code == 200 and r.json()["k"] == 4 and r.json()["model"] == "segments@1"
    r = client.get("/v1/users/u00001/segment", headers=R)
    assert r.status_code == 200 and 0 <= r.json()["segment"] < 4
    assert client.get("/v1/users/nobody/segment", headers=R).status_code == 404
    texts = ["a haunted house with a ghost", "the dragon and the wizard"]
    r = client.post("/v1/analyze/topics", json={"texts": texts}, headers=R)
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    assert len(r.json()["topics"]) == 4
    assert client.post("/v1/analyze/topics", json={"texts": []}, headers=R).status_code == 422
    assert client.get("/v1/segments").status_code == 401


def test_untrained_models_answer_503(tmp_path: Path, served_registry: Path, api_keys):
    app = create_app()
    app.state.gateway = GatewayState.build(AppArgs(registry=str(served_registry), event_dir=None))
    empty = AppArgs(registry=str(tmp_path / "empty"), event_dir=None)
    app.state.gateway.capabilities["insights"] = InProcessHandle(
        Insights.func_or_class(empty.model_dump())
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/segments", headers=R)
    assert r.status_code == 503 and "segments@production" in r.json()["detail"]


def test_serve_local_testing_mode(insights_registry: Path):
    from ray import serve

    args = AppArgs(registry=str(insights_registry), event_dir=None)
    handle = serve.run(Insights.bind(args.model_dump()), _local_testing_mode=True)
    assert handle.segments.remote().result()["k"] == 4
    result = handle.topics.remote(["ghost zombie"]).result()
    assert len(result["results"][0]["shares"]) == 4
