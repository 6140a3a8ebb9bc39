"""Typed FastAPI dependencies: the replica state and scoped, rate-limited API keys and tokens."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from deployments.hot_routes import SHARED_PATHS
from deployments.state import GatewayState
from entertainai.errors import Unavailable
from entertainai.fs import resolve
from entertainai.serving.security import (
    Principal,
    TokenSigner,
    authorize,
)

TOKEN_DIR = "_tokens"
_signer_lock = threading.Lock()


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway


State = Annotated[GatewayState, Depends(get_state)]


def token_signer(state: GatewayState) -> TokenSigner:
    """The replicas' shared token signer: ``$ENTERTAINAI_TOKEN_SECRET`` (read with the keys),
    else a random secret written once under the registry root, beside the web sessions'."""
    if state.keys.tokens is None:
        with _signer_lock:
            if state.keys.tokens is None:
                state.keys.tokens = TokenSigner(_stored_secret(state.args.registry))
    return state.keys.tokens


def _stored_secret(root: str) -> bytes:
    location = resolve(root).join(TOKEN_DIR)
    location.fs.create_dir(location.path, recursive=True)
    file = location.join("secret")
    if not file.exists():
        file.write_bytes(secrets.token_hex(32).encode())
        if file.is_local:
            os.chmod(file.path, 0o600)
    # Read back what is stored: when two replicas start at once, both use the one kept.
    return file.read_bytes().strip()


def authorize_request(
    state: GatewayState,
    request: MutableMapping[str, Any],
    scope: str,
    *,
    user_id: str | None = None,
    shared: bool = False,
) -> Principal:
    """``security.authorize`` with this replica's keys and limiter: the one check that the
    fast lane, the key gate and every route dependency make (``request``: the ASGI scope)."""
    if not state.args.require_api_key:
        return authorize(None, request, scope)
    if state.keys.tokens is None:
        token_signer(state)  # once per replica: tokens verify on every replica
    return authorize(
        state.keys, request, scope, user_id=user_id, shared=shared, limiter=state.limiter
    )


def require(scope: str):  # noqa: ANN201 - a FastAPI dependency factory
    def dependency(
        request: Request,
        state: State,
        # Declared for the OpenAPI schema; the key itself is read from the raw headers, by
        # the one rule every path uses (duplicates refused).
        x_api_key: Annotated[str | None, Header(description="API key or user token")] = None,
        authorization: Annotated[str | None, Header(description="Bearer key or token")] = None,
    ) -> Principal:
        route = getattr(request.scope.get("route"), "path", "")
        return authorize_request(
            state,
            request.scope,
            scope,
            user_id=request.path_params.get("user_id"),
            shared=route in SHARED_PATHS,
        )

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
