"""Typed FastAPI dependencies: the replica state and scoped, rate-limited API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from deployments.state import GatewayState
from entertainai.errors import EntertainAIError, Unavailable
from entertainai.serving.security import SCOPES, Principal, key_from_headers


class RateLimited(EntertainAIError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"rate limit exceeded; retry after {retry_after_s:.2f}s")


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway


State = Annotated[GatewayState, Depends(get_state)]


def require(scope: str):  # noqa: ANN201 - a FastAPI dependency factory
    def dependency(
        request: Request,
        state: State,
        # Declared for the OpenAPI schema; the key itself is read from the raw headers, by
        # the one rule the fast lane and the key gate use (duplicates refused).
        x_api_key: Annotated[str | None, Header(description="API key")] = None,
        authorization: Annotated[str | None, Header(description="Bearer API key")] = None,
    ) -> Principal:
        if not state.args.require_api_key:
            return Principal("anonymous", frozenset(SCOPES))
        principal = state.keys.require(key_from_headers(request.scope["headers"]), scope)
        retry = state.limiter.check(principal.name)
        if retry > 0:
            raise RateLimited(retry)
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require("read"))]
EventWriter = Annotated[Principal, Depends(require("write-events"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def capability(name: str):  # noqa: ANN201 - a FastAPI dependency factory
    """The handle of a composed capability deployment, or 503 when the graph lacks it.

    Depends on ``Reader`` so the key is checked first: callers without a valid key learn
    nothing about which capabilities are deployed.
    """

    def dependency(state: State, _: Reader) -> Any:
        handle = state.capabilities.get(name)
        if handle is None:
            raise Unavailable(f"the {name!r} capability is not deployed in this graph")
        return handle

    return dependency
