"""HTTP routes of the moderation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from deployments.deps import Reader, capability
from entertainai.errors import InputError, LimitExceeded

MAX_TEXTS = 256
MAX_TEXT_CHARS = 5000
MAX_IMAGES = 16
MAX_IMAGE_BYTES = 512 * 1024

Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
# base64 of at most MAX_IMAGE_BYTES (4 characters per 3 bytes, plus padding)
Image = Annotated[str, StringConstraints(min_length=4, max_length=(MAX_IMAGE_BYTES + 2) // 3 * 4)]


class ModerateTextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)
    thresholds: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] | None = Field(
        None, description="per-category overrides of the trained thresholds"
    )


class Verdict(BaseModel):
    flagged: bool
    reasons: list[str]
    scores: dict[str, float]


class ModerateTextResponse(BaseModel):
    model: str
    thresholds: dict[str, float]
    results: list[Verdict]


class ModerateImageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: list[Image] = Field(
        min_length=1, max_length=MAX_IMAGES, description="base64-encoded PNG/JPEG/... files"
    )
    top_k: int = Field(3, ge=1, le=20)


class Tag(BaseModel):
    label: str
    score: float


class ImageVerdict(Verdict):
    tags: list[Tag]


class ModerateImageResponse(BaseModel):
    model: str
    results: list[ImageVerdict]


ModeratorHandle = Annotated[Any, Depends(capability("moderate"))]

router = APIRouter(prefix="/v1", tags=["moderation"])


@router.post("/moderate/text", response_model=ModerateTextResponse)
async def moderate_text(
    body: ModerateTextRequest, _: Reader, handle: ModeratorHandle
) -> dict[str, Any]:
    """Toxicity/spam scores per category and a flagged verdict with reasons for each text."""
    return await handle.text_report.remote(body.texts, body.thresholds)


def decode_images(images: list[str]) -> list[bytes]:
    out = []
    for i, text in enumerate(images):
        try:
            blob = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("not valid base64", location=f"images[{i}]") from None
        if len(blob) > MAX_IMAGE_BYTES:
            raise LimitExceeded(
                f"{len(blob)} bytes; at most {MAX_IMAGE_BYTES}", location=f"images[{i}]"
            )
        out.append(blob)
    return out


@router.post("/moderate/image", response_model=ModerateImageResponse)
async def moderate_image(
    body: ModerateImageRequest, _: Reader, handle: ModeratorHandle
) -> dict[str, Any]:
    """Safety verdict (unsafe classes over threshold) and top tags of each base64 image."""
    return await handle.check_images.remote(decode_images(body.images), body.top_k)
