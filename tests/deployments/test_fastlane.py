"""The raw-ASGI hot path answers exactly like the FastAPI route and defers every error to it.

The equality test sends one list of requests to an app with the lane on and to one with it
off (``AppArgs.fast_lane``) and compares status and body: the lane is checked against FastAPI,
not against the function it calls itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.routes.recommendations import user_recommendations
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.serving.security import TOKEN_SECRET_ENV, TokenSigner
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

R = {"x-api-key": READ_KEY}
A = {"x-api-key": ADMIN_KEY}
SECRET = "s" * 32
URL = "/v1/users/{}/recommendations"


@pytest.fixture()
def token_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_SECRET_ENV, SECRET)


def build(registry: Path, events: Path, **overrides) -> TestClient:
    args = AppArgs(registry=str(registry), event_dir=str(events), **overrides)
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    return TestClient(app, raise_server_exceptions=False)


def comparable(response) -> tuple[int, object]:
    """Status and body without what differs by request (its id)."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


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


def test_the_lane_answers_every_request_as_fastapi_does(
    served_registry: Path, tmp_path: Path, api_keys, token_secret
):
    """Issue 15: the same requests with the lane on and off get the same status and body."""
    signer = TokenSigner(SECRET.encode())
    own, _ = signer.issue("u00001", 600)
    other, _ = signer.issue("u00002", 600)
    expired = TokenSigner(SECRET.encode(), clock=lambda: 0.0).issue("u00001", 1)[0]
    forged = own[:-4] + ("AAAA" if not own.endswith("AAAA") else "BBBB")
    requests: list[tuple[str, list[tuple[str, str]]]] = [
        (URL.format("u00001") + "?k=5", [("x-api-key", READ_KEY)]),
        (URL.format("u00001") + "?k=5", []),
        (URL.format("u00001") + "?k=5", [("x-api-key", "nope")]),
        (URL.format("u00001") + "?k=5", [("x-api-key", READ_KEY), ("x-api-key", "x")]),
        (URL.format("u00001") + "?k=5", [("authorization", f"Bearer {READ_KEY}")]),
        (URL.format("u00001") + "?k=0", [("x-api-key", READ_KEY)]),
        (URL.format("u00001") + "?colour=red", [("x-api-key", READ_KEY)]),
        (URL.format("u00001") + "?k=x&explain=maybe", [("x-api-key", READ_KEY)]),
        (URL.format("nobody-at-all") + "?k=4", [("x-api-key", READ_KEY)]),
        (
            URL.format("u00003") + "?k=6&include_genres=Comedy&include_genres=Drama"
            "&min_year=1990&max_maturity=PG-13&explain=false",
            [("x-api-key", READ_KEY)],
        ),
        (
            URL.format("u00003") + "?k=3&exclude_items=i00001&allow_items=i00001"
            "&allow_items=i00002&allow_items=i00003&allow_items=i00004",
            [("x-api-key", READ_KEY)],
        ),
        (URL.format("u00003") + "?min_year=2000&max_year=1990", [("x-api-key", READ_KEY)]),
        (URL.format("u00004") + "?k=3&diversity=0.5&max_per_genre=1", [("x-api-key", READ_KEY)]),
        (URL.format("u00001") + "?k=3", [("x-api-key", own)]),
        (URL.format("u00001") + "?k=3", [("authorization", f"Bearer {own}")]),
        (URL.format("u00001") + "?k=3", [("x-api-key", other)]),
        (URL.format("u00001") + "?k=3", [("x-api-key", expired)]),
        (URL.format("u00001") + "?k=3", [("x-api-key", forged)]),
        (URL.format("u00001") + "?k=3", [("x-api-key", ADMIN_KEY)]),
        (URL.format("u00001") + "?k=3", [("x-api-key", WRITE_KEY)]),
    ]
    answers = {}
    for lane in (True, False):
        with build(served_registry, tmp_path / f"events-{lane}", fast_lane=lane) as client:
            answers[lane] = [comparable(client.get(u, headers=h)) for u, h in requests]
    for request, on, off in zip(requests, answers[True], answers[False], strict=True):
        assert on == off, request
    statuses = [status for status, _ in answers[True]]
    assert statuses == [
        *[200, 401, 401, 401, 200, 422, 422, 422, 200, 200, 200, 422, 200],
        *[200, 200, 403, 401, 401, 200, 200],
    ]
    assert answers[True][16][1]["detail"] == "user token expired; ask for a new one"


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


def counting_lane(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the users the lane answers itself (its table's handler, wrapped)."""
    import deployments.fastlane as fastlane

    calls: list[str] = []

    def counting(state, user_id, query):
        calls.append(user_id)
        return user_recommendations(state, user_id, query)

    matchers = [(r, rx, model, counting) for r, rx, model, _ in fastlane._LANE_MATCHERS]
    monkeypatch.setattr(fastlane, "_LANE_MATCHERS", matchers)
    return calls


def test_the_lane_echoes_request_ids_and_leaves_bodies_to_fastapi(app_state, monkeypatch):
    client, _ = app_state
    calls = counting_lane(monkeypatch)
    url = "/v1/users/u00004/recommendations?k=2"
    r = client.get(url, headers={**R, "x-request-id": "trace-me"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-me"
    assert calls == ["u00004"]
    # The metric label is the route template, as for FastAPI-routed requests.
    metrics = client.get("/metrics", headers={"x-api-key": ADMIN_KEY}).text
    assert 'route="/v1/users/{user_id}/recommendations",status="200"' in metrics
    # A GET that announces a body goes the FastAPI way (body limit and all), same answer.
    with_body = client.request(
        "GET", "/v1/users/u00005/recommendations?k=2", headers=R, content=b"x"
    )
    assert with_body.status_code == 200 and calls == ["u00004"]


def test_the_setting_switches_the_lane_off(
    served_registry: Path, tmp_path: Path, api_keys, monkeypatch
):
    calls = counting_lane(monkeypatch)
    with build(served_registry, tmp_path / "events", fast_lane=False) as client:
        assert client.get(URL.format("u00001") + "?k=2", headers=R).status_code == 200
    assert calls == []


def test_an_error_after_the_limiter_spends_one_token(
    served_registry: Path, tmp_path: Path, api_keys
):
    """Issue 15: the lane charged the limiter, failed in the handler, and FastAPI charged again.
    Burst 2: a request that fails after the limiter, then a good one, both fit."""
    with build(
        served_registry, tmp_path / "events", rate_limit_per_s=0.001, rate_limit_burst=2
    ) as client:
        failed = client.get(URL.format("u00001") + "?min_year=2000&max_year=1990", headers=R)
        assert failed.status_code == 422  # Filters refuses it inside the handler
        assert client.get(URL.format("u00001") + "?k=2", headers=R).status_code == 200
        refused = client.get(URL.format("u00001") + "?k=2", headers=R)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # A refusal is not charged again when FastAPI renders it: the next is refused too,
        # with the wait the limiter gave (not a longer one).
        assert client.get(URL.format("u00002") + "?k=2", headers=R).status_code == 429


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
