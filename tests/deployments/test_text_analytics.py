"""Text analytics routes in-process (TestClient, no Ray) and the deployment in local mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.settings import AppArgs
from deployments.state import GatewayState
from deployments.text_analytics import TextAnalyzer
from entertainai.analytics.text_tasks import TextTrainSpec, fit_and_evaluate, register
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture(scope="module")
def text_registry(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text") / "registry"
    for task in ("sentiment", "textclass"):
        spec = TextTrainSpec(task, str(demo_dir), "tfidf")
        model, result = fit_and_evaluate(spec)
        register(Registry(str(root)), model, result, spec, _data(spec))
    return root


def _data(spec: TextTrainSpec):
    from entertainai.analytics.text_tasks import load_spec_data

    return load_spec_data(spec)


def make_client(served_registry: Path, registry: Path, tmp_path: Path) -> TestClient:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    mine = AppArgs(registry=str(registry), event_dir=None)
    app.state.gateway.capabilities["analyze_text"] = InProcessHandle(
        TextAnalyzer.func_or_class(mine.model_dump())
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def client(
    served_registry: Path, text_registry: Path, tmp_path: Path, api_keys
) -> Iterator[TestClient]:
    with make_client(served_registry, text_registry, tmp_path) as c:
        yield c


def test_sentiment_and_classification(client: TestClient):
    texts = ["loved it wonderful heartwarming", "terrible waste hated it"]
    r = client.post("/v1/analyze/sentiment", json={"texts": texts}, headers=R)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "sentiment@1"
    assert [x["label"] for x in body["results"]] == ["positive", "negative"]
    assert body["results"][0]["compound"] > 0 > body["results"][1]["compound"]
    r = client.post(
        "/v1/classify/text", json={"texts": ["whodunit suspect clue alibi sleuth"]}, headers=R
    )
    assert r.status_code == 200 and r.json()["results"][0]["label"] == "Mystery"


def test_bad_requests(client: TestClient):
    post = client.post
    assert post("/v1/analyze/sentiment", json={"texts": []}, headers=R).status_code == 422
    assert post("/v1/analyze/sentiment", json={"texts": ["x"] * 257}, headers=R).status_code == 422
    assert post("/v1/analyze/sentiment", json={"texts": ["x" * 5001]}, headers=R).status_code == 422
    r = post("/v1/analyze/sentiment", json={"texts": ["x"], "extra": 1}, headers=R)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    assert post("/v1/analyze/sentiment", json={"texts": "one string"}, headers=R).status_code == 422
    assert post("/v1/analyze/sentiment", json={"texts": ["x"]}).status_code == 401
    r = post("/v1/analyze/emotion", json={"texts": ["so happy"]}, headers=R)
    assert r.status_code == 503 and "emotion@production" in r.json()["detail"]


def test_lexicon_fallback_without_a_model(served_registry: Path, tmp_path: Path, api_keys):
    with make_client(served_registry, tmp_path / "empty", tmp_path) as c:
        r = c.post("/v1/analyze/sentiment", json={"texts": ["I love it!", "Awful."]}, headers=R)
    assert r.status_code == 200
    assert r.json()["model"].startswith("lexicon_sentiment (fallback")
    assert [x["label"] for x in r.json()["results"]] == ["positive", "negative"]


def test_serve_local_testing_mode(text_registry: Path) -> None:
    from ray import serve

    args = AppArgs(registry=str(text_registry), event_dir=None)
    handle = serve.run(TextAnalyzer.bind(args.model_dump()), _local_testing_mode=True)
    result = handle.sentiment.remote(["great fantastic"]).result()
    assert result["model"] == "sentiment@1" and result["results"][0]["label"] == "positive"
