"""The hot path as raw ASGI: one user's recommendations without FastAPI's per-request machinery.

FastAPI's dependency and parameter resolution cost ~1 ms of CPU per request here, more than the
model, and its middleware stack (error, telemetry, body-limit and our own layers) another
~0.15 ms. ``FastLaneAPI`` is the FastAPI app with one change: before any of that it answers
``GET /v1/users/{id}/recommendations`` itself when the request is valid — same key check, rate
limiter, query model, response body, request id and metrics as the FastAPI route — and hands
*everything else* (any error, any other route) to FastAPI, so error bodies, OpenAPI and
validation messages have exactly one implementation. It stays a ``FastAPI`` instance, so Serve
still finds its routes (metric labels) and its ``/docs``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from deployments.observability import LATENCY, REQUESTS
from deployments.routes.recommendations import user_recommendations
from deployments.schemas import RecommendationQuery
from entertainai.errors import EntertainAIError
from entertainai.serving.security import key_from_headers

PREFIX, SUFFIX = "/v1/users/", "/recommendations"
ROUTE_PATH = PREFIX + "{user_id}" + SUFFIX
# Query parameters that repeat into a list; the others take their last value, as FastAPI does.
LIST_PARAMS = frozenset(
    name
    for name, field in RecommendationQuery.model_fields.items()
    if getattr(field.annotation, "__origin__", None) is list
)
# Labelled metric children looked up once: a label lookup per request is measurable here.
ANSWERED = REQUESTS.labels(ROUTE_PATH, "GET", "200")
ANSWER_SECONDS = LATENCY.labels(ROUTE_PATH, "GET")


class FastLaneAPI(FastAPI):
    """FastAPI, with the hot path answered before the middleware stack."""

    fast_answer: Callable[..., dict] = staticmethod(user_recommendations)
    echo_request_id = True  # False where the server in front already echoes it (see create_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            start = time.perf_counter()
            answered = self._try(scope)
            if answered is not None:
                body, request_id = answered
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                if self.echo_request_id:
                    headers.append((b"x-request-id", request_id))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                ANSWERED.inc()
                ANSWER_SECONDS.observe(time.perf_counter() - start)
                return
        await super().__call__(scope, receive, send)

    def _try(self, scope: Scope) -> tuple[bytes, bytes] | None:
        """The response body and request id, or None to let FastAPI answer."""
        path: str = scope["path"]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            return None
        user_id = path[len(PREFIX) : -len(SUFFIX)]
        state = getattr(self.state, "gateway", None)
        if not user_id or "/" in user_id or state is None:
            return None
        request_id, has_body = _read_headers(scope["headers"])
        if has_body:
            return None  # a GET with a body: FastAPI applies the body limit
        raw_query: bytes = scope["query_string"]
        try:
            name = None
            if state.args.require_api_key:
                name = state.keys.require(key_from_headers(scope["headers"]), "read").name
            cache = state.service.response_cache
            # A hit's query string (or one the cache counts as equivalent) was valid before.
            body = cache.get(user_id, raw_query)
            if body is None:
                version = cache.version(user_id)
                query = RecommendationQuery.model_validate(_query(raw_query))
            if name is not None and state.limiter.check(name) > 0:
                return None  # FastAPI answers the 429 with its Retry-After
            if body is None:
                # scope["path"] is already percent-decoded, as FastAPI's path parameters are.
                body = orjson.dumps(self.fast_answer(state, user_id, query))
                cache.put(user_id, raw_query, body, version)
        except (EntertainAIError, ValidationError):
            return None  # the FastAPI route re-runs and renders the error the one way
        return body, request_id or uuid.uuid4().hex.encode()


def _read_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """(client request id, whether a body is announced) in one pass; the key is read by
    ``key_from_headers``, the rule every key check shares."""
    request_id = None
    has_body = False
    for name, value in headers:
        if name == b"x-request-id":
            request_id = value
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            has_body = True
    return request_id, has_body


def _query(raw: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in LIST_PARAMS:
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    return params
