"""The hot path as raw ASGI: one user's recommendations without FastAPI's per-request machinery.

FastAPI's dependency and parameter resolution cost ~1 ms of CPU per request here, more than the
model. This middleware answers ``GET /v1/users/{id}/recommendations`` itself when the request
is valid — same key check, rate limiter, query model and response body as the FastAPI route —
and hands *everything else* (any error, any other route) to the FastAPI app, so error bodies,
OpenAPI and validation messages have exactly one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from deployments.routes.recommendations import user_recommendations
from deployments.schemas import RecommendationQuery
from entertainai.errors import EntertainAIError

PREFIX, SUFFIX = "/v1/users/", "/recommendations"
ROUTE_PATH = PREFIX + "{user_id}" + SUFFIX
# Query parameters that repeat into a list; the others take their last value, as FastAPI does.
LIST_PARAMS = frozenset(
    name
    for name, field in RecommendationQuery.model_fields.items()
    if getattr(field.annotation, "__origin__", None) is list
)
HOT_ROUTE = SimpleNamespace(path=ROUTE_PATH)
JSON_HEADERS = [(b"content-type", b"application/json")]


class HotPath:
    """ASGI middleware in front of the FastAPI app; falls through on anything unusual."""

    def __init__(
        self,
        app: ASGIApp,
        gateway_app: FastAPI,
        answer: Callable[..., dict] = user_recommendations,
    ) -> None:
        self.app = app  # the rest of the middleware stack, then FastAPI's router
        self.gateway_app = gateway_app  # where the replica's state and routes live
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._try(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = HOT_ROUTE  # the metrics label, as if FastAPI had routed it
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _try(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            return None
        user_id = path[len(PREFIX) : -len(SUFFIX)]
        state = getattr(self.gateway_app.state, "gateway", None)
        if not user_id or "/" in user_id or state is None:
            return None
        raw_query: bytes = scope["query_string"]
        try:
            name = None
            if state.args.require_api_key:
                name = state.keys.require(_api_key(scope["headers"]), "read").name
            cache = state.service.response_cache
            body = cache.get(user_id, raw_query)  # a hit's query string was valid before
            if body is None:
                version = cache.version(user_id)
                query = RecommendationQuery.model_validate(_query(raw_query))
            if name is not None and state.limiter.check(name) > 0:
                return None  # FastAPI answers the 429 with its Retry-After
            if body is None:
                # scope["path"] is already percent-decoded, as FastAPI's path parameters are.
                body = orjson.dumps(self.answer(state, user_id, query))
                cache.put(user_id, raw_query, body, version)
            return body
        except (EntertainAIError, ValidationError):
            return None  # the FastAPI route re-runs and renders the error the one way


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            return value.decode("latin-1")
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = value[7:].decode("latin-1").strip()
    return bearer


def _query(raw: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in LIST_PARAMS:
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    return params
