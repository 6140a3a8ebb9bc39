"""The raw-ASGI hot path answers exactly like the FastAPI route and defers every error to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.routes.recommendations import user_recommendations
from deployments.schemas import RecommendationQuery
from deployments.settings import AppArgs
from deployments.state import GatewayState
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture()
def app_state(served_registry: Path, tmp_path: Path, api_keys) -> Iterator[tuple]:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        rate_limit_per_s=0.001,
        rate_limit_burst=6,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.gateway


def test_fast_answer_equals_the_route_body(app_state):
    client, state = app_state
    r = client.get("/v1/users/u00001/recommendations?k=5&include_genres=Comedy", headers=R)
    assert r.status_code == 200 and r.headers["x-request-id"]
    query = RecommendationQuery(k=5, include_genres=["Comedy"])
    assert r.json() == user_recommendations(state, "u00001", query)
    # The metrics label is the route template, as for FastAPI-routed requests.
    metrics = client.get("/metrics", headers={"x-api-key": ADMIN_KEY}).text
    assert 'route="/v1/users/{user_id}/recommendations",status="200"' in metrics


def test_errors_fall_through_to_fastapi_rendering(app_state):
    client, _ = app_state
    assert client.get("/v1/users/u00001/recommendations").status_code == 401
    assert client.get("/v1/users/u00001/recommendations", headers={"x-api-key": "nope"}).json()[
        "error"
    ] == ("unauthenticated")
    bad = client.get("/v1/users/u00001/recommendations?k=0", headers=R)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
    unknown = client.get("/v1/users/u00001/recommendations?colour=red", headers=R)
    assert unknown.status_code == 422
    # The burst is 6: the rest are refused with Retry-After, by the same limiter.
    codes = [
        client.get("/v1/users/u00002/recommendations", headers=R).status_code for _ in range(6)
    ]
    assert codes[-1] == 429


def test_a_users_own_event_and_erasure_bypass_the_cache(app_state):
    client, state = app_state
    url = "/v1/users/u00003/recommendations?k=5&explain=false"
    first = client.get(url, headers=R).json()["items"][0]["item_id"]
    assert client.get(url, headers=R).json()["items"][0]["item_id"] == first  # cached
    event = {"user_id": "u00003", "item_id": first, "event_type": "play"}
    client.post("/v1/events", json={"events": [event]}, headers={"x-api-key": WRITE_KEY})
    assert first not in [i["item_id"] for i in client.get(url, headers=R).json()["items"]]
    assert state.service.response_cache.get("u00003", b"k=5&explain=false") is not None
    state.service.erase_user("u00003")
    assert state.service.response_cache.get("u00003", b"k=5&explain=false") is None


def test_the_lane_echoes_request_ids_and_leaves_bodies_to_fastapi(app_state, monkeypatch):
    client, state = app_state
    app = client.app
    calls = []

    def counting(*args):
        calls.append(args[1])
        return user_recommendations(*args)

    monkeypatch.setattr(app, "fast_answer", counting)
    url = "/v1/users/u00004/recommendations?k=2"
    r = client.get(url, headers={**R, "x-request-id": "trace-me"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-me"
    assert calls == ["u00004"]
    # A GET that announces a body goes the FastAPI way (body limit and all), same answer.
    with_body = client.request(
        "GET", "/v1/users/u00005/recommendations?k=2", headers=R, content=b"x"
    )
    assert with_body.status_code == 200 and calls == ["u00004"]


def test_serve_names_the_routes_with_the_api_first(app_state):
    from ray.serve._private.thirdparty.get_asgi_route_name import get_asgi_route_name

    app = app_state[0].app

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}

    assert get_asgi_route_name(app, scope("GET", "/v1/users/u1/recommendations")) == (
        "/v1/users/{user_id}/recommendations"
    )
    assert get_asgi_route_name(app, scope("GET", "/docs")) == "/docs"
    assert app_state[0].get("/docs").status_code == 200
    assert app_state[0].get("/openapi.json").json()["info"]["title"] == "EntertainAI"


def test_request_id_left_to_the_server_in_front(served_registry: Path, tmp_path: Path, api_keys):
    """Behind Serve (which echoes x-request-id itself) neither path adds a second header."""
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    app = create_app(args.max_body_bytes, echo_request_id=False)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as client:
        fast = client.get("/v1/users/u00001/recommendations?k=2", headers=R)
        routed = client.get("/v1/trending", headers=R)
        refused = client.get("/v1/users/u00001/recommendations?k=0", headers=R)
    assert [fast.status_code, routed.status_code, refused.status_code] == [200, 200, 422]
    assert not any("x-request-id" in r.headers for r in (fast, routed, refused))


def test_two_keys_are_refused_by_the_lane_and_by_fastapi_alike(app_state):
    """Issue 17: with two x-api-key headers the lane took the last and FastAPI the first."""
    client, _ = app_state
    for url in ("/v1/users/u00001/recommendations?k=2", "/v1/trending"):  # lane, FastAPI
        for pair in ([READ_KEY, "wrong"], ["wrong", READ_KEY], [READ_KEY, READ_KEY]):
            r = client.get(url, headers=[("x-api-key", key) for key in pair])
            assert r.status_code == 401 and r.json()["error"] == "unauthenticated", (url, pair)
            assert "more than one" in r.json()["detail"]
        bearers = [("authorization", f"Bearer {READ_KEY}"), ("authorization", "Bearer x")]
        assert client.get(url, headers=bearers).status_code == 401
        # One key, in either header, still works the same on both paths.
        assert client.get(url, headers={"authorization": f"Bearer {READ_KEY}"}).status_code == 200
