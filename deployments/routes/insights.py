"""HTTP routes of the insights capability (composed through a DeploymentHandle)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from deployments.deps import Reader, capability

MAX_POINTS = 10_000
MAX_SERIES = 100
MAX_HORIZON = 365
MAX_TEXTS = 256

Text = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class SeriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unique_id: str = Field("platform", min_length=1, max_length=200)
    ds: list[str] = Field(min_length=2, max_length=MAX_POINTS, description="ISO dates/times")
    y: list[float] = Field(min_length=2, max_length=MAX_POINTS)


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: list[SeriesIn] = Field(min_length=1, max_length=MAX_SERIES)
    horizon: int = Field(7, ge=1, le=MAX_HORIZON)
    level: float = Field(0.9, ge=0.5, le=0.99, description="nominal interval coverage")
    gaps: Literal["error", "zero", "interpolate"] = "error"

    @model_validator(mode="after")
    def _total_points(self) -> ForecastRequest:
        total = sum(len(s.ds) for s in self.series)
        if total > MAX_POINTS:
            raise ValueError(f"{total} points in all series; at most {MAX_POINTS}")
        return self


class ForecastPoint(BaseModel):
    unique_id: str
    ds: str
    yhat: float
    yhat_lower: float
    yhat_upper: float
    seasonal_naive: float
    model: str


class ModelScoreOut(BaseModel):
    model: str
    smape: float
    mase: float
    coverage: float


class SeriesForecast(BaseModel):
    unique_id: str
    chosen: str
    level: float
    n_origins: int
    scores: list[ModelScoreOut]
    points: list[ForecastPoint]


class ForecastResponse(BaseModel):
    forecasts: list[SeriesForecast]


class SegmentsResponse(BaseModel):
    model: str | None
    k: int
    segments: list[dict[str, Any]]
    selection: list[dict[str, Any]]


class UserSegmentResponse(BaseModel):
    model: str | None
    user_id: str
    segment: int
    name: str


class TopicsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)


class TopicOut(BaseModel):
    topic: int
    label: str
    top_words: list[str]


class TopicShares(BaseModel):
    shares: list[float]
    top_topic: int | None


class TopicsResponse(BaseModel):
    model: str | None
    topics: list[TopicOut]
    results: list[TopicShares]


Insights = Annotated[Any, Depends(capability("insights"))]

router = APIRouter(prefix="/v1", tags=["insights"])


@router.post("/forecast", response_model=ForecastResponse)
async def forecast(body: ForecastRequest, _: Reader, handle: Insights) -> dict[str, Any]:
    """Forecast each series with intervals, the backtest-chosen model and seasonal naive."""
    return await handle.forecast.remote(body.model_dump())


@router.get("/segments", response_model=SegmentsResponse)
async def segments(_: Reader, handle: Insights) -> dict[str, Any]:
    """User segments of the production model: sizes, profiles and how k was chosen."""
    return await handle.segments.remote()


@router.get("/users/{user_id}/segment", response_model=UserSegmentResponse)
async def user_segment(
    user_id: Annotated[str, Path(min_length=1, max_length=200)], _: Reader, handle: Insights
) -> dict[str, Any]:
    """The segment of one known user (404 for users the model has not segmented)."""
    return await handle.user_segment.remote(user_id)


@router.post("/analyze/topics", response_model=TopicsResponse)
async def analyze_topics(body: TopicsRequest, _: Reader, handle: Insights) -> dict[str, Any]:
    """Topic shares of each text, in order, with every topic's top words."""
    return await handle.topics.remote(body.texts)
