"""A per-user micro-cache of rendered recommendation responses.

At thousands of requests a second the same user asks again within a second (page loads,
retries, several rows of one screen). A rendered answer is reused for ``ttl_s`` unless that
user's own state changed: every event, erasure or model/catalogue change invalidates at once,
so a user's own actions are reflected on their next request and global signals (trending
counters from everyone's events) within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any


class ResponseCache:
    """``user -> {request key -> (expiry, value)}`` with per-user versions against races."""

    def __init__(
        self,
        ttl_s: float = 1.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_users = max_users
        self._clock = clock
        self._entries: dict[str, dict[Hashable, tuple[float, Any]]] = {}
        self._versions: dict[str, int] = {}
        self._generation = 0  # bumped by clear(): every version taken before it is stale
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def users(self) -> list[str]:
        return list(self._entries)

    def get(self, user: str, key: Hashable) -> Any | None:
        entry = self._entries.get(user, {}).get(key)
        if entry is not None and entry[0] > self._clock():
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def version(self, user: str) -> tuple[int, int]:
        """Take before computing; ``put`` drops the value if the user changed meanwhile."""
        return self._generation, self._versions.get(user, 0)

    def put(self, user: str, key: Hashable, value: Any, version: tuple[int, int]) -> None:
        if not self.enabled:
            return
        with self._lock:
            if version != (self._generation, self._versions.get(user, 0)):
                return  # an event or erasure arrived while this answer was computed
            if user not in self._entries and len(self._entries) >= self.max_users:
                self._entries.clear()  # crude but bounded; entries live one second anyway
            self._entries.setdefault(user, {})[key] = (self._clock() + self.ttl_s, value)

    def invalidate(self, users: Iterable[str]) -> None:
        """Forget these users' answers (their events, their erasure)."""
        with self._lock:
            for user in users:
                self._entries.pop(user, None)
                self._versions[user] = self._versions.get(user, 0) + 1
            if len(self._versions) > 4 * self.max_users:
                self._versions.clear()
                self._generation += 1

    def clear(self) -> None:
        """Forget everything (a model swap, new catalogue items)."""
        with self._lock:
            self._entries.clear()
            self._versions.clear()
            self._generation += 1
