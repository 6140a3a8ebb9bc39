"""Request and response schemas (pydantic): strict, so bad input is a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from entertainai.data.schemas import EVENT_TYPES, MATURITY_RATINGS
from entertainai.serving.security import DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S

Id = Annotated[str, Field(min_length=1, max_length=256)]
K = Annotated[int, Field(ge=1, le=200, description="how many items")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(Strict):
    include_genres: list[str] = Field(default_factory=list, max_length=50)
    exclude_genres: list[str] = Field(default_factory=list, max_length=50)
    min_year: int | None = Field(default=None, ge=1800, le=2200)
    max_year: int | None = Field(default=None, ge=1800, le=2200)
    max_maturity: Literal[MATURITY_RATINGS] | None = None  # type: ignore[valid-type]
    exclude_items: list[Id] = Field(default_factory=list, max_length=1000)
    allow_items: list[Id] | None = Field(default=None, max_length=100_000)


class RecommendationQuery(FiltersIn):
    """Query parameters of one user's recommendations: the filters of every recommendation
    request plus ranking knobs (unknown parameters are a 422)."""

    k: K = 10
    diversity: float = Field(default=0.0, ge=0.0, le=1.0)
    max_per_genre: int | None = Field(default=None, ge=1, le=200)
    explain: bool = True
    preferred_genres: list[str] = Field(
        default_factory=list, max_length=50, description="stated tastes of a new user"
    )


class RecommendedItem(BaseModel):
    item_id: str
    rank: int
    score: float
    title: str
    genres: list[str]
    reason: str = ""
    explanation: str = ""
    explored: bool = False


class RecommendationResponse(BaseModel):
    user_id: str
    items: list[RecommendedItem]
    model: str | None = None


class BatchRecommendationRequest(Strict):
    user_ids: list[Id] = Field(min_length=1, max_length=1000)
    k: K = 10
    filters: FiltersIn = Field(default_factory=FiltersIn)


class TokenRequest(Strict):
    ttl_s: float = Field(
        default=DEFAULT_TOKEN_TTL_S, gt=0, le=MAX_TOKEN_TTL_S, description="seconds valid"
    )


class TokenResponse(BaseModel):
    user_id: str
    token: str
    expires: int  # unix seconds
    token_type: Literal["bearer"] = "bearer"


class BatchRecommendationResponse(BaseModel):
    results: list[RecommendationResponse]


class ItemsResponse(BaseModel):
    items: list[RecommendedItem]


class EventIn(Strict):
    user_id: Id
    item_id: Id
    event_type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    value: float | None = Field(default=None, allow_inf_nan=False)
    timestamp: float | None = Field(default=None, description="unix seconds; default: now")
    device: str | None = Field(default=None, max_length=64)


class EventsRequest(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=10_000)


class EventsResponse(BaseModel):
    accepted: int


class ItemIn(Strict):
    item_id: Id
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)
    genres: list[str] = Field(default_factory=list, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=100)
    year: int | None = Field(default=None, ge=1800, le=2200)
    kind: str = Field(default="movie", max_length=32)
    maturity_rating: Literal[MATURITY_RATINGS] | None = None  # type: ignore[valid-type]
    available: bool = True

    @field_validator("genres", "tags")
    @classmethod
    def _non_empty(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("empty strings are not allowed")
        return values


class ItemsRequest(Strict):
    items: list[ItemIn] = Field(min_length=1, max_length=1000)


class ItemsAdded(BaseModel):
    added: list[str]
    blocked: list[str] = []  # added, but moderation flagged them: kept out of every list


class ErasureResponse(BaseModel):
    user_id: str
    events_removed: int  # from this replica's log; the others erase theirs on their next tick
    other_replicas_within_s: float = 0.0


class ErrorBody(BaseModel):
    error: str
    detail: str | list | None = None
    request_id: str | None = None
