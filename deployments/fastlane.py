"""The hot path as raw ASGI: one user's recommendations without FastAPI's per-request machinery.

FastAPI's dependency and parameter resolution cost ~1 ms of CPU per request here, more than the
model, and its middleware stack (error, telemetry, body-limit and our own layers) another
~0.15 ms. ``FastLaneAPI`` is the FastAPI app with one change: before any of that it answers the
routes of ``LANE`` itself when the request is valid, with the same pieces as the FastAPI route
(``authorize``, the route's query model and handler, request id and metrics), and hands
*everything else* (any error, any other route) to FastAPI, so error bodies, OpenAPI and
validation messages have exactly one implementation. ``AppArgs.fast_lane=False`` sends every
request the FastAPI way (the lane's tests compare the two). It stays a ``FastAPI`` instance,
so Serve still finds its routes (metric labels) and its ``/docs``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from types import UnionType
from typing import Any, Union, get_args, get_origin
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from deployments import hot_routes
from deployments.deps import authorize_request
from deployments.observability import LATENCY, REQUESTS
from deployments.routes.recommendations import user_recommendations
from deployments.schemas import RecommendationQuery
from entertainai.errors import EntertainAIError

Handler = Callable[[Any, str, Any], dict]
# The lane's table: hot route -> (query model, handler). Its paths come from hot_routes, which
# the routers declare too. (``Any``: the handler takes the replica state.)
LANE: dict[hot_routes.HotRoute, tuple[type[BaseModel], Handler]] = {
    hot_routes.USER_RECOMMENDATIONS: (RecommendationQuery, user_recommendations),
}
_LANE_MATCHERS = [(route, route.regex, model, handler) for route, (model, handler) in LANE.items()]


def list_params(model: type[BaseModel]) -> frozenset[str]:
    """Query parameters that repeat into a list; the others take their last value, as in
    FastAPI."""

    def is_list(annotation: Any) -> bool:
        if get_origin(annotation) is list:
            return True
        return get_origin(annotation) in (Union, UnionType) and any(
            is_list(a) for a in get_args(annotation)
        )

    return frozenset(name for name, f in model.model_fields.items() if is_list(f.annotation))


_LISTS = {model: list_params(model) for model, _ in LANE.values()}
# Labelled metric children looked up once: a label lookup per request is measurable here.
_METRICS = {
    route: (REQUESTS.labels(route.path, "GET", "200"), LATENCY.labels(route.path, "GET"))
    for route in LANE
}


class FastLaneAPI(FastAPI):
    """FastAPI, with the hot path answered before the middleware stack."""

    echo_request_id = True  # False where the server in front already echoes it (see create_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            start = time.perf_counter()
            answered = self._try(scope)
            if answered is not None:
                body, request_id, route = answered
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                if self.echo_request_id:
                    headers.append((b"x-request-id", request_id))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                answered_total, seconds = _METRICS[route]
                answered_total.inc()
                seconds.observe(time.perf_counter() - start)
                return
        await super().__call__(scope, receive, send)

    def _try(self, scope: Scope) -> tuple[bytes, bytes, hot_routes.HotRoute] | None:
        """The response body, request id and route, or None to let FastAPI answer."""
        matched = _match(scope["path"])
        if matched is None:
            return None
        route, params, model, handler = matched
        state = getattr(self.state, "gateway", None)
        if state is None or not state.args.fast_lane:
            return None
        request_id, has_body = _read_headers(scope["headers"])
        if has_body:
            return None  # a GET with a body: FastAPI applies the body limit
        # scope["path"] is already percent-decoded, as FastAPI's path parameters are.
        user_id = params["user_id"]  # lane routes are one user's (the cache is per user)
        raw_query: bytes = scope["query_string"]
        try:
            cache = state.service.response_cache
            # A hit's query string (or one the cache counts as equivalent) was valid before.
            body = cache.get(user_id, raw_query)
            if body is None:
                version = cache.version(user_id)
                query = model.model_validate(_query(raw_query, _LISTS[model]))
            # The one check of every path; charged once per request even if FastAPI re-runs.
            authorize_request(state, scope, "read", user_id=user_id, shared=route.shared)
            if body is None:
                body = orjson.dumps(handler(state, user_id, query))
                cache.put(user_id, raw_query, body, version)
        except (EntertainAIError, ValidationError):
            return None  # the FastAPI route re-runs and renders the error the one way
        return body, request_id or uuid.uuid4().hex.encode(), route


def _match(
    path: str,
) -> tuple[hot_routes.HotRoute, dict[str, str], type[BaseModel], Handler] | None:
    for route, regex, model, handler in _LANE_MATCHERS:
        found = regex.match(path)
        if found is not None:
            return route, found.groupdict(), model, handler
    return None


def _read_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """(client request id, whether a body is announced) in one pass; the key is read by
    ``authorize``, the rule every key check shares."""
    request_id = None
    has_body = False
    for name, value in headers:
        if name == b"x-request-id":
            request_id = value
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            has_body = True
    return request_id, has_body


def _query(raw: bytes, lists: frozenset[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in lists:
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    return params
