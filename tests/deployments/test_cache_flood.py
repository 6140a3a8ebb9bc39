"""A flood of varying query strings against the serving cache stays bounded (issue 17).

In-process and fast: the hot path is driven through the app's own ASGI entrance (the fast lane
and the service's response cache are real), and memory is measured with tracemalloc.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.serving.cache import MAX_PER_USER
from tests.deployments.conftest import READ_KEY


@pytest.fixture()
def app(served_registry: Path, api_keys) -> Iterator:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=None,
        rate_limit_per_s=1e6,
        rate_limit_burst=10**6,
        response_cache_ttl_s=60.0,  # nothing expires during the test: only the bounds hold
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    yield app


def get(app, user: str, query: bytes) -> tuple[int, bytes]:
    """One GET of a user's recommendations through the app's ASGI entrance."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    path = f"/v1/users/{user}/recommendations"
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"x-api-key", READ_KEY.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_one_key_varying_diversity_keeps_a_bounded_number_of_answers(app):
    cache = app.state.gateway.service.response_cache
    for n in range(300):
        status, _ = get(app, "u00001", b"k=20&explain=false&diversity=0.%04d" % n)
        assert status == 200
    assert len(cache) <= MAX_PER_USER and cache.users() == ["u00001"]
    # Equivalent query strings share one entry: the reordered one is a hit, not a new answer.
    _, first = get(app, "u00002", b"k=5&explain=false&include_genres=Comedy")
    hits = cache.hits
    _, again = get(app, "u00002", b"include_genres=Comedy&explain=false&k=5")
    assert again == first and cache.hits == hits + 1 and len(cache) <= MAX_PER_USER + 1


def test_the_services_cache_stays_within_its_byte_bound_under_a_flood(app):
    cache = app.state.gateway.service.response_cache
    status, body = get(app, "u00003", b"k=200&explain=true")
    assert status == 200 and len(body) > 10_000  # a realistic large answer
    flood = 4 * cache.max_bytes  # four times what the cache may hold
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(flood // len(body)):
            user = f"flood-{n % 2_000}"
            query = b"k=200&diversity=0.%06d" % n
            cache.put(user, query, bytes(bytearray(body)), cache.version(user))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.nbytes <= cache.max_bytes
    assert grown <= 1.15 * cache.max_bytes, f"grew {grown / 2**20:.0f} MiB"
    assert len(cache.users()) <= cache.max_users
