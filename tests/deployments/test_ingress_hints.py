"""Serve's watcher-skipping hints go on the hot GETs only, and mean what Serve reads them as."""

from __future__ import annotations

import asyncio

from ray.serve._private.http_util import (
    parse_disconnect_disabled_header,
    parse_request_timeout_header,
    validate_http_proxy_callback_return,
)

from deployments.ingress_hints import HINTS, HotGetHints, http_middlewares


def passed_headers(method: str, path: str) -> dict[bytes, bytes]:
    seen: dict[bytes, bytes] = {}

    async def app(scope, receive, send):
        seen.update(dict(scope["headers"]))

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"x-api-key", b"k")]}
    asyncio.run(HotGetHints(app)(scope, None, None))
    return seen


def test_hot_gets_skip_the_disconnect_watcher_and_the_timeout():
    for path in ("/v1/users/u1/recommendations", "/v1/items/i1/similar", "/v1/trending"):
        headers = passed_headers("GET", path)
        assert parse_disconnect_disabled_header(headers), path
        assert parse_request_timeout_header(headers, 30.0) is None, path
        assert headers[b"x-api-key"] == b"k"


def test_everything_else_keeps_serves_watchers():
    for method, path in [
        ("POST", "/v1/generate/text"),  # streams: a client going away must stop generation
        ("POST", "/v1/events"),
        ("GET", "/v1/models"),
        ("GET", "/v1/users/u1"),
        ("DELETE", "/v1/users/u1/recommendations"),
    ]:
        headers = passed_headers(method, path)
        assert not parse_disconnect_disabled_header(headers), path
        assert parse_request_timeout_header(headers, 30.0) == 30.0, path


def test_the_callback_is_what_serve_accepts():
    middlewares = validate_http_proxy_callback_return(http_middlewares())
    assert [m.cls for m in middlewares] == [HotGetHints]


def test_the_shipped_config_installs_it_on_the_gateway():
    from deployments.launch import deployment_options, load_config

    options = deployment_options(load_config()["applications"][0])["Gateway"]
    env = options["ray_actor_options"]["runtime_env"]["env_vars"]
    module, _, name = env["RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"].partition(":")
    assert (module, name) == ("deployments.ingress_hints", "http_middlewares")


def hint_values(method: str, path: str, sent: list[tuple[bytes, bytes]]) -> list:
    seen: list = []

    async def app(scope, receive, send):
        seen.extend(h for h in scope["headers"] if h[0].startswith(b"x-request-"))

    scope = {"type": "http", "method": method, "path": path, "headers": [*sent]}
    asyncio.run(HotGetHints(app)(scope, None, None))
    return seen


def test_clients_cannot_switch_off_serves_timeout_or_disconnect_watch():
    """Issue 17: a client sending the hints itself switched both off on any route."""
    sent = [(b"x-request-disconnect-disabled", b"?1"), (b"x-request-timeout-seconds", b"0")]
    for method, path in [("POST", "/v1/generate/text"), ("POST", "/v1/events"), ("GET", "/docs")]:
        assert hint_values(method, path, sent) == [], path
    # On a hot GET only the app's own hints arrive, once each, whatever the client sent.
    asked = [(b"x-request-timeout-seconds", b"3600"), *sent]
    assert hint_values("GET", "/v1/trending", asked) == HINTS
    assert hint_values("GET", "/v1/trending", [(b"x-request-id", b"r1")]) == [
        (b"x-request-id", b"r1"),
        *HINTS,
    ]
