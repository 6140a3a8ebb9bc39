"""What one ingress replica holds: the service, the key store, the limiter, the batch handle."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from deployments import follow
from deployments.settings import AppArgs
from entertainai.errors import EntertainAIError, InputError, Unavailable
from entertainai.serving.forget import Eraser
from entertainai.serving.pseudonyms import PSEUDONYM_SECRET_ENV, Pseudonymizer
from entertainai.serving.security import ApiKeyStore, RateLimiter
from entertainai.serving.service import RecommendationService

log = logging.getLogger(__name__)


@dataclass
class GatewayState:
    args: AppArgs
    service: RecommendationService
    keys: ApiKeyStore
    limiter: RateLimiter
    batch: Any = None  # DeploymentHandle of the batch recommender, when composed
    capabilities: dict[str, Any] = field(default_factory=dict)  # generation, analytics, moderation
    erasures: Eraser | None = None
    feed: Any = None  # a deployments.feed.FeedFollower when the graph has a live feed

    async def publish(self, kind: str, payload: Any) -> None:
        """Pass a live update this replica applied on to the other replicas (if any)."""
        if self.feed is not None:
            await self.feed.publish(kind, payload)

    @classmethod
    def build(
        cls, args: AppArgs, *, replica_id: str | None = None, batch: Any = None
    ) -> GatewayState:
        """``replica_id`` names the event log directory; None: this node's lowest free slot."""
        keys = ApiKeyStore.load(args.api_keys_file) if args.require_api_key else ApiKeyStore()
        if args.require_api_key and not len(keys):
            raise InputError(
                "no API keys configured: set ENTERTAINAI_API_KEYS or api_keys_file "
                "(python -m entertainai.serving.security NAME --scopes read+write-events+admin)"
            )
        pseudonymizer = None
        if args.pseudonymize_user_ids:
            secret = os.environ.get(PSEUDONYM_SECRET_ENV, "")
            if len(secret) < 16:
                raise InputError(f"pseudonymize_user_ids needs ${PSEUDONYM_SECRET_ENV} (16+ chars)")
            pseudonymizer = Pseudonymizer(secret.encode())
        service = RecommendationService.from_config(
            args.service_config(), replica_id=replica_id, pseudonymizer=pseudonymizer
        )
        state = cls(
            args, service, keys, RateLimiter(args.rate_limit_per_s, args.rate_limit_burst), batch
        )
        # Requests made while this replica was away are still pending for its log (the
        # ledger lists the logs that must apply each): nothing is taken as applied here.
        state.erasures = Eraser(
            service,
            args.registry,
            event_dir=args.event_dir,
            datasets=[args.curation_dataset] if args.curation_dataset else [],
        )
        state.publish_versions()
        return state

    def erase_user(self, user_id: str) -> int:
        """Record the request for every replica first, then erase what this replica reaches
        (see ``entertainai.serving.forget``); returns the events removed from its own log.

        Raises :class:`Unavailable` if a step failed: the request is recorded, and the step
        is retried within ``reload_interval_s``.
        """
        assert self.erasures is not None
        outcome = self.erasures.request(user_id)
        if outcome.failures:
            raise Unavailable(
                f"erasure recorded, not yet complete (retried within "
                f"{self.args.reload_interval_s:g} s): {'; '.join(outcome.failures)}"
            )
        return outcome.events_removed

    async def refresh_curation(self) -> bool:
        """Follow the moderation block list of ``curation_dataset`` (see deployments.follow)."""
        return await follow.refresh_curation(
            self.service, self.capabilities.get("moderate"), self.args.curation_dataset
        )

    async def screen_new_items(self, items: list[tuple[str, str]]) -> list[str]:
        """Item ids whose title/description moderation flags (blocked, not refused)."""
        moderator = self.capabilities.get("moderate")
        if moderator is None or not items:
            return []
        try:
            verdicts = await moderator.check_texts.remote([text for _, text in items])
        except EntertainAIError as exc:
            # No moderation model trained yet (as after `make run`): like dataset curation,
            # nothing is blocked until one exists, rather than refusing every new item.
            log.warning("new items not screened: %s", getattr(exc, "cause", None) or exc)
            return []
        return [item for (item, _), v in zip(items, verdicts, strict=True) if v["flagged"]]

    def apply_erasures(self) -> int:
        """Apply erasure requests this replica has not (called on each watch tick); returns
        how many its own log applied."""
        return self.erasures.tick() if self.erasures is not None else 0

    def publish_versions(self) -> None:
        follow.publish_versions(self.service)

    def serving_versions(self) -> dict[str, int | None]:
        return self.service.serving_versions()

    def reload_if_changed(self) -> bool:
        """Load and swap in new versions when an alias moved (promote or rollback)."""
        return follow.reload(self.service, "Gateway", self.args.service_config())
