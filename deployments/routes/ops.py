"""Operations: health, readiness, metrics and what is serving."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from deployments.deps import Reader, State
from deployments.observability import metrics_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> Response | dict[str, Any]:
    """Readiness: models are loaded and the replica can serve."""
    state = getattr(request.app.state, "gateway", None)
    if state is None:
        return Response('{"status": "loading"}', status_code=503, media_type="application/json")
    return {"status": "ready", "serving": state.serving_versions()}


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics of this replica."""
    return metrics_response()


@router.get("/v1/models")
async def models(state: State, _: Reader) -> dict[str, Any]:
    """The model versions this replica serves, with their offline metrics."""
    return state.service.model_info()
