"""Most-popular baseline, optionally time-decayed: every personalised model must beat it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entertainai.recommend.base import Recommender
from entertainai.recommend.interactions import InteractionData


@dataclass(frozen=True)
class PopularityConfig:
    half_life_days: float | None = None  # None: all-time counts


class Popularity(Recommender[PopularityConfig]):
    kind = "popularity"
    Config = PopularityConfig
    config: PopularityConfig

    def _fit(self, data: InteractionData) -> None:
        if self.config.half_life_days is None:
            weights = data.matrix.copy()
        else:
            last = data.last_seen.tocoo()
            age_days = (last.data.max() - last.data) / 86400.0
            decay = np.power(0.5, age_days / self.config.half_life_days)
            weights = data.matrix.tocoo()
            weights.data = weights.data * decay.astype(np.float32)
        counts = np.asarray(weights.sum(axis=0)).ravel()
        self.scores_ = (counts / max(float(counts.max()), 1e-9)).astype(np.float32)

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(users), len(self.scores_))).copy()

    def _state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.scores_ = arrays["scores"]
