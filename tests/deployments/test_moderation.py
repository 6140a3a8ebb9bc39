"""Moderation routes in-process (TestClient, no Ray) and the deployment in local mode."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.moderation import Moderator
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.analytics.text_tasks import (
    TextTrainSpec,
    fit_and_evaluate,
    load_spec_data,
    register,
)
from entertainai.moderation.image import train_from_folder, write_demo_images
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture(scope="module")
def moderation_registry(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("moderation") / "registry"
    registry = Registry(str(root))
    spec = TextTrainSpec("moderation", str(demo_dir), "tfidf")
    model, result = fit_and_evaluate(spec)
    register(registry, model, result, spec, load_spec_data(spec))
    images = write_demo_images(root.parent / "images", per_class=8, size=16)
    params = {
        "image_size": 16,
        "filters": (4,),
        "hidden": 8,
        "epochs": 2,
        "unsafe_classes": ("noise",),
    }
    train_from_folder(images, registry, "image_classifier", params)
    return root


@pytest.fixture(scope="module")
def spam_text(demo_dir: Path) -> str:
    from entertainai.analytics.text_data import demo_labelled

    data = demo_labelled(demo_dir, "moderation")
    return next(t for t, row in zip(data.texts, data.labels, strict=True) if row == ("spam",))


@pytest.fixture()
def client(
    served_registry: Path, moderation_registry: Path, tmp_path: Path, api_keys
) -> Iterator[TestClient]:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    mine = AppArgs(registry=str(moderation_registry), event_dir=None)
    app.state.gateway.capabilities["moderate"] = InProcessHandle(
        Moderator.func_or_class(mine.model_dump())
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_moderate_text(client: TestClient, spam_text: str):
    r = client.post("/v1/moderate/text", json={"texts": [spam_text, "loved the acting"]}, headers=R)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "moderation@1" and set(body["thresholds"]) == {"spam", "toxic"}
    first, second = body["results"]
    assert first["flagged"] and first["reasons"][0].startswith("spam")
    assert not second["flagged"] and second["reasons"] == []
    r = client.post(
        "/v1/moderate/text", json={"texts": [spam_text], "thresholds": {"spam": 1.0}}, headers=R
    )
    assert not r.json()["results"][0]["flagged"]


def test_moderate_image(client: TestClient, moderation_registry: Path):
    png = (moderation_registry.parent / "images" / "noise" / "000.png").read_bytes()
    payload = {"images": [base64.b64encode(png).decode()], "top_k": 2}
    r = client.post("/v1/moderate/image", json=payload, headers=R)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert len(result["tags"]) == 2 and set(result["scores"]) == {"blobs", "noise", "stripes"}
    # The verdict is the unsafe class's score against the model's threshold (0.5), stated.
    assert result["flagged"] is (result["scores"]["noise"] >= 0.5)
    assert bool(result["reasons"]) is result["flagged"]
    if result["flagged"]:
        assert result["reasons"][0].startswith("noise: score")


def test_bad_requests(client: TestClient):
    post = client.post
    assert post("/v1/moderate/text", json={"texts": []}, headers=R).status_code == 422
    r = post("/v1/moderate/text", json={"texts": ["x"], "thresholds": {"spam": 2}}, headers=R)
    assert r.status_code == 422
    r = post("/v1/moderate/text", json={"texts": ["x"], "thresholds": {"nsfw": 0.5}}, headers=R)
    assert r.status_code == 422 and "nsfw" in r.json()["detail"]
    r = post("/v1/moderate/image", json={"images": ["@@@@not base64"]}, headers=R)
    assert r.status_code == 422 and "images[0]" in r.json()["detail"]
    garbage = base64.b64encode(b"definitely not a png").decode()
    r = post("/v1/moderate/image", json={"images": [garbage]}, headers=R)
    assert r.status_code == 422 and "not a readable image" in r.json()["detail"]
    assert post("/v1/moderate/image", json={"images": ["AAAA"] * 17}, headers=R).status_code == 422
    assert post("/v1/moderate/text", json={"texts": ["x"]}).status_code == 401


def test_deployment_in_local_testing_mode(
    moderation_registry: Path, demo_dir: Path, spam_text: str
):
    from ray import serve

    args = AppArgs(registry=str(moderation_registry), event_dir=None)
    handle = serve.run(Moderator.bind(args.model_dump()), _local_testing_mode=True)
    verdicts = handle.check_texts.remote([spam_text, "nice"]).result()
    assert [v["flagged"] for v in verdicts] == [True, False]
    assert set(verdicts[0]) == {"flagged", "reasons", "scores"}
    curation = handle.curation.remote(str(demo_dir)).result()
    assert curation["flagged_comments"] and curation["model"] == "moderation@1"
    assert handle.curation.remote(str(demo_dir)).result() == curation  # cached


def test_no_model_is_503(served_registry: Path, tmp_path: Path):
    moderator = Moderator.func_or_class(
        AppArgs(registry=str(tmp_path), event_dir=None).model_dump()
    )
    from entertainai.errors import ArtifactError

    with pytest.raises(ArtifactError, match="moderation@production"):
        moderator.check_texts(["x"])
