"""HTTP routes of the image generation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from deployments.capability import MAX_TIME_BUDGET_S
from deployments.deps import Reader, capability
from entertainai.errors import InputError, LimitExceeded

MAX_IMAGES = 64
MAX_SCALE = 16
# Output pixels grow as images x scale^2: 64 images at 16x were 16,384 sample-sized tiles to
# upscale and PNG-encode in one request. 256 tiles: 64 images at 2x, 16 at 4x, 1 at 16x.
MAX_TILES = 256
IMAGE_TIME_BUDGET_S = 10.0  # sampling and encoding MAX_TILES tiles takes well under a second
MAX_STYLE_SIZE = 256
MAX_STYLE_STEPS = 300
MAX_UPLOAD_BYTES = 400_000  # per decoded image; the request body cap is the app's
MAX_BASE64_CHARS = 4 * MAX_UPLOAD_BYTES // 3 + 4


class ImageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num: int = Field(1, ge=1, le=MAX_IMAGES, description="how many images")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="same seed, same images")
    grid: bool = Field(False, description="also (format=png: only) one grid of all images")
    scale: int = Field(
        1, ge=1, le=MAX_SCALE, description=f"enlarge pixels N times; num x scale^2 <= {MAX_TILES}"
    )
    format: Literal["png", "json"] = Field(
        "png", description="image/png bytes (one image or the grid), or JSON with base64 PNGs"
    )


class ImageResponse(BaseModel):
    model: str | None
    seed: int
    width: int
    height: int
    channels: int
    images_base64: list[str]
    grid_base64: str | None
    elapsed_s: float


class StyleTransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        ..., min_length=1, max_length=MAX_BASE64_CHARS, description="content PNG/JPEG, base64"
    )
    style: str = Field(
        ..., min_length=1, max_length=MAX_BASE64_CHARS, description="style PNG/JPEG, base64"
    )
    size: int = Field(128, ge=16, le=MAX_STYLE_SIZE, description="longest side of the output")
    steps: int = Field(100, ge=1, le=MAX_STYLE_STEPS, description="optimisation steps")
    style_weight: float = Field(10.0, ge=0.0, le=1e6)
    content_weight: float = Field(1.0, ge=0.0, le=1e6)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    time_budget_s: float = Field(
        20.0,
        gt=0.0,
        le=MAX_TIME_BUDGET_S,
        description="optimisation stops early (and says so) after this",
    )
    format: Literal["png", "json"] = Field("png", description="image/png, or JSON with base64")


class StyleTransferResponse(BaseModel):
    model: str
    width: int
    height: int
    steps_run: int
    stopped_early: bool
    style_loss: float
    content_loss: float
    image_base64: str
    elapsed_s: float


router = APIRouter(prefix="/v1", tags=["image generation"])

Images = Annotated[Any, Depends(capability("generate_image"))]


def decode_upload(text: str, field: str) -> bytes:
    """Strict base64 (a ``data:image/...;base64,`` prefix is accepted) -> bytes, size-capped."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid base64", location=field) from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise LimitExceeded(f"decoded image is over {MAX_UPLOAD_BYTES} bytes", location=field)
    return data


@router.post(
    "/generate/image",
    response_model=ImageResponse,
    responses={200: {"content": {"image/png": {}}}},
)
async def generate_image(body: ImageRequest, handle: Images, _: Reader) -> Any:
    """Sample images from the DCGAN: one PNG (or the grid), or JSON with base64 PNGs."""
    if body.format == "png" and body.num > 1 and not body.grid:
        raise InputError("format=png returns one image: use num=1, grid=true or format=json")
    tiles = body.num * body.scale**2 * (2 if body.grid else 1)
    if tiles > MAX_TILES:
        raise LimitExceeded(
            f"num x scale^2 (x2 with grid) is {tiles}, over {MAX_TILES}: fewer or smaller images",
            location="body",
        )
    request = {"num_images": body.num, "seed": body.seed, "grid": body.grid, "scale": body.scale}
    try:
        out = await asyncio.wait_for(handle.generate.remote(request), IMAGE_TIME_BUDGET_S)
    except TimeoutError:  # the call is cancelled on the replica too
        raise LimitExceeded(
            f"image generation took over its {IMAGE_TIME_BUDGET_S:g} s budget"
        ) from None
    if body.format == "png":
        png = out["grid_png"] if body.grid else out["png"][0]
        headers = {"x-model": str(out["model"]), "x-seed": str(out["seed"])}
        return Response(content=png, media_type="image/png", headers=headers)
    return ImageResponse(
        model=out["model"],
        seed=out["seed"],
        width=out["width"],
        height=out["height"],
        channels=out["channels"],
        images_base64=[base64.b64encode(p).decode() for p in out["png"]],
        grid_base64=base64.b64encode(out["grid_png"]).decode() if out["grid_png"] else None,
        elapsed_s=out["elapsed_s"],
    )


@router.post(
    "/generate/style-transfer",
    response_model=StyleTransferResponse,
    responses={200: {"content": {"image/png": {}}}},
)
async def style_transfer(body: StyleTransferRequest, handle: Images, _: Reader) -> Any:
    """Render a content image in a style image's texture (image/png or JSON)."""
    request = body.model_dump(exclude={"format", "content", "style"})
    request["content"] = decode_upload(body.content, "content")
    request["style"] = decode_upload(body.style, "style")
    out = await handle.style_transfer.remote(request)
    if body.format == "png":
        headers = {
            "x-model": out["model"],
            "x-steps-run": str(out["steps_run"]),
            "x-stopped-early": str(out["stopped_early"]).lower(),
        }
        return Response(content=out["png"], media_type="image/png", headers=headers)
    return StyleTransferResponse(
        model=out["model"],
        width=out["width"],
        height=out["height"],
        steps_run=out["steps_run"],
        stopped_early=out["stopped_early"],
        style_loss=out["style_loss"],
        content_loss=out["content_loss"],
        image_base64=base64.b64encode(out["png"]).decode(),
        elapsed_s=out["elapsed_s"],
    )
