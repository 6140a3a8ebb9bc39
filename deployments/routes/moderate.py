"""HTTP routes of the moderation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["moderation"])
