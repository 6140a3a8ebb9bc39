"""Live updates shared between replicas: what one replica applied, the others replay.

Every ingress replica keeps its own in-memory state — recent histories, trending counters,
cached answers, catalogue additions. An event or a new item reaches one of them; the feed
carries it to the rest, so the next request reflects it whichever replica it lands on.

Durability is not the feed's job: the receiving replica fsyncs events before acknowledging
and applies them locally first. The feed is an in-memory log bounded in updates and in
(estimated) bytes: one update can carry 10,000 events, so a count alone bounded nothing. A
reader that falls behind its retention is told how many updates it missed, and a reader of a
restarted feed (a new epoch) starts over from what the feed holds — as a new replica does,
which is how it catches up on recent activity. Readers get pages of bounded size and ask
again at once while ``more`` says the page was cut short.
"""

from __future__ import annotations

import itertools
import sys
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from entertainai.errors import InputError

EVENTS = "events"  # payload: ((user_id, item_id, timestamp, weight), ...)
ITEMS = "items"  # payload: {"table": pyarrow.Table, "blocked": [item_id, ...]}
# payload: a user's stored id. The in-memory half of an erasure, everywhere within a poll; the
# erasure ledger (``entertainai.serving.erasure``) carries the durable half to event logs.
FORGET = "forget"
KINDS = (EVENTS, ITEMS, FORGET)

MAX_BYTES = 256 * 2**20  # retained updates, estimated (see payload_bytes)
# One page of a reader's catch-up: a new replica no longer pulls the whole retention in one
# reply (up to MAX_BYTES through Ray's object store, then applied in one go).
PAGE_UPDATES, PAGE_BYTES = 1_000, 8 * 2**20
# An event row's objects (tuple, two str headers, two floats) beyond its ids' characters,
# measured with tracemalloc on CPython 3.11: ~226 bytes.
ROW_OVERHEAD = 230


def payload_bytes(kind: str, payload: Any) -> int:
    """What an update's payload holds in memory, estimated cheaply (no deep walk)."""
    if kind == ITEMS and isinstance(payload, dict):
        table = payload.get("table")
        blocked = payload.get("blocked") or ()
        return int(getattr(table, "nbytes", 0)) + sum(ROW_OVERHEAD // 2 + len(b) for b in blocked)
    if kind == EVENTS and isinstance(payload, tuple | list):
        return sys.getsizeof(payload) + sum(_row_bytes(row) for row in payload)
    return sys.getsizeof(payload)


def _row_bytes(row: Any) -> int:
    if isinstance(row, tuple) and len(row) >= 2 and isinstance(row[0], str):
        return ROW_OVERHEAD + len(row[0]) + len(row[1])
    return sys.getsizeof(row)


@dataclass(frozen=True)
class Update:
    seq: int
    origin: str  # the replica that applied it first (and must not apply it twice)
    kind: str
    payload: Any
    nbytes: int = 0  # payload_bytes(kind, payload): what retention and pages count


@dataclass(frozen=True)
class FeedPage:
    epoch: str
    next_seq: int  # the reader's cursor for its next call
    updates: tuple[Update, ...]
    missed: int  # updates that left the retention window before this reader saw them
    more: bool = False  # the page was cut at its size: ask again at once


class LiveFeed:
    """An ordered log of live updates bounded in count and bytes; ``since`` pages through it
    per reader."""

    def __init__(self, retention: int = 50_000, max_bytes: int = MAX_BYTES) -> None:
        if retention <= 0:
            raise InputError(f"feed retention must be positive, got {retention}")
        if max_bytes <= 0:
            raise InputError(f"feed max_bytes must be positive, got {max_bytes}")
        self.epoch = uuid.uuid4().hex
        self.retention = retention
        self.max_bytes = max_bytes
        self._log: deque[Update] = deque()
        self._next_seq = 0
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Estimated bytes of the retained updates."""
        return self._bytes

    def publish(self, origin: str, kind: str, payload: Any) -> int:
        if kind not in KINDS:
            raise InputError(f"unknown update kind {kind!r}; expected one of {KINDS}")
        update = Update(self._next_seq, origin, kind, payload, payload_bytes(kind, payload))
        self._log.append(update)
        self._bytes += update.nbytes
        self._next_seq += 1
        # The newest update stays even alone over max_bytes: dropping it would lose it for all.
        while len(self._log) > self.retention or (
            self._bytes > self.max_bytes and len(self._log) > 1
        ):
            self._bytes -= self._log.popleft().nbytes
        return update.seq

    def since(
        self,
        epoch: str | None,
        seq: int,
        origin: str,
        *,
        max_updates: int = PAGE_UPDATES,
        max_bytes: int = PAGE_BYTES,
    ) -> FeedPage:
        """Updates from ``seq`` on (all retained ones for a new reader or a new epoch),
        without the reader's own, at most ``max_updates`` and ``max_bytes`` of them (always at
        least one, however large)."""
        if epoch != self.epoch:
            seq = 0
        first = self._log[0].seq if self._log else self._next_seq
        start = max(seq, first)
        updates: list[Update] = []
        size, cursor = 0, start
        for update in itertools.islice(self._log, start - first, None):
            if update.origin != origin:
                if updates and (len(updates) >= max_updates or size + update.nbytes > max_bytes):
                    break
                updates.append(update)
                size += update.nbytes
            cursor = update.seq + 1
        return FeedPage(
            self.epoch,
            cursor,
            tuple(updates),
            missed=max(0, first - seq),
            more=cursor < self._next_seq,
        )

    def __len__(self) -> int:
        return len(self._log)
