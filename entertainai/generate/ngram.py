"""A character n-gram count model with interpolated Kneser-Ney smoothing: the text baseline.

Every order is a sorted array of n-gram keys (the ids read as digits in base ``vocab``) with
their counts, so fitting and scoring are a few ``np.unique``/``searchsorted`` calls over the
whole text instead of a Python loop per character. The highest order uses raw counts, lower
orders continuation counts (in how many distinct contexts a suffix appears), each discounted by
``D = n1 / (n1 + 2 n2)`` and interpolated down to a uniform distribution over the vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from entertainai.errors import InputError, NotFittedError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NGramConfig:
    order: int = 5


@dataclass(frozen=True)
class _Order:
    keys: np.ndarray  # sorted k-gram keys
    counts: np.ndarray  # raw (highest order) or continuation counts, per key
    contexts: np.ndarray  # sorted (k-1)-gram context keys
    context_totals: np.ndarray  # sum of counts per context
    context_types: np.ndarray  # distinct next characters per context (N1+(h .))
    discount: float


class NGramLM:
    """Interpolated Kneser-Ney over character ids; ``nats_per_char`` scores held-out text."""

    def __init__(self, config: NGramConfig | None = None) -> None:
        self.config = config or NGramConfig()
        if self.config.order < 1:
            raise InputError(f"order must be >= 1, got {self.config.order}")
        self.orders_: list[_Order] | None = None
        self.vocab_size_ = 0

    def fit(self, ids: np.ndarray, vocab_size: int) -> NGramLM:
        """Count every order up to ``config.order`` in the id sequence ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        n = self.config.order
        if vocab_size < 1 or float(vocab_size) ** n >= 2.0**62:
            raise InputError(f"vocab {vocab_size} too large for a {n}-gram key")
        if len(ids) < n:
            raise InputError(f"need at least {n} characters to fit a {n}-gram model")
        self.vocab_size_ = vocab_size
        grams = [np.unique(_gram_keys(ids, k, vocab_size), return_counts=True) for k in (n,)]
        keys, counts = grams[0]
        orders: list[_Order] = [self._order(keys, counts, vocab_size)]
        for k in range(n - 1, 0, -1):
            # Continuation count of a k-gram: how many distinct (k+1)-grams end with it.
            suffixes = orders[-1].keys % vocab_size**k
            keys, counts = np.unique(suffixes, return_counts=True)
            orders.append(self._order(keys, counts, vocab_size))
        self.orders_ = orders[::-1]  # index k-1 holds order k
        return self

    @staticmethod
    def _order(keys: np.ndarray, counts: np.ndarray, vocab_size: int) -> _Order:
        contexts, inverse = np.unique(keys // vocab_size, return_inverse=True)
        totals = np.bincount(inverse, weights=counts).astype(np.float64)
        types = np.bincount(inverse).astype(np.float64)
        n1, n2 = float(np.sum(counts == 1)), float(np.sum(counts == 2))
        discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
        return _Order(keys, counts.astype(np.float64), contexts, totals, types, discount)

    def probabilities(self, ids: np.ndarray) -> np.ndarray:
        """P(ids[t] | up to order-1 previous ids) for every position t."""
        if self.orders_ is None:
            raise NotFittedError("NGramLM is not fitted; call fit()")
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size_):
            raise InputError("ids outside the fitted vocabulary")
        v = self.vocab_size_
        prob = np.full(len(ids), 1.0 / v)
        for k, order in enumerate(self.orders_, start=1):
            keys = _gram_keys_padded(ids, k, v)
            valid = keys >= 0  # positions with k-1 characters of history
            ctx = np.where(valid, keys // v, -1)
            c_pos = _lookup(order.contexts, ctx)
            seen = valid & (c_pos >= 0)
            ci = np.maximum(c_pos, 0)
            k_pos = _lookup(order.keys, np.where(valid, keys, -1))
            count = np.where(k_pos >= 0, order.counts[np.maximum(k_pos, 0)], 0.0)
            total = order.context_totals[ci]
            mixed = (
                np.maximum(count - order.discount, 0.0)
                + order.discount * order.context_types[ci] * prob
            ) / np.where(total > 0, total, 1.0)
            prob = np.where(seen, mixed, prob)
        return prob

    def nats_per_char(self, ids: np.ndarray) -> float:
        """Mean negative log-likelihood of ``ids`` in nats per character."""
        return float(-np.mean(np.log(self.probabilities(ids))))


def _gram_keys(ids: np.ndarray, k: int, v: int) -> np.ndarray:
    """Keys of every k-gram in ``ids`` (length ``len(ids) - k + 1``)."""
    n = len(ids) - k + 1
    keys = np.zeros(n, dtype=np.int64)
    for j in range(k):
        keys = keys * v + ids[j : j + n]
    return keys


def _gram_keys_padded(ids: np.ndarray, k: int, v: int) -> np.ndarray:
    """The k-gram ending at each position; -1 where fewer than k-1 characters precede it."""
    out = np.full(len(ids), -1, dtype=np.int64)
    if len(ids) >= k:
        out[k - 1 :] = _gram_keys(ids, k, v)
    return out


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of each key in ``sorted_keys``, or -1 where absent."""
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == keys, pos, -1)
