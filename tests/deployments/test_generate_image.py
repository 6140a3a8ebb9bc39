"""Image routes over the real ImageGenerator (TestClient, no Ray), plus Serve local testing mode."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.generate_image import ImageGenerator
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.generate.dcgan import DCGAN
from entertainai.generate.images import ImageData, encode_png
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture(scope="module")
def image_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images") / "registry"
    images = np.random.default_rng(0).integers(0, 255, (64, 8, 8, 1)).astype(np.uint8)
    model = DCGAN.from_params(latent_dim=4, g_width=4, d_width=4, epochs=1, device="cpu")
    model.fit(ImageData(images, None, (), "noise"))
    tmp = tmp_path_factory.mktemp("gan")
    model.save(tmp)
    Registry(str(root)).register("dcgan", tmp, kind="dcgan", aliases=("production",))
    return root


@pytest.fixture()
def client(
    served_registry: Path, image_registry: Path, tmp_path: Path, api_keys
) -> Iterator[TestClient]:
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    images = AppArgs(registry=str(image_registry))
    app.state.gateway.capabilities["generate_image"] = InProcessHandle(
        ImageGenerator.func_or_class(images.model_dump())
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def b64_png(shape: tuple[int, ...], value: int) -> str:
    return base64.b64encode(encode_png(np.full(shape, value, np.uint8))).decode()


def test_image_png_and_json(client: TestClient) -> None:
    r = client.post("/v1/generate/image", json={"num": 1, "seed": 3, "scale": 2}, headers=R)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (16, 16) and r.headers["x-model"] == "dcgan@1"
    again = client.post("/v1/generate/image", json={"num": 1, "seed": 3, "scale": 2}, headers=R)
    assert again.content == r.content

    grid = client.post("/v1/generate/image", json={"num": 4, "grid": True}, headers=R)
    assert Image.open(io.BytesIO(grid.content)).size == (2 * 8 + 3, 2 * 8 + 3)

    body = client.post(
        "/v1/generate/image", json={"num": 3, "format": "json", "seed": 1}, headers=R
    ).json()
    assert len(body["images_base64"]) == 3 and body["grid_base64"] is None
    assert (body["width"], body["height"], body["channels"]) == (8, 8, 1)
    first = Image.open(io.BytesIO(base64.b64decode(body["images_base64"][0])))
    assert first.format == "PNG"


def test_image_limits_are_4xx(client: TestClient) -> None:
    for payload in ({"num": 65}, {"num": 0}, {"seed": -1}, {"scale": 99}, {"typo": 1}):
        r = client.post("/v1/generate/image", json=payload, headers=R)
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", payload
    r = client.post("/v1/generate/image", json={"num": 2}, headers=R)
    assert r.status_code == 422 and "format=json" in r.json()["detail"]
    assert client.post("/v1/generate/image", json={}).status_code == 401


def test_style_transfer_png_json_and_errors(client: TestClient) -> None:
    body = {
        "content": b64_png((40, 30, 3), 120),
        "style": b64_png((20, 20, 3), 30),
        "size": 24,
        "steps": 3,
    }
    r = client.post("/v1/generate/style-transfer", json=body, headers=R)
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == (18, 24)
    assert r.headers["x-model"] == "builtin" and r.headers["x-steps-run"] == "3"
    js = client.post("/v1/generate/style-transfer", json={**body, "format": "json"}, headers=R)
    assert js.json()["steps_run"] == 3 and js.json()["height"] == 24

    bad = {
        "size": {**body, "size": 512},
        "steps": {**body, "steps": 301},
        "base64": {**body, "content": "***not base64***"},
        "image": {**body, "style": base64.b64encode(b"plain text").decode()},
    }
    for name, payload in bad.items():
        r = client.post("/v1/generate/style-transfer", json=payload, headers=R)
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", name
    r = client.post("/v1/generate/style-transfer", json=bad["image"], headers=R)
    detail = r.json()["detail"]  # the shared decoder's message (entertainai.imaging), field first
    assert detail.startswith("style: not a readable image (") and "0x" not in detail, detail


def test_untrained_gan_is_503_naming_the_ref(
    served_registry: Path, tmp_path: Path, api_keys
) -> None:
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    app = create_app()
    app.state.gateway = GatewayState.build(args)
    empty = AppArgs(registry=str(tmp_path / "empty")).model_dump()
    app.state.gateway.capabilities["generate_image"] = InProcessHandle(
        ImageGenerator.func_or_class(empty)
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/v1/generate/image", json={}, headers=R)
    assert r.status_code == 503 and "dcgan@production" in r.json()["detail"]


def test_serve_local_testing_mode(image_registry: Path) -> None:
    from ray import serve

    args = AppArgs(registry=str(image_registry))
    handle = serve.run(ImageGenerator.bind(args.model_dump()), _local_testing_mode=True)
    out = handle.generate.remote({"num_images": 2, "seed": 5, "grid": True}).result()
    assert len(out["png"]) == 2 and out["grid_png"].startswith(b"\x89PNG")
    assert out["model"] == "dcgan@1"


def test_image_count_times_scale_is_capped_and_generation_has_a_time_budget(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployments.routes import generate_image as route

    for payload in (
        {"num": 64, "scale": 16},
        {"num": 2, "scale": 16},
        {"num": 64, "grid": True, "scale": 2},
    ):
        r = client.post("/v1/generate/image", json={**payload, "format": "json"}, headers=R)
        assert r.status_code == 422 and "num x scale^2" in r.json()["detail"], payload
    r = client.post("/v1/generate/image", json={"num": 64, "scale": 2, "format": "json"}, headers=R)
    assert r.status_code == 200 and len(r.json()["images_base64"]) == 64

    class Slow:
        def generate(self, request: dict) -> dict:
            time.sleep(1.0)
            return {}

    monkeypatch.setattr(route, "IMAGE_TIME_BUDGET_S", 0.05)
    client.app.state.gateway.capabilities["generate_image"] = InProcessHandle(Slow())  # type: ignore[attr-defined]
    start = time.perf_counter()
    r = client.post("/v1/generate/image", json={"num": 1}, headers=R)
    assert r.status_code == 422 and "budget" in r.json()["detail"]
    assert time.perf_counter() - start < 0.9  # answered at the budget, not when it finished
