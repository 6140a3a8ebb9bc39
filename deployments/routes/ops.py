"""Operations: health, readiness, metrics and what is serving."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from deployments.deps import Reader, State
from deployments.observability import metrics_response
from deployments.readiness import readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> Response | dict[str, Any]:
    """Readiness: the replica serves; "degraded" lists models missing or refused, and why."""
    state = getattr(request.app.state, "gateway", None)
    if state is None:
        return Response('{"status": "loading"}', status_code=503, media_type="application/json")
    return await readiness(state)


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics of this replica."""
    return metrics_response()


@router.get("/v1/models")
async def models(state: State, _: Reader) -> dict[str, Any]:
    """The model versions this replica serves, with their offline metrics and reload state."""
    return {**state.service.model_info(), "reload": state.service.reload_status.to_json()}
