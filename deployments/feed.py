"""The live feed in the graph: one small deployment, followed by every replica that holds state.

An event or a new catalogue item reaches one Gateway replica, which logs and applies it, then
publishes it here; every other Gateway replica (and the batch deployment) is waiting in a long
poll and replays it at once, so the next answer reflects it whichever replica serves it.
The logic is ``entertainai.serving.feed``; this file is transport.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import Counter
from ray import serve

from deployments.observability import FEED_ERRORS, FEED_MISSED, FEED_REPLAYED, REGISTRY
from deployments.settings import AppArgs
from entertainai.serving.feed import (
    FORGET,
    ITEMS,
    PAGE_BYTES,
    PAGE_UPDATES,
    FeedPage,
    LiveFeed,
    Update,
)
from entertainai.serving.service import RecommendationService

log = logging.getLogger(__name__)

LONG_POLL_S = 10.0  # how long a follower's call waits for news before asking again
# A publish that takes longer than this is given up (the update is durable and applied here
# already); a poll gets its long-poll wait plus this before it counts as failed.
CALL_TIMEOUT_S = 5.0

FEED_SKIPPED = Counter(
    "entertainai_feed_updates_skipped_total",
    "Live updates from other replicas that failed to apply here and were skipped",
    ["kind"],
    registry=REGISTRY,
)


@serve.deployment(name="LiveFeed")
class LiveFeedDeployment:
    """Exactly one replica (``serve_config.yaml``): the order of updates is its log's order.

    ``since`` is a long poll: with nothing new it waits up to ``wait_s`` for the next publish,
    so followers hear of an update within milliseconds and cost nothing while all is quiet
    (polling every 0.25 s cost ~0.1 of a core across the graph here, for nothing)."""

    def __init__(self, args: dict[str, Any]) -> None:
        self.feed = LiveFeed(AppArgs(**args).feed_retention)
        self._published = asyncio.Event()

    async def publish(self, origin: str, kind: str, payload: Any) -> int:
        seq = self.feed.publish(origin, kind, payload)
        self._published.set()  # wake every waiting follower, then arm a fresh event
        self._published = asyncio.Event()
        return seq

    async def since(
        self,
        epoch: str | None,
        seq: int,
        origin: str,
        wait_s: float = 0.0,
        max_updates: int = PAGE_UPDATES,
        max_bytes: int = PAGE_BYTES,
    ) -> FeedPage:
        """One page of others' updates from ``seq`` on; ``page.more``: ask again at once."""
        limits = {"max_updates": max_updates, "max_bytes": max_bytes}
        page = self.feed.since(epoch, seq, origin, **limits)
        while not page.updates and wait_s > 0:
            published, started = self._published, asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(published.wait(), wait_s)
            except TimeoutError:
                break
            wait_s -= asyncio.get_running_loop().time() - started
            page = self.feed.since(page.epoch, page.next_seq, origin, **limits)  # others' only
        return page


class FeedFollower:
    """One replica's side: publish what it applied, replay what the others did."""

    def __init__(
        self,
        handle: Any,
        origin: str,
        service: RecommendationService,
        *,
        timeout_s: float = CALL_TIMEOUT_S,
        page_updates: int = PAGE_UPDATES,
        page_bytes: int = PAGE_BYTES,
    ) -> None:
        self.handle, self.origin, self.service = handle, origin, service
        self.timeout_s = timeout_s
        self.page_updates, self.page_bytes = page_updates, page_bytes
        self.epoch: str | None = None
        self.seq = 0

    async def publish(self, kind: str, payload: Any) -> None:
        """Best effort, within ``timeout_s``: the update is already durable and applied here,
        so a slow or failed feed degrades the other replicas to their own events instead of
        holding or failing the request."""
        try:
            await asyncio.wait_for(
                self.handle.publish.remote(self.origin, kind, payload), self.timeout_s
            )
        except Exception:  # TimeoutError included
            FEED_ERRORS.labels("publish").inc()
            log.warning("live feed publish failed; other replicas miss this %s update", kind)

    async def poll(self, wait_s: float = 0.0) -> int:
        """Replay new updates from the other replicas (waiting up to ``wait_s`` for one), page
        by page until caught up; returns how many were applied."""
        applied = 0
        while True:
            page: FeedPage = await asyncio.wait_for(
                self.handle.since.remote(
                    self.epoch, self.seq, self.origin, wait_s, self.page_updates, self.page_bytes
                ),
                wait_s + self.timeout_s,
            )
            if page.missed and self.epoch == page.epoch:
                FEED_MISSED.inc(page.missed)
                log.warning("fell %d updates behind the live feed's retention", page.missed)
            for update in page.updates:
                applied += await self._apply(update)
                self.epoch, self.seq = page.epoch, update.seq + 1  # never replayed twice here
            FEED_REPLAYED.inc(len(page.updates))
            self.epoch, self.seq = page.epoch, page.next_seq
            if not page.more:
                return applied
            wait_s = 0.0  # the rest of a catch-up: no waiting between pages

    async def _apply(self, update: Update) -> int:
        """Apply one update; one that fails is skipped (logged, counted) so the follower moves
        on instead of retrying it forever and missing everything after it."""
        try:
            if update.kind in (ITEMS, FORGET):  # catalogue growth, history scans: off the loop
                await asyncio.to_thread(self.service.apply_update, update)
            else:
                self.service.apply_update(update)
        except Exception:
            FEED_SKIPPED.labels(update.kind).inc()
            log.warning(
                "skipped live update %d (%s from %s): it failed to apply here",
                update.seq,
                update.kind,
                update.origin,
                exc_info=True,
            )
            return 0
        return 1

    async def follow(self, retry_s: float, wait_s: float = LONG_POLL_S) -> None:
        """Long-poll forever; after a failure (the feed restarting) retry in ``retry_s``."""
        while True:
            try:
                await self.poll(wait_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                FEED_ERRORS.labels("poll").inc()
                log.warning("live feed poll failed; retrying", exc_info=True)
                await asyncio.sleep(retry_s)
