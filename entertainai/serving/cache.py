"""A per-user micro-cache of rendered recommendation responses.

At thousands of requests a second the same user asks again within a second (page loads,
retries, several rows of one screen). A rendered answer is reused for ``ttl_s`` unless that
user's own state changed: every event, erasure or model/catalogue change invalidates at once,
so a user's own actions are reflected on their next request and global signals (trending
counters from everyone's events) within ``ttl_s``.

The cache is bounded in bytes, in users and in answers per user, and expired answers leave
it: it is keyed by what clients send, so without bounds one key varying ``diversity=`` once a
second grew a replica by gigabytes an hour (20,000 entries, 800 MB for one user at a 1 s TTL).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cachetools import TTLCache

# What an entry holds beyond its key's and its body's bytes, measured with tracemalloc
# (CPython 3.11): a user's slot (the TTL cache's link and order entry, the user's dict, the id)
# ~450 bytes; one answer in it (dict slot, expiry tuple and float, bytes header) ~150 bytes.
USER_OVERHEAD, ENTRY_OVERHEAD = 450, 150
# Time is enough to bound a user at a 1 s TTL but not a flood of query strings within it; the
# screens of one page ask a handful of distinct queries, so 32 keeps every honest hit.
MAX_PER_USER = 32
MAX_BYTES = 64 * 2**20


def query_key(raw: bytes) -> bytes:
    """One key for query strings that mean the same: fields ordered by name, empty ones dropped.

    The sort is stable, so a repeated parameter keeps its order (the last of a scalar wins, a
    list keeps its order) and only parameters that commute move. Names that are percent- or
    plus-encoded could sort apart from what they decode to: such a string is its own key.
    ~1.2 us for three parameters (a name check per part on every call cost ~8 us).
    """
    parts = raw.split(b"&")
    if len(parts) < 2:
        return raw
    parts.sort(key=_name)  # empty fields sort first and are stripped below
    if (b"%" in raw or b"+" in raw) and any(b"%" in _name(p) or b"+" in _name(p) for p in parts):
        return raw
    return b"&".join(parts).lstrip(b"&")


def _name(field: bytes) -> bytes:
    return field.partition(b"=")[0]


def _nbytes(value: Any) -> int:
    return len(value) if isinstance(value, bytes) else sys.getsizeof(value)


def _user_bytes(entries: dict[bytes, tuple[float, Any]]) -> int:
    return USER_OVERHEAD + sum(
        ENTRY_OVERHEAD + len(key) + _nbytes(value) for key, (_, value) in entries.items()
    )


class ResponseCache:
    """``user -> {query key -> (expiry, body)}`` with per-user versions against races.

    Users live in a ``cachetools.TTLCache`` sized in bytes: the least recently used user goes
    first when ``max_bytes`` or ``max_users`` would be exceeded, and a user whose answers all
    expired leaves at the next write. Keys are query strings (``bytes``), normalised by
    :func:`query_key`. A hit costs ~4 us here (normalising ~1.2, the TTL cache's lookup ~2)
    where the unbounded dict cost ~0.4: the fast lane's whole hit went from ~12 to ~15 us.
    """

    def __init__(
        self,
        ttl_s: float = 1.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_bytes: int = MAX_BYTES,
        max_per_user: int = MAX_PER_USER,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_users = max_users
        self.max_bytes = max_bytes
        self.max_per_user = max_per_user
        self._clock = clock
        # A user's slot lives as long as its newest answer (each put re-sets it).
        self._users: TTLCache[str, dict[bytes, tuple[float, Any]]] = TTLCache(
            max_bytes, max(ttl_s, 1e-9), timer=clock, getsizeof=_user_bytes
        )
        self._versions: dict[str, int] = {}
        self._generation = 0  # bumped by clear(): every version taken before it is stale
        # TTLCache reorders itself on reads, so reads take the lock too (~0.1 us uncontended).
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    @property
    def nbytes(self) -> int:
        """Estimated bytes held (bodies, keys and per-entry overhead)."""
        return int(self._users.currsize)

    def __len__(self) -> int:
        """Answers held (expired ones included until they are dropped)."""
        with self._lock:
            return sum(len(entries) for entries in self._users.values())

    def users(self) -> list[str]:
        """Users with answers that have not expired."""
        with self._lock:
            return list(self._users)

    def get(self, user: str, key: bytes) -> Any | None:
        if self.enabled:
            key = query_key(key)
            with self._lock:
                try:  # one lookup on a hit (``.get`` would make two, ~1 us more)
                    entry = self._users[user].get(key)
                except KeyError:
                    entry = None
            if entry is not None and entry[0] > self._clock():
                self.hits += 1
                return entry[1]
        self.misses += 1
        return None

    def version(self, user: str) -> tuple[int, int]:
        """Take before computing; ``put`` drops the value if the user changed meanwhile."""
        return self._generation, self._versions.get(user, 0)

    def put(self, user: str, key: bytes, value: Any, version: tuple[int, int]) -> None:
        if not self.enabled:
            return
        key = query_key(key)
        with self._lock:
            if version != (self._generation, self._versions.get(user, 0)):
                return  # an event or erasure arrived while this answer was computed
            now = self._clock()
            entries = self._users.get(user)
            if entries is None:
                entries = {}
                if len(self._users) >= self.max_users:
                    self._users.expire()
                    if len(self._users) >= self.max_users:
                        self._users.popitem()
            else:
                for stale in [k for k, (expiry, _) in entries.items() if expiry <= now]:
                    del entries[stale]
                entries.pop(key, None)
                while len(entries) >= self.max_per_user:
                    del entries[next(iter(entries))]  # the user's oldest answer
            entries[key] = (now + self.ttl_s, value)
            try:
                self._users[user] = entries  # re-sized, moved to most recent, expiry renewed
            except ValueError:  # this user's answers alone exceed max_bytes: keep none
                self._users.pop(user, None)

    def invalidate(self, users: Iterable[str]) -> None:
        """Forget these users' answers (their events, their erasure)."""
        with self._lock:
            for user in users:
                self._users.pop(user, None)
                self._versions[user] = self._versions.get(user, 0) + 1
            self._users.expire()  # expired answers of anyone, an erased user's included
            if len(self._versions) > 4 * self.max_users:
                self._versions.clear()
                self._generation += 1

    def clear(self) -> None:
        """Forget everything (a model swap, new catalogue items)."""
        with self._lock:
            self._users.clear()
            self._versions.clear()
            self._generation += 1
