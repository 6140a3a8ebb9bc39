"""POST /v1/generate/text over the real deployment class, in-process and in Serve local mode."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.generate_text import TextGenerator
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.generate.text_transformer import TextTransformer, TextTransformerConfig
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}
TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 30


@pytest.fixture(scope="module")
def text_registry(served_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the served registry plus a tiny text transformer under its default alias."""
    root = tmp_path_factory.mktemp("textgen") / "registry"
    shutil.copytree(served_registry, root)
    config = TextTransformerConfig(
        n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=16, max_steps=30, eval_every=0
    )
    model = TextTransformer(config).fit(TEXT)
    directory = model.save(root.parent / "model")
    Registry(str(root)).register(
        "text_transformer", directory, kind=model.kind, aliases=("production",)
    )
    return root


@pytest.fixture()
def args(text_registry: Path, tmp_path: Path) -> AppArgs:
    return AppArgs(registry=str(text_registry), event_dir=str(tmp_path / "events"))


@pytest.fixture()
def client(args: AppArgs, api_keys) -> Iterator[TestClient]:
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    deployment = TextGenerator.func_or_class(args.model_dump())
    app.state.gateway.capabilities["generate_text"] = InProcessHandle(deployment)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_generate_json_is_seeded(client: TestClient) -> None:
    body = {"prompt": "the ", "max_new_tokens": 20, "num_samples": 2, "seed": 5, "stop": ["\n"]}
    first = client.post("/v1/generate/text", json=body, headers=R)
    assert first.status_code == 200, first.text
    data = first.json()
    assert len(data["texts"]) == 2 and all(len(t) <= 20 for t in data["texts"])
    assert data["model"] == "text_transformer@1"
    # No moderation capability deployed: nothing is refused.
    assert client.post("/v1/generate/text", json=body, headers=R).json()["texts"] == data["texts"]


def test_stream_matches_json(client: TestClient) -> None:
    body = {"prompt": "the ", "max_new_tokens": 30, "seed": 9, "temperature": 0.7}
    whole = client.post("/v1/generate/text", json=body, headers=R).json()["texts"][0]
    streamed = client.post("/v1/generate/text", json={**body, "stream": True}, headers=R)
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/plain")
    assert streamed.text == whole


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"prompt": "x" * 2001}, "prompt"),
        ({"max_new_tokens": 1001}, "max_new_tokens"),
        ({"num_samples": 9}, "num_samples"),
        ({"max_new_tokens": 1000, "num_samples": 8}, "4000"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"stream": True, "num_samples": 2}, "one sample"),
        ({"prompt": "QQQ"}, "never saw"),
        ({"prompt": "QQQ", "stream": True}, "never saw"),
        ({"unknown": 1}, "unknown"),
        ({"model": "gpt4"}, "model"),
    ],
)
def test_bad_requests_are_422(client: TestClient, body: dict, fragment: str) -> None:
    r = client.post("/v1/generate/text", json=body, headers=R)
    assert r.status_code == 422 and fragment in r.text, r.text


def test_time_budget_and_missing_model(client: TestClient) -> None:
    body = {"max_new_tokens": 1000, "time_budget_s": 0.001}
    r = client.post("/v1/generate/text", json=body, headers=R)
    assert r.status_code == 422 and "time budget" in r.json()["detail"]
    r = client.post("/v1/generate/text", json={"model": "text_lstm"}, headers=R)
    assert r.status_code == 503 and "text_lstm@production" in r.json()["detail"]
    assert client.post("/v1/generate/text", json={}).status_code == 401


def test_serve_local_testing_mode(args: AppArgs) -> None:
    from ray import serve

    handle = serve.run(TextGenerator.bind(args.model_dump()), _local_testing_mode=True)
    request = {"prompt": "the ", "max_new_tokens": 15, "seed": 1}
    result = handle.generate.remote(request).result()
    assert len(result["texts"][0]) == 15
    pieces = list(handle.options(stream=True).stream.remote(request))
    assert "".join(pieces) == result["texts"][0]
