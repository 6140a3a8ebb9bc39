"""Choosing the next token from a model's logits: temperature, top-k and nucleus (top-p).

Plain numpy on one logits vector, so every generator (torch or Keras, text or notes) samples
the same way and a seeded ``np.random.Generator`` makes the output reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entertainai.errors import InputError


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0  # 0 = greedy
    top_k: int | None = None  # keep the k most likely tokens
    top_p: float | None = None  # keep the smallest set whose probability reaches p

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 5.0:
            raise InputError(f"temperature must be in [0, 5], got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise InputError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise InputError(f"top_p must be in (0, 1], got {self.top_p}")


def next_token_probs(logits: np.ndarray, config: SamplingConfig) -> np.ndarray:
    """The distribution to sample from after temperature, top-k and top-p."""
    logits = np.asarray(logits, dtype=np.float64)
    if config.temperature == 0.0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    scaled = logits / config.temperature
    if config.top_k is not None and config.top_k < scaled.size:
        cutoff = np.partition(scaled, -config.top_k)[-config.top_k]
        scaled = np.where(scaled < cutoff, -np.inf, scaled)
    scaled = scaled - scaled.max()
    probs = np.exp(scaled)
    probs /= probs.sum()
    if config.top_p is not None and config.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, config.top_p)) + 1]
        mask = np.zeros_like(probs)
        mask[keep] = probs[keep]
        probs = mask / mask.sum()
    return probs


def sample_next(logits: np.ndarray, config: SamplingConfig, rng: np.random.Generator) -> int:
    """One token id drawn from ``logits`` (1-D) under ``config``."""
    probs = next_token_probs(logits, config)
    return int(rng.choice(probs.size, p=probs))
