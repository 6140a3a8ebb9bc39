"""The curation step: moderation's block list keeps items out of every list the graph serves,
new items with flagged descriptions are blocked, and flagged generated text is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.moderation import Moderator
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.moderation.curation import curate_dataset
from tests.deployments.conftest import ADMIN_KEY, READ_KEY
from tests.deployments.test_moderation import moderation_registry, spam_text  # noqa: F401

R, A = {"x-api-key": READ_KEY}, {"x-api-key": ADMIN_KEY}


@pytest.fixture()
def curated(served_registry: Path, moderation_registry: Path, demo_dir: Path, tmp_path, api_keys):  # noqa: F811
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        curation_dataset=str(demo_dir),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    state = app.state.gateway = GatewayState.build(args)
    moderator = Moderator.func_or_class(
        AppArgs(registry=str(moderation_registry), event_dir=None).model_dump()
    )
    state.capabilities["moderate"] = InProcessHandle(moderator)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, state, moderator


def listed(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {i["item_id"] for i in response.json()["items"]}


def test_dataset_curation_blocks_items_everywhere(curated, demo_dir: Path):
    client, state, moderator = curated
    expected = set(
        curate_dataset(str(demo_dir), moderator._moderator()[0].check_texts).blocked_items
    )
    assert asyncio.run(state.refresh_curation()) is bool(expected)
    assert state.service.blocked == expected
    # Block the user's current favourite too, so the check below cannot pass vacuously.
    url = "/v1/users/u00001/recommendations?k=20&explain=false"
    top = client.get(url, headers=R).json()["items"][0]["item_id"]
    state.service.block([top], source="test")
    blocked = expected | {top}
    assert not listed(client.get(url, headers=R)) & blocked
    assert not listed(client.get("/v1/trending?k=50&window=7d", headers=R)) & blocked
    other = next(i for i in state.service.models.model.item_ids_ if i not in blocked)
    assert not listed(client.get(f"/v1/items/{other}/similar?k=50", headers=R)) & blocked
    # A new dataset curation result keeps the other sources' blocks.
    state.service.set_blocked([], source="curation")
    assert state.service.blocked == {top}


def test_new_items_with_flagged_descriptions_are_blocked(curated, spam_text: str):  # noqa: F811
    client, state, _ = curated
    items = [
        {"item_id": "new-clean", "title": "A quiet film", "genres": ["Drama"]},
        {"item_id": "new-spam", "title": "Offer", "description": spam_text, "genres": ["Drama"]},
    ]
    r = client.post("/v1/items", json={"items": items}, headers=A)
    assert r.status_code == 201, r.text
    assert r.json() == {"added": ["new-clean", "new-spam"], "blocked": ["new-spam"]}
    recs = client.get(
        "/v1/users/nobody/recommendations?k=50&preferred_genres=Drama&explain=false", headers=R
    )
    assert "new-spam" not in listed(recs)


def test_flagged_generated_text_is_refused_with_the_reason(
    served_registry: Path,
    moderation_registry: Path,  # noqa: F811
    spam_text: str,  # noqa: F811
    tmp_path: Path,
    api_keys,
):
    import shutil

    from deployments.generate_text import TextGenerator
    from entertainai.generate.text_transformer import TextTransformer, TextTransformerConfig
    from entertainai.registry import Registry

    # A tiny model that has memorised a spam comment generates spam from its opening words.
    root = tmp_path / "registry"
    shutil.copytree(served_registry, root)
    config = TextTransformerConfig(
        n_layer=1, n_head=2, n_embd=48, block_size=64, batch_size=16, max_steps=300, eval_every=0
    )
    model = TextTransformer(config).fit((spam_text + "\n") * 40)
    Registry(str(root)).register(
        "text_transformer", model.save(tmp_path / "m"), kind=model.kind, aliases=("production",)
    )
    args = AppArgs(registry=str(root), event_dir=None)
    app = create_app(args.max_body_bytes)
    state = app.state.gateway = GatewayState.build(args)
    state.capabilities["generate_text"] = InProcessHandle(
        TextGenerator.func_or_class(args.model_dump())
    )
    moderator = Moderator.func_or_class(
        AppArgs(registry=str(moderation_registry), event_dir=None).model_dump()
    )
    body = {"prompt": spam_text[:12], "max_new_tokens": 120, "temperature": 0, "stop": ["\n"]}
    with TestClient(app, raise_server_exceptions=False) as client:
        plain = client.post("/v1/generate/text", json=body, headers=R)
        assert plain.status_code == 200, plain.text
        generated = plain.json()["texts"][0]
        assert moderator.check_texts([generated])[0]["flagged"], generated
        state.capabilities["moderate"] = InProcessHandle(moderator)
        refused = client.post("/v1/generate/text", json=body, headers=R)
        assert refused.status_code == 422 and refused.json()["error"] == "content_refused"
        assert "spam" in refused.json()["detail"]
        streamed = client.post("/v1/generate/text", json={**body, "stream": True}, headers=R)
        assert streamed.status_code == 422


def test_new_items_are_accepted_unscreened_until_a_moderation_model_exists(
    served_registry: Path, tmp_path: Path, api_keys
):
    # The graph composes the Moderator, but nothing has been trained for it (as after `make run`).
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    app = create_app(args.max_body_bytes)
    state = app.state.gateway = GatewayState.build(args)
    empty = tmp_path / "no-models"
    empty.mkdir()
    moderator = Moderator.func_or_class(AppArgs(registry=str(empty), event_dir=None).model_dump())
    state.capabilities["moderate"] = InProcessHandle(moderator)
    item = {"item_id": "unscreened", "title": "A film", "genres": ["Drama"]}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/items", json={"items": [item]}, headers=A)
    assert r.status_code == 201, r.text
    assert r.json() == {"added": ["unscreened"], "blocked": []}
