"""HTTP routes of the text analytics capability (composed through a DeploymentHandle)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from deployments.deps import Reader, capability

MAX_TEXTS = 256
MAX_TEXT_CHARS = 5000

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class TextsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS, description="texts, in order")


class TextResult(BaseModel):
    label: str | None = Field(description="the top class; multi-label: labels joined by '|'")
    labels: list[str] = Field(description="every predicted label (multi-label: over thresholds)")
    probabilities: dict[str, float]
    compound: float | None = Field(None, description="sentiment: P(positive) - P(negative)")
    top: str | None = Field(None, description="multi-label: the most likely label")


class AnalyzeResponse(BaseModel):
    model: str = Field(description="the registry version that answered (or the fallback)")
    results: list[TextResult]


Analyzer = Annotated[Any, Depends(capability("analyze_text"))]

router = APIRouter(prefix="/v1", tags=["text analytics"])


@router.post("/analyze/sentiment", response_model=AnalyzeResponse)
async def analyze_sentiment(body: TextsRequest, _: Reader, handle: Analyzer) -> dict[str, Any]:
    """Sentiment (negative/neutral/positive probabilities and compound score) of each text."""
    return await handle.sentiment.remote(body.texts)


@router.post("/analyze/emotion", response_model=AnalyzeResponse)
async def analyze_emotion(body: TextsRequest, _: Reader, handle: Analyzer) -> dict[str, Any]:
    """Emotions of each text: per-label probabilities and the labels over their thresholds."""
    return await handle.emotion.remote(body.texts)


@router.post("/classify/text", response_model=AnalyzeResponse)
async def classify_text(body: TextsRequest, _: Reader, handle: Analyzer) -> dict[str, Any]:
    """Category of each text (articles, descriptions) with per-class probabilities."""
    return await handle.classify.remote(body.texts)
