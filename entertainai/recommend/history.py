"""Serving-time events and each user's recent history (what they just watched).

An event is ``(user_id, item_id, timestamp_seconds, weight)``: the one format that trending
counters (``trending.Trending.update``) and recent histories both consume, so the serving
layer applies a batch of events to both at once.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

import numpy as np

from entertainai.errors import InputError
from entertainai.recommend.interactions import InteractionData

Event: TypeAlias = tuple[str, str, float, float]


def event_arrays(
    events: Iterable[Event],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Events as columns (user ids, item ids, timestamps, weights), checked once at the edge."""
    rows = list(events)
    if any(len(e) != 4 for e in rows):
        raise InputError("an event is (user_id, item_id, timestamp_seconds, weight)")
    users = np.asarray([str(e[0]) for e in rows], dtype=object)
    items = np.asarray([str(e[1]) for e in rows], dtype=object)
    try:
        ts = np.asarray([e[2] for e in rows], np.float64)
        weights = np.asarray([e[3] for e in rows], np.float64)
    except (TypeError, ValueError):
        raise InputError("event timestamps and weights must be numbers") from None
    if not (np.isfinite(ts).all() and np.isfinite(weights).all()):
        raise InputError("event timestamps and weights must be finite")
    return users, items, ts, weights


class RecentHistory:
    """Per-user deque of recently consumed item ids, newest first.

    Bounded twice: ``maxlen`` items per user and ``max_users`` users, evicting the user
    least recently active, so a long-running replica's memory stays flat. Not thread-safe:
    a Serve replica applies events from one event loop.
    """

    def __init__(self, maxlen: int = 50, max_users: int | None = 100_000) -> None:
        if maxlen < 1:
            raise InputError(f"maxlen must be >= 1, got {maxlen}")
        self.maxlen = maxlen
        self.max_users = max_users
        self._items: OrderedDict[str, deque[str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, user_id: str, item_id: str) -> None:
        """Record that the user just consumed the item (a re-watch moves it to the front)."""
        history = self._items.get(user_id)
        if history is None:
            history = self._items[user_id] = deque(maxlen=self.maxlen)
        else:
            self._items.move_to_end(user_id)
            if item_id in history:
                history.remove(item_id)
        history.appendleft(item_id)
        if self.max_users is not None and len(self._items) > self.max_users:
            self._items.popitem(last=False)

    def update(self, events: Iterable[Event]) -> None:
        """Apply a batch of events in time order (a batch may arrive out of order)."""
        users, items, ts, _ = event_arrays(events)
        for i in np.argsort(ts, kind="stable"):
            self.add(users[i], items[i])

    def forget(self, user_id: str) -> None:
        """Drop everything held about a user (erasure requests)."""
        self._items.pop(str(user_id), None)

    def users(self) -> list[str]:
        return list(self._items)

    def items(self, user_id: str) -> list[str]:
        """The user's recent item ids, newest first (empty for unknown users)."""
        return list(self._items.get(str(user_id), ()))

    def exclude(
        self,
        scores: np.ndarray,
        user_ids: Sequence[str],
        item_indices: Callable[[Sequence[str]], np.ndarray],
    ) -> np.ndarray:
        """Set ``-inf`` (in place) where a row's user recently consumed the item.

        ``item_indices`` maps ids to columns (a recommender's ``item_indices``); ids it does
        not know (-1) are skipped. Returns ``scores`` for chaining before ``rank``.
        """
        histories = [self.items(u) for u in user_ids]
        ids = [i for h in histories for i in h]
        if not ids:
            return scores
        r = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        c = np.asarray(item_indices(ids), np.int64)
        known = c >= 0
        scores[r[known], c[known]] = -np.inf
        return scores

    @classmethod
    def from_interactions(
        cls, data: InteractionData, maxlen: int = 50, max_users: int | None = 100_000
    ) -> RecentHistory:
        """Seed histories from each user's latest interactions (by last-seen time)."""
        history = cls(maxlen, max_users)
        last = data.last_seen.tocoo()
        # Oldest first over everybody: add() then leaves the newest at the front of each deque
        # and, when max_users evicts, the users evicted are the least recently active.
        order = np.argsort(last.data, kind="stable")
        rows, cols = last.row[order], last.col[order]
        for u, i in zip(rows.tolist(), cols.tolist(), strict=True):
            history.add(str(data.user_ids[u]), str(data.item_ids[i]))
        return history
