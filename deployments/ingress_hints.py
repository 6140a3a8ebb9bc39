"""Hints for Serve's own HTTP servers, installed with ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH``.

For every request, a direct-ingress replica starts a task that watches for the client going away
and races the request against its timeout (``asyncio.wait``). For the hot GETs — sub-millisecond
answers computed synchronously, which neither a disconnect nor a timeout could interrupt — that
bookkeeping cost more than the answer. Serve skips both when a request carries
``x-request-disconnect-disabled: ?1`` and a non-positive ``x-request-timeout-seconds``; this
middleware adds them to those GETs only. Streams (text generation) keep their disconnect
handling and every other request keeps ``request_timeout_s``. The same headers sent by a
client are removed from every request first: they are the app's to set, not a client's (any
client could otherwise switch off the timeout and the disconnect watch on any route).

``serve_config.yaml`` sets the variable for the Gateway replicas. Without it nothing changes but
the speed.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from deployments import hot_routes

# How Serve's HTTP servers find this module: the proxy reads it from its node's environment
# (cluster.yaml, KubeRay pods, the Ray `entertainai serve` starts), direct ingress also from
# the Gateway's runtime_env.
PROXY_CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_CALLBACK = "deployments.ingress_hints:http_middlewares"

HINTS = [(b"x-request-disconnect-disabled", b"?1"), (b"x-request-timeout-seconds", b"0")]
HINT_NAMES = frozenset(name for name, _ in HINTS)  # ASGI servers lower-case header names


def is_hot_get(scope: Scope) -> bool:
    """The hot GETs (``hot_routes``): reads answered in the receiving replica."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return False
    return hot_routes.match(scope["path"]) is not None


class HotGetHints:
    """Pure ASGI middleware: drops client-sent hint headers from every request, then adds
    Serve's skip-the-watchers headers to the hot GETs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = [h for h in scope["headers"] if h[0] not in HINT_NAMES]
            if is_hot_get(scope):
                headers += HINTS
            scope["headers"] = headers
        await self.app(scope, receive, send)


def http_middlewares() -> list[Middleware]:
    """The callback Serve imports (``deployments.ingress_hints:http_middlewares``)."""
    return [Middleware(HotGetHints)]
