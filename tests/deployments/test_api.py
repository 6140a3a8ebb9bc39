"""The HTTP API in-process (FastAPI TestClient over the real service and models, no Ray)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.registry import Registry
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

R = {"x-api-key": READ_KEY}
W = {"x-api-key": WRITE_KEY}
A = {"x-api-key": ADMIN_KEY}


@pytest.fixture()
def client(served_registry: Path, tmp_path: Path, api_keys) -> Iterator[TestClient]:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
        max_body_bytes=50_000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def items_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [i["item_id"] for i in response.json()["items"]]


def test_recommendations_with_filters_and_explanations(client):
    r = client.get(
        "/v1/users/u00001/recommendations?k=5&include_genres=Comedy&diversity=0.3", headers=R
    )
    body = r.json()
    assert r.status_code == 200 and len(body["items"]) <= 5 and body["model"] == "hybrid@1"
    for item in body["items"]:
        assert "Comedy" in item["genres"] and item["explanation"]
    assert r.headers["x-request-id"]


def test_unknown_user_gets_cold_start_list(client):
    r = client.get("/v1/users/someone-new/recommendations?k=4&preferred_genres=Horror", headers=R)
    assert len(items_of(r)) == 4


def test_batch_similar_trending_models_ops(client):
    r = client.post(
        "/v1/recommendations", json={"user_ids": ["u00001", "u00002"], "k": 3}, headers=R
    )
    assert r.status_code == 200 and [len(x["items"]) for x in r.json()["results"]] == [3, 3]
    assert len(items_of(client.get("/v1/items/i00001/similar?k=3", headers=R))) == 3
    assert len(items_of(client.get("/v1/trending?window=7d&k=5", headers=R))) == 5
    models = client.get("/v1/models", headers=R).json()
    assert models["model"]["kind"] == "hybrid" and models["model"]["version"] == 1
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    metrics = client.get("/metrics", headers=A).text  # a key with the metrics scope
    assert (
        "entertainai_requests_total" in metrics
        and 'entertainai_model_version{name="hybrid",role="model"} 1.0' in metrics
    )


def test_event_is_durable_and_reflected_at_once(client, tmp_path: Path):
    first = items_of(client.get("/v1/users/u00003/recommendations?k=5&explain=false", headers=R))[0]
    start = time.perf_counter()
    r = client.post(
        "/v1/events",
        json={
            "events": [{"user_id": "u00003", "item_id": first, "event_type": "play", "value": 1.0}]
        },
        headers=W,
    )
    assert r.status_code == 202 and r.json() == {"accepted": 1}
    after = items_of(client.get("/v1/users/u00003/recommendations?k=5&explain=false", headers=R))
    assert first not in after and time.perf_counter() - start < 1.0
    assert first in items_of(client.get("/v1/trending?window=1h&k=3", headers=R))
    segments = list((tmp_path / "events").rglob("seg-*"))
    assert segments and first in segments[0].read_text()


def test_new_item_is_recommendable_at_once(client):
    item = {
        "item_id": "brand-new",
        "title": "Haunted Scream House",
        "description": "haunted blood scream ghost night",
        "genres": ["Horror"],
        "year": 2026,
        "maturity_rating": "R",
    }
    assert client.post("/v1/items", json={"items": [item]}, headers=A).status_code == 201
    r = client.get(
        "/v1/users/cold-user/recommendations?k=5&include_genres=Horror&preferred_genres=Horror",
        headers=R,
    )
    assert "brand-new" in items_of(r)
    sim = client.get("/v1/items/brand-new/similar?k=3", headers=R)
    assert sim.status_code == 200


def test_promote_and_rollback_switch_the_serving_version(client, served_registry: Path):
    registry = Registry(str(served_registry))
    state = client.app.state.gateway
    registry.set_alias("hybrid", "production", 2)
    assert state.reload_if_changed()
    assert client.get("/v1/models", headers=R).json()["model"]["version"] == 2
    registry.set_alias("hybrid", "production", 1)  # rollback
    assert state.reload_if_changed() and not state.reload_if_changed()
    assert client.get("/v1/models", headers=R).json()["model"]["version"] == 1


def test_erasure(client, tmp_path: Path):
    client.post(
        "/v1/events",
        json={"events": [{"user_id": "gone", "item_id": "i00001", "event_type": "like"}]},
        headers=W,
    )
    assert client.delete("/v1/users/gone", headers=W).status_code == 403
    r = client.delete("/v1/users/gone", headers=A)
    assert r.status_code == 200 and r.json()["events_removed"] == 1
    assert client.app.state.gateway.service.history.items("gone") == []
    assert not any("gone" in p.read_text() for p in (tmp_path / "events").rglob("seg-*"))


@pytest.mark.parametrize(
    ("method", "url", "body", "headers", "status"),
    [
        ("get", "/v1/users/u1/recommendations", None, {}, 401),
        ("get", "/v1/users/u1/recommendations", None, {"x-api-key": "wrong"}, 401),
        (
            "post",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "i00001", "event_type": "play"}]},
            R,
            403,
        ),
        ("post", "/v1/items", {"items": [{"item_id": "x", "title": "t"}]}, W, 403),
        ("get", "/v1/users/u1/recommendations?k=0", None, R, 422),
        ("get", "/v1/users/u1/recommendations?k=100000", None, R, 422),
        ("get", "/v1/users/u1/recommendations?genre_filter=x", None, R, 422),
        ("get", "/v1/users/u1/recommendations?max_maturity=XXX", None, R, 422),
        ("get", "/v1/items/no-such-item/similar", None, R, 404),
        ("get", "/v1/trending?window=2w", None, R, 422),
        (
            "post",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "not-in-catalogue", "event_type": "play"}]},
            W,
            422,
        ),
        (
            "post",
            "/v1/events",
            {
                "events": [
                    {"user_id": "u", "item_id": "i00001", "event_type": "play", "timestamp": 4e9}
                ]
            },
            W,
            422,
        ),
        (
            "post",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "i00001", "event_type": "teleport"}]},
            W,
            422,
        ),
        ("post", "/v1/events", {"events": []}, W, 422),
        ("post", "/v1/recommendations", {"user_ids": ["u"], "k": 3, "extra": 1}, R, 422),
    ],
)
def test_bad_input_gets_json_4xx(client, method, url, body, headers, status):
    r = getattr(client, method)(
        url, headers=headers, **({"json": body} if body is not None else {})
    )
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["error"] and "Traceback" not in r.text


def test_malformed_json_and_oversize_body(client):
    r = client.post(
        "/v1/events", content=b"{not json", headers={**W, "content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    big = {"events": [{"user_id": "u" * 200, "item_id": "i00001", "event_type": "play"}] * 400}
    r = client.post("/v1/events", json=big, headers=W)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


def test_rate_limit_answers_429_with_retry_after(served_registry: Path, tmp_path: Path, api_keys):
    args = AppArgs(
        registry=str(served_registry), event_dir=None, rate_limit_per_s=1, rate_limit_burst=2
    )
    app = create_app()
    app.state.gateway = GatewayState.build(args)
    with TestClient(app) as c:
        codes = [c.get("/v1/trending", headers=R).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        r = c.get("/v1/trending", headers=R)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_missing_keys_refuse_to_start(served_registry: Path, monkeypatch):
    monkeypatch.delenv("ENTERTAINAI_API_KEYS", raising=False)
    from entertainai.errors import InputError

    with pytest.raises(InputError, match="no API keys"):
        GatewayState.build(AppArgs(registry=str(served_registry), event_dir=None))


# ---- issue 17: limits clients cannot switch off, and what errors show ---------------------


def test_without_a_key_the_body_is_refused_before_it_is_read(client):
    """Malformed JSON without a key is a 401 (it was a 422: the body was parsed first)."""
    bad = client.post(
        "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 401 and bad.json()["error"] == "unauthenticated"
    huge = client.post("/v1/events", content=b"x" * 60_000, headers={"x-api-key": "wrong"})
    assert huge.status_code == 401
    # And the body is never read at all: a receive that fails would show.
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body of an unauthenticated request was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/events",
        "raw_path": b"/v1/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"9")],
        "client": ("10.0.0.9", 1234),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 401


def test_unauthenticated_requests_are_throttled_per_client_with_bounded_state(
    served_registry: Path, tmp_path: Path, api_keys
):
    from entertainai.serving.security import RateLimiter

    args = AppArgs(registry=str(served_registry), event_dir=None)
    refused = RateLimiter(1.0, 3, max_keys=50)
    app = create_app(unauthenticated=refused)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app) as c:
        codes = [c.get("/v1/trending").status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        r = c.get("/v1/users/u1/recommendations", headers={"x-api-key": "guess"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("/v1/trending", headers=R).status_code == 200  # a valid key: unaffected
        assert c.get("/healthz").status_code == 200  # public routes: never throttled
    with TestClient(app, client=("10.1.2.3", 4000)) as other:
        assert other.get("/v1/trending").status_code == 401  # its own budget
    for n in range(200):  # many addresses: the limiter keeps at most max_keys of them
        with TestClient(app, client=(f"10.9.{n // 250}.{n % 250}", 1)) as one:
            one.get("/v1/trending")
    assert len(refused) <= 50


def test_an_over_limit_chunked_body_is_a_413(client):
    def chunks():
        for _ in range(4):
            yield b" " * 20_000

    r = client.post(
        "/v1/events", content=chunks(), headers={**W, "content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


def test_metrics_need_a_key_with_the_metrics_scope(
    served_registry: Path, tmp_path: Path, monkeypatch
):
    from tests.deployments.conftest import KEYS_ENV

    scrape_key = "prometheus-scrape-0123456789"
    monkeypatch.setenv("ENTERTAINAI_API_KEYS", f"{KEYS_ENV},prom:metrics:plain={scrape_key}")
    app = create_app()
    app.state.gateway = GatewayState.build(AppArgs(registry=str(served_registry), event_dir=None))
    with TestClient(app) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=R).status_code == 403
        scraped = c.get("/metrics", headers={"authorization": f"Bearer {scrape_key}"})
        assert scraped.status_code == 200 and "entertainai_requests_total" in scraped.text
        assert c.get("/metrics", headers=A).status_code == 200
        # The scrape key reads metrics only.
        assert c.get("/v1/trending", headers={"x-api-key": scrape_key}).status_code == 403
        # Documented as public: liveness, readiness and the API's own description.
        for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
            assert c.get(path).status_code == 200, path


def raiser(exc: Exception):  # a route endpoint that raises exc
    async def boom() -> None:
        raise exc

    return boom


def test_error_messages_never_show_server_paths(client, tmp_path: Path):
    from entertainai.errors import ArtifactError, NotFoundError, Unavailable

    app = client.app
    registry = tmp_path / "srv" / "registry"
    raised = {
        "/boom/artifact": ArtifactError(f"{registry}/hybrid/3: not a model directory"),
        "/boom/missing": NotFoundError("no model named 'x' in s3://private-bucket/registry"),
        "/boom/store": Unavailable(
            f"cannot record new items under {registry}/_catalogue_additions: [Errno 30] "
            f"Read-only file system: '{registry}/_catalogue_additions/1.parquet'"
        ),
        "/boom/relative": ArtifactError("./artifacts/hybrid/3/model.npz: unreadable"),
    }
    for path, exc in raised.items():
        app.add_api_route(path, raiser(exc))
    for path in raised:
        body = client.get(path, headers=R).json()
        detail = body["detail"]
        assert "registry" not in detail and "private-bucket" not in detail, detail
        assert "artifacts" not in detail and str(tmp_path) not in detail, detail
    store = client.get("/boom/store", headers=R).json()
    assert store["error"] == "unavailable" and "Read-only file system" in store["detail"]
    # API paths in a message are kept: they tell the client what to do.
    r = client.post(
        "/v1/events",
        json={"events": [{"user_id": "u", "item_id": "not-in-catalogue", "event_type": "play"}]},
        headers=W,
    )
    assert r.status_code == 422 and "/v1/items" in r.json()["detail"]


def test_a_real_store_failure_names_no_path(served_registry: Path, tmp_path: Path, api_keys):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # the catalogue root is a file: recording new items fails
    args = AppArgs(registry=str(served_registry), event_dir=None, catalogue_root=str(blocker))
    app = create_app()
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as c:
        item = {"item_id": "x1", "title": "t"}
        r = c.post("/v1/items", json={"items": [item]}, headers=A)
    assert r.status_code == 503 and str(tmp_path) not in r.text, r.text


# ---- issue 17: user-scoped tokens ------------------------------------------------------------


def issue(client, user_id: str, headers=A, **body) -> str:
    r = client.post(f"/v1/users/{user_id}/tokens", json=body or None, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] == user_id and r.json()["expires"] > time.time()
    return r.json()["token"]


def test_a_user_token_reads_only_its_own_user(client, served_registry: Path, tmp_path: Path):
    token = issue(client, "u00001", ttl_s=600)
    T = {"authorization": f"Bearer {token}"}
    own = client.get("/v1/users/u00001/recommendations?k=3", headers=T)
    assert own.status_code == 200 and own.json()["user_id"] == "u00001"
    # The catalogue's shared lists tell nothing about a user: a viewer's pages need them.
    assert client.get("/v1/trending", headers=T).status_code == 200
    assert client.get("/v1/items/i00001/similar", headers=T).status_code == 200
    refused = [
        ("GET", "/v1/users/u00002/recommendations", None),  # another user's history
        ("GET", "/v1/users/u00002/segment", None),
        ("GET", "/v1/segments", None),  # every user's
        ("POST", "/v1/recommendations", {"user_ids": ["u00001", "u00002"]}),
        ("GET", "/v1/models", None),
        (
            "POST",
            "/v1/events",
            {"events": [{"user_id": "u00002", "item_id": "i1", "event_type": "play"}]},
        ),  # another user's events (its own: tests/deployments/test_events.py)
        ("DELETE", "/v1/users/u00001", None),
        ("POST", "/v1/users/u00001/tokens", None),  # a token cannot mint tokens
        ("GET", "/metrics", None),
    ]
    for method, url, body in refused:
        r = client.request(method, url, json=body, headers=T)
        assert r.status_code == 403 and r.json()["error"] == "forbidden", (method, url, r.text)
    # Another replica with the same registry (the secret is stored there) knows the token.
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "other"))
    app = create_app()
    app.state.gateway = GatewayState.build(args)
    with TestClient(app) as other:
        assert other.get("/v1/users/u00001/recommendations", headers=T).status_code == 200


def test_only_admin_keys_issue_tokens_and_bad_tokens_are_401(client):
    for headers, status in ((R, 403), (W, 403), ({}, 401)):
        assert client.post("/v1/users/u1/tokens", headers=headers).status_code == status
    assert client.post("/v1/users/u1/tokens", json={"ttl_s": 0}, headers=A).status_code == 422
    assert client.post("/v1/users/u1/tokens", json={"ttl_s": 1e9}, headers=A).status_code == 422
    token = issue(client, "u00001")
    prefix, user, expiry, signature = token.split(".")
    for bad in (f"{prefix}.{user}.{int(expiry) + 1}.{signature}", token[:-2], "eai1.x"):
        r = client.get("/v1/users/u00001/recommendations", headers={"x-api-key": bad})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    r = client.post("/v1/users/u00001/tokens", json={"ttl_s": 1}, headers=A)
    short = r.json()["token"]
    time.sleep(max(0.0, r.json()["expires"] - time.time()) + 0.05)
    r = client.get("/v1/users/u00001/recommendations", headers={"x-api-key": short})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_rate_limits_are_replica_shares_of_a_cluster_limit(monkeypatch):
    """Issue 17: each replica enforces limit / replicas, so the limit holds cluster-wide."""
    from types import SimpleNamespace

    from deployments import gateway

    args = AppArgs(rate_limit_per_s=200, rate_limit_burst=400)
    assert gateway.serve_replicas() == 1  # outside Serve: the whole limit
    assert gateway.limit_share(args) == (200.0, 400)
    assert gateway.limit_share(args.model_copy(update={"rate_limit_replicas": 4})) == (50.0, 100)

    def context(autoscaling, world_size):
        config = SimpleNamespace(autoscaling_config=autoscaling)
        return lambda: SimpleNamespace(_deployment_config=config, world_size=world_size)

    monkeypatch.setattr(gateway.serve, "get_replica_context", context(None, 4))
    assert gateway.limit_share(args) == (50.0, 100)
    # Autoscaling: divided by max_replicas (never over the limit; under it while scaled down).
    monkeypatch.setattr(
        gateway.serve, "get_replica_context", context(SimpleNamespace(max_replicas=8), 2)
    )
    assert gateway.limit_share(args) == (25.0, 50)
