"""Typed arguments of the app builder (``serve run deployments.app:build_app registry=...``)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

from entertainai.serving.service import ServiceConfig

# Capability deployments the Gateway can compose (see deployments/app.py).
CAPABILITY_NAMES = (
    "generate_text",
    "generate_image",
    "generate_music",
    "analyze_text",
    "moderate",
    "insights",
)


class AppArgs(BaseModel):
    registry: str = Field(
        default_factory=lambda: os.environ.get("ENTERTAINAI_ARTIFACTS", "./artifacts")
    )
    model: str = "hybrid@production"
    trending: str | None = None
    event_dir: str | None = "./runs/events"
    api_keys_file: str | None = Field(
        default=None, description="JSON secrets file of hashed keys; else $ENTERTAINAI_API_KEYS"
    )
    require_api_key: bool = True
    # Per key (per user for tokens) across the whole Gateway deployment: each replica enforces
    # its share, the limit divided by the replica count (see gateway.limit_share).
    rate_limit_per_s: float = Field(default=200.0, gt=0)
    rate_limit_burst: int = Field(default=400, ge=1)
    # The replica count the limits are divided by; None: Serve's (max_replicas when autoscaling).
    rate_limit_replicas: int | None = Field(default=None, ge=1)
    # Answer GET /v1/users/{id}/recommendations before FastAPI (deployments/fastlane.py);
    # False sends it the FastAPI way (same answers, ~8x the CPU per request).
    fast_lane: bool = True
    # The web app at / (deployments/web); False serves the API alone (it costs the API nothing:
    # benchmarks/serve_load.py --web both measures that).
    web_app: bool = True
    max_body_bytes: int = 1_000_000
    max_k: int = 200
    explore_every: int | None = None
    response_cache_ttl_s: float = 1.0  # per-user micro-cache of the hot path; 0 disables
    reload_interval_s: float = 5.0  # how often replicas check the registry alias (promote/rollback)
    # Live feed between replicas (long-polled): how soon a follower asks again after a failed
    # call, and how many updates the feed keeps for replicas that start late.
    feed_interval_s: float = Field(default=0.25, gt=0)
    feed_retention: int = Field(default=50_000, gt=0)
    # Where POST /v1/items records new items for replicas and models that come later (shared by
    # every replica, like the registry); default: the registry root.
    catalogue_root: str | None = Field(
        default_factory=lambda: os.environ.get("ENTERTAINAI_CATALOGUE_ROOT")
    )
    pseudonymize_user_ids: bool = False  # needs $ENTERTAINAI_PSEUDONYM_SECRET
    batch_max_size: int = 64
    batch_wait_timeout_s: float = 0.005
    # Capability deployments (generation, analytics, moderation): role -> registry ref, over
    # each deployment's own defaults (e.g. {"text": "text_transformer@7"}).
    capability_models: dict[str, str] = Field(default_factory=dict)
    # Curation: the dataset whose descriptions and comments moderation screens; items it
    # blocks are kept out of recommendations, similar items and trending (needs "moderate").
    curation_dataset: str | None = None
    # Which capability deployments this graph composes (all by default).
    capabilities: list[Literal[CAPABILITY_NAMES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(CAPABILITY_NAMES)
    )

    def service_config(self) -> ServiceConfig:
        return ServiceConfig(
            registry=self.registry,
            model=self.model,
            trending=self.trending,
            event_dir=self.event_dir,
            max_k=self.max_k,
            explore_every=self.explore_every,
            response_cache_ttl_s=self.response_cache_ttl_s,
            catalogue_root=self.catalogue_root,
        )
