"""HTTP routes of the text generation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from deployments.capability import MAX_TIME_BUDGET_S
from deployments.deps import Reader, capability
from entertainai.errors import ContentRefused, EntertainAIError, LimitExceeded

log = logging.getLogger(__name__)

MAX_TOTAL_CHARS = 4000  # max_new_tokens x num_samples per request

StopString = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class TextGenerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field("", max_length=2000, description="text to continue")
    model: Literal["text", "text_lstm"] = Field("text", description="transformer or LSTM")
    max_new_tokens: int = Field(200, ge=1, le=1000, description="characters per sample")
    temperature: float = Field(1.0, ge=0.0, le=5.0, description="0 = greedy")
    top_k: int | None = Field(None, ge=1, le=1000)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: list[StopString] = Field(default_factory=list, max_length=4)
    num_samples: int = Field(1, ge=1, le=8)
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="same seed, same text")
    stream: bool = Field(False, description="stream one sample's text as it is generated")
    time_budget_s: float = Field(
        20.0, gt=0.0, le=MAX_TIME_BUDGET_S, description="per-request time limit"
    )

    @model_validator(mode="after")
    def _limits(self) -> TextGenerationRequest:
        if self.max_new_tokens * self.num_samples > MAX_TOTAL_CHARS:
            raise LimitExceeded(
                f"max_new_tokens x num_samples must be <= {MAX_TOTAL_CHARS}",
                location="body",
            )
        if self.stream and self.num_samples != 1:
            raise LimitExceeded("stream=true generates one sample (num_samples=1)", location="body")
        return self


class TextGenerationResponse(BaseModel):
    model: str | None
    prompt: str
    texts: list[str]
    finish_reasons: list[str]
    new_tokens: list[int]
    elapsed_s: float


router = APIRouter(prefix="/v1", tags=["text generation"])

Generator = Annotated[Any, Depends(capability("generate_text"))]


async def moderate(request: Request, texts: list[str]) -> None:
    """Refuse generated text that the moderation capability flags (when it is deployed)."""
    moderator = request.app.state.gateway.capabilities.get("moderate")
    if moderator is None:
        return
    verdicts = await moderator.check_texts.remote(texts)
    for i, verdict in enumerate(verdicts):
        if verdict.get("flagged"):
            reasons = ", ".join(verdict.get("reasons") or ["flagged"])
            raise ContentRefused(f"generated sample {i + 1} refused by moderation: {reasons}")


@router.post("/generate/text", response_model=TextGenerationResponse)
async def generate_text(
    body: TextGenerationRequest, request: Request, handle: Generator, _: Reader
) -> Any:
    """Continue a prompt with a trained text model (JSON, or streamed text when stream=true)."""
    payload = body.model_dump(exclude={"stream"})
    if not body.stream:
        result = await handle.generate.remote(payload)
        await moderate(request, result["texts"])
        return result
    await handle.check.remote(payload)  # bad input is a 4xx before the stream opens
    if request.app.state.gateway.capabilities.get("moderate") is not None:
        # Moderation needs the whole text: generate, check, then send it as one piece.
        result = await handle.generate.remote(payload)
        await moderate(request, result["texts"])
        return StreamingResponse(_one(result["texts"][0]), media_type="text/plain")
    pieces = handle.options(stream=True).stream.remote(payload)
    return StreamingResponse(_pieces(pieces), media_type="text/plain")


async def _one(text: str) -> AsyncIterator[str]:
    yield text


async def _pieces(pieces: Any) -> AsyncIterator[str]:
    try:
        async for piece in pieces:
            yield piece
    except EntertainAIError as exc:  # e.g. the time budget: the status line is already sent
        log.warning("text stream ended early: %s", exc)
