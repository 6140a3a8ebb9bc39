"""Live updates shared between replicas: what one replica applied, the others replay.

Every ingress replica keeps its own in-memory state — recent histories, trending counters,
cached answers, catalogue additions. An event or a new item reaches one of them; the feed
carries it to the rest, so the next request reflects it whichever replica it lands on.

Durability is not the feed's job: the receiving replica fsyncs events before acknowledging
and applies them locally first. The feed is a bounded in-memory log. A reader that falls
behind its retention is told how many updates it missed, and a reader of a restarted feed
(a new epoch) starts over from what the feed holds — as a new replica does, which is how it
catches up on recent activity.
"""

from __future__ import annotations

import itertools
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


@dataclass(frozen=True)
class Update:
    seq: int
    origin: str  # the replica that applied it first (and must not apply it twice)
    kind: str
    payload: Any


@dataclass(frozen=True)
class FeedPage:
    epoch: str
    next_seq: int  # the reader's cursor for its next call
    updates: tuple[Update, ...]
    missed: int  # updates that left the retention window before this reader saw them


class LiveFeed:
    """An ordered, bounded log of live updates; ``since`` pages through it per reader."""

    def __init__(self, retention: int = 50_000) -> None:
        if retention <= 0:
            raise InputError(f"feed retention must be positive, got {retention}")
        self.epoch = uuid.uuid4().hex
        self._log: deque[Update] = deque(maxlen=retention)
        self._next_seq = 0

    def publish(self, origin: str, kind: str, payload: Any) -> int:
        if kind not in KINDS:
            raise InputError(f"unknown update kind {kind!r}; expected one of {KINDS}")
        update = Update(self._next_seq, origin, kind, payload)
        self._log.append(update)
        self._next_seq += 1
        return update.seq

    def since(self, epoch: str | None, seq: int, origin: str) -> FeedPage:
        """Updates from ``seq`` on (all retained ones for a new reader or a new epoch),
        without the reader's own."""
        if epoch != self.epoch:
            seq = 0
        first = self._log[0].seq if self._log else self._next_seq
        start = max(seq, first)
        updates = tuple(
            u for u in itertools.islice(self._log, start - first, None) if u.origin != origin
        )
        return FeedPage(self.epoch, self._next_seq, updates, missed=max(0, first - seq))

    def __len__(self) -> int:
        return len(self._log)
