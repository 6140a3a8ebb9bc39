"""HTTP routes of the image generation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["image generation"])
