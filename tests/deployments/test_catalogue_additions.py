"""New items outlive the replica that took them: recorded first, re-applied by replicas that
start later and after a model swap, moderation's verdict included."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.registry import Registry
from tests.deployments.conftest import ADMIN_KEY, READ_KEY

R, A = {"x-api-key": READ_KEY}, {"x-api-key": ADMIN_KEY}
ITEM = {
    "item_id": "kept-horror",
    "title": "Haunted Scream House",
    "description": "haunted blood scream ghost night",
    "genres": ["Horror"],
    "year": 2026,
    "maturity_rating": "R",
}
QUERY = "k=5&include_genres=Horror&preferred_genres=Horror&explain=false"


def replica(registry: Path, tmp_path: Path, name: str) -> tuple[TestClient, GatewayState]:
    args = AppArgs(registry=str(registry), event_dir=str(tmp_path / name))
    app = create_app(args.max_body_bytes)
    app.state.gateway = state = GatewayState.build(args, replica_id=name)
    return TestClient(app, raise_server_exceptions=False), state


def top(client: TestClient) -> list[str]:
    r = client.get(f"/v1/users/cold-viewer/recommendations?{QUERY}", headers=R)
    return [i["item_id"] for i in r.json()["items"]]


def test_a_replica_started_later_and_a_swapped_model_keep_posted_items(
    served_registry: Path, tmp_path: Path, api_keys
):
    first, _ = replica(served_registry, tmp_path, "first")
    with first:
        assert first.post("/v1/items", json={"items": [ITEM]}, headers=A).status_code == 201
        assert "kept-horror" in top(first)
    later, state = replica(served_registry, tmp_path, "later")  # no feed: from storage
    with later:
        assert "kept-horror" in top(later)
        registry = Registry(str(served_registry))
        try:
            registry.set_alias("hybrid", "production", 2)  # promote: a model without it
            assert state.reload_if_changed()
            assert "kept-horror" in top(later)
        finally:
            registry.set_alias("hybrid", "production", 1)


def test_moderations_verdict_is_recorded_with_the_items(served_registry: Path, tmp_path, api_keys):
    _, state = replica(served_registry, tmp_path, "first")
    items = pa.table({"item_id": ["flagged-one"], "title": ["x"], "genres": [["Horror"]]})
    state.service.add_items(items, blocked=["flagged-one"])
    _, later = replica(served_registry, tmp_path, "later")
    assert later.service.models.model.item_indices(["flagged-one"])[0] >= 0
    assert "flagged-one" in later.service.blocked
