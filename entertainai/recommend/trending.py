"""Trending: exponentially time-decayed interaction counts over several windows (1h, 1d, 7d).

A window of ``h`` hours is the decay time constant: an event of age ``a`` counts
``exp(-a / h)``, so the 1h counter reacts to a burst at once and forgets it within hours,
while the 7d counter ranks steady favourites. Counters are fitted from the interactions'
timestamps and fed live events by ``update`` — O(1) per event, vectorised per batch.

Every counter is kept relative to one reference time ``ref_time_``: an event at ``t`` adds
``w * exp((t - ref) / h)`` and the score at ``now`` is ``count * exp(-(now - ref) / h)``.
Adding is then order-independent (a batch is one ``np.add.at``) and decaying costs nothing;
when events run far past the reference, the counters are rebased once so nothing overflows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pyarrow as pa

from entertainai.errors import InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.extend import blank_catalogue, extend_items, pad
from entertainai.recommend.history import Event, event_arrays
from entertainai.recommend.interactions import InteractionData

# Rebase when the newest event is this many time constants past the reference: exp(30) ~ 1e13
# keeps float64 counters far from overflow while rebasing (O(n_items)) stays rare.
REBASE_AFTER = 30.0
UNITS_HOURS = {"h": 1.0, "d": 24.0, "w": 168.0}


def window_hours(window: str | float) -> float:
    """``"1h"``, ``"1d"``, ``"7d"``, ``"2w"`` or a number of hours -> hours."""
    if isinstance(window, int | float):
        return float(window)
    text = str(window).strip().lower()
    try:
        return float(text[:-1]) * UNITS_HOURS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise InputError(f"window {window!r} is not like '1h', '1d' or '7d'") from None


def window_name(hours: float) -> str:
    return f"{hours / 24:g}d" if hours % 24 == 0 else f"{hours:g}h"


@dataclass(frozen=True)
class TrendingConfig:
    windows_hours: tuple[float, ...] = (1, 24, 168)
    default_window: str = "1d"  # what recommend() ranks by
    # trending() ranks by lift: a window's count over what the longest window predicts for it.
    # Raw counts would just list the most popular titles; lift finds what is rising.
    rank_by: str = "lift"  # or "count"
    prior: float = 2.0  # pseudo-count: one or two stray plays of a niche title are not a trend

    def __post_init__(self) -> None:
        if self.rank_by not in ("lift", "count"):
            raise InputError(f"rank_by must be 'lift' or 'count', got {self.rank_by!r}")
        if not self.windows_hours or min(self.windows_hours) <= 0:
            raise InputError(f"windows_hours must be positive, got {self.windows_hours}")
        if window_hours(self.default_window) not in self.windows_hours:
            raise InputError(
                f"default_window {self.default_window!r} is not one of "
                f"{[window_name(h) for h in self.windows_hours]}"
            )


class Trending(Recommender[TrendingConfig]):
    """Non-personalised: every user gets the trending list of ``default_window``."""

    kind = "trending"
    Config = TrendingConfig
    config: TrendingConfig

    @property
    def windows(self) -> list[str]:
        return [window_name(h) for h in self.config.windows_hours]

    def _taus(self) -> np.ndarray:
        return np.asarray(self.config.windows_hours, np.float64) * 3600.0

    def _fit(self, data: InteractionData) -> None:
        counts = data.matrix.tocoo()
        # Only each cell's latest time is kept by InteractionData: repeats count at that time.
        times = np.asarray(data.last_seen[counts.row, counts.col]).ravel()
        self.ref_time_ = float(times.max()) if len(times) else 0.0
        self.clock_ = self.ref_time_
        decay = np.exp((times[None, :] - self.ref_time_) / self._taus()[:, None])
        self.counts_ = np.stack(
            [np.bincount(counts.col, counts.data * d, minlength=data.n_items) for d in decay]
        )

    # ---- live updates ----------------------------------------------------------------------

    def update(self, events: Iterable[Event]) -> Self:
        """Apply events ``(user_id, item_id, timestamp_seconds, weight)`` at once.

        Item ids the model has not seen extend its index (without metadata until
        ``add_items``), so a brand-new title can trend within its first burst.
        """
        self.check_fitted()
        _, item_ids, ts, weights = event_arrays(events)
        if len(item_ids) == 0:
            return self
        items = self._indices_growing(item_ids)
        self._rebase(max(self.clock_, float(ts.max())))
        age = ts[None, :] - self.ref_time_  # negative for events older than the reference
        contributions = weights[None, :] * np.exp(age / self._taus()[:, None])
        for counter, c in zip(self.counts_, contributions, strict=True):
            np.add.at(counter, items, c)
        self.clock_ = max(self.clock_, float(ts.max()))
        return self

    def add_items(self, items: pa.Table) -> Self:
        """Add (or refresh the metadata of) catalogue items; new ones start with no counts."""
        self.check_fitted()
        self._grow(Catalogue.from_table(items))
        return self

    def _indices_growing(self, item_ids: np.ndarray) -> np.ndarray:
        items = self.item_indices(item_ids.tolist())
        if (items < 0).any():
            new = list(dict.fromkeys(item_ids[items < 0].tolist()))  # first-seen order
            self._grow(blank_catalogue(new))
            items = self.item_indices(item_ids.tolist())
        return items

    def _grow(self, catalogue: Catalogue) -> None:
        extend_items(self, catalogue)
        self.counts_ = pad(self.counts_, len(self.item_ids_))

    def _rebase(self, target: float) -> None:
        if (target - self.ref_time_) / self._taus().min() > REBASE_AFTER:
            self.counts_ *= np.exp(-(target - self.ref_time_) / self._taus())[:, None]
            self.ref_time_ = target

    # ---- queries ---------------------------------------------------------------------------

    def scores(self, window: str | float = "1d", now: float | None = None) -> np.ndarray:
        """Decayed counts of every item in ``window`` at time ``now`` (default: latest event)."""
        self.check_fitted()
        w = self._window_index(window)
        now = self.clock_ if now is None else float(now)
        return self.counts_[w] * np.exp(-(now - self.ref_time_) / self._taus()[w])

    def trending(
        self,
        k: int = 10,
        window: str | float = "1d",
        genre: str | None = None,
        now: float | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` available items with the highest decayed counts, optionally in ``genre``."""
        if k <= 0:
            raise InputError(f"k must be positive, got {k}")
        counts = self.scores(window, now)
        scores = self.rank_scores(window, now)
        keep = self.catalogue_.available & (counts > 0)
        if genre is not None:
            keep &= self.catalogue_.genre_mask((genre,))
        candidates = np.flatnonzero(keep)
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(str(self.item_ids_[i]), float(scores[i])) for i in top]

    def rank_scores(self, window: str | float = "1d", now: float | None = None) -> np.ndarray:
        """What ``trending`` ranks by: lift over the longest window's rate, or raw counts."""
        counts = self.scores(window, now)
        longest = max(self.config.windows_hours)
        if self.config.rank_by == "count" or window_hours(window) == longest:
            return counts
        expected = self.scores(longest, now) * window_hours(window) / longest
        return (counts + self.config.prior) / (expected + self.config.prior)

    def _window_index(self, window: str | float) -> int:
        hours = window_hours(window)
        if hours not in self.config.windows_hours:
            raise InputError(f"window {window!r} is not one of {self.windows}")
        return list(self.config.windows_hours).index(hours)

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        # The time factor is one scalar per window, so the max-normalised ranking is timeless.
        s = self.counts_[self._window_index(self.config.default_window)]
        s = (s / max(float(s.max()), 1e-12)).astype(np.float32)
        return np.broadcast_to(s, (len(users), len(s))).copy()

    def user_scores(self, user_ids: Sequence[str]) -> np.ndarray:
        """The same trending row for everybody, cold-start users included."""
        self.check_fitted()
        return self._user_scores(np.zeros(len(user_ids), np.int64))

    # ---- persistence -----------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "counts": self.counts_,
            "ref_time": np.array(self.ref_time_, np.float64),
            "clock": np.array(self.clock_, np.float64),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts_ = arrays["counts"]
        self.ref_time_ = float(arrays["ref_time"])
        self.clock_ = float(arrays["clock"])
