"""Personalised recommendations: the hot path, answered in the ingress replica itself."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from deployments.deps import Reader, State
from deployments.routes.convert import to_filters, to_items
from deployments.schemas import (
    BatchRecommendationRequest,
    BatchRecommendationResponse,
    FiltersIn,
    RecommendationResponse,
)
from entertainai.data.schemas import MATURITY_RATINGS
from entertainai.errors import InputError
from entertainai.recommend.hybrid import Preferences

router = APIRouter(prefix="/v1", tags=["recommendations"])

QUERY_PARAMS = {
    "k",
    "include_genres",
    "exclude_genres",
    "min_year",
    "max_year",
    "max_maturity",
    "diversity",
    "max_per_genre",
    "explain",
    "preferred_genres",
}


@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecommendationResponse,
    response_class=JSONResponse,
)
async def recommend_for_user(
    request: Request,
    user_id: str,
    state: State,
    _: Reader,
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    include_genres: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    exclude_genres: Annotated[list[str], Query()] = [],  # noqa: B006
    min_year: Annotated[int | None, Query(ge=1800, le=2200)] = None,
    max_year: Annotated[int | None, Query(ge=1800, le=2200)] = None,
    max_maturity: Annotated[Literal[MATURITY_RATINGS] | None, Query()] = None,  # type: ignore[valid-type]
    diversity: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    max_per_genre: Annotated[int | None, Query(ge=1, le=200)] = None,
    explain: bool = True,
    preferred_genres: Annotated[list[str], Query(description="stated tastes of a new user")] = [],  # noqa: B006
) -> JSONResponse:
    """Top-k items for one user (unknown users get the cold-start list)."""
    unknown = sorted(set(request.query_params) - QUERY_PARAMS)
    if unknown:
        raise InputError(f"unknown query parameters {unknown}; allowed: {sorted(QUERY_PARAMS)}")
    filters = to_filters(
        FiltersIn(
            include_genres=include_genres,
            exclude_genres=exclude_genres,
            min_year=min_year,
            max_year=max_year,
            max_maturity=max_maturity,
        )
    )
    rows = state.service.recommend(
        [user_id],
        k,
        filters=filters,
        diversity=diversity,
        max_per_genre=max_per_genre,
        explain_items=explain,
        preferences=Preferences(genres=tuple(preferred_genres)) if preferred_genres else None,
    )[0]
    # The hot path skips FastAPI's re-validation of the response (the schema documents it).
    return JSONResponse(
        {"user_id": user_id, "items": [r.__dict__ for r in rows], "model": _model_ref(state)}
    )


@router.post("/recommendations", response_model=BatchRecommendationResponse)
async def recommend_many(
    body: BatchRecommendationRequest, state: State, _: Reader
) -> BatchRecommendationResponse:
    """Top-k for many users at once (batched across requests by the batch deployment)."""
    filters = to_filters(body.filters)
    if state.batch is not None:
        rows = await state.batch.recommend.remote(body.user_ids, body.k, filters)
    else:
        rows = state.service.recommend(body.user_ids, body.k, filters=filters, explain_items=False)
    model = _model_ref(state)
    return BatchRecommendationResponse(
        results=[
            RecommendationResponse(user_id=u, items=to_items(r), model=model)
            for u, r in zip(body.user_ids, rows, strict=True)
        ]
    )


def _model_ref(state: State) -> str | None:
    mv = state.service.models.versions.get("model")
    return mv.ref if mv else None
