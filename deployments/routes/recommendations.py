"""Personalised recommendations: the hot path, answered in the ingress replica itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from deployments.deps import Reader, State
from deployments.hot_routes import USER_RECOMMENDATIONS, router_path
from deployments.routes.convert import to_filters, to_items
from deployments.schemas import (
    BatchRecommendationRequest,
    BatchRecommendationResponse,
    RecommendationQuery,
    RecommendationResponse,
)
from deployments.state import GatewayState
from entertainai.recommend.hybrid import Preferences

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.get(
    router_path(USER_RECOMMENDATIONS),
    response_model=RecommendationResponse,
    response_class=JSONResponse,
)
async def recommend_for_user(
    user_id: str,
    state: State,
    _: Reader,
    query: Annotated[RecommendationQuery, Query()],
) -> JSONResponse:
    """Top-k items for one user (unknown users get the cold-start list)."""
    # The hot path skips FastAPI's re-validation of the response (the schema documents it).
    return JSONResponse(user_recommendations(state, user_id, query))


def user_recommendations(state: GatewayState, user_id: str, q: RecommendationQuery) -> dict:
    """The response body of one user's recommendations (shared with the ASGI fast path)."""
    rows = state.service.recommend(
        [user_id],
        q.k,
        filters=to_filters(q),
        diversity=q.diversity,
        max_per_genre=q.max_per_genre,
        explain_items=q.explain,
        preferences=Preferences(genres=tuple(q.preferred_genres)) if q.preferred_genres else None,
    )[0]
    return {"user_id": user_id, "items": [r.__dict__ for r in rows], "model": _model_ref(state)}


@router.post("/recommendations", response_model=BatchRecommendationResponse)
async def recommend_many(
    body: BatchRecommendationRequest, state: State, _: Reader
) -> BatchRecommendationResponse:
    """Top-k for many users at once (batched across requests by the batch deployment)."""
    filters = to_filters(body.filters)
    if state.batch is not None:
        answer = await state.batch.recommend.remote(body.user_ids, body.k, filters)
        rows, model = answer.rows, answer.model  # the version that ranked them
    else:
        rows = state.service.recommend(body.user_ids, body.k, filters=filters, explain_items=False)
        model = _model_ref(state)
    return BatchRecommendationResponse(
        results=[
            RecommendationResponse(user_id=u, items=to_items(r), model=model)
            for u, r in zip(body.user_ids, rows, strict=True)
        ]
    )


def _model_ref(state: GatewayState) -> str | None:
    mv = state.service.models.versions.get("model")
    return mv.ref if mv else None
