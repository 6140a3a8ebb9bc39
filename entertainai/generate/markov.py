"""Order-n Markov chains over integer symbols: the baselines for melodies and mu-law audio.

Smoothing is hierarchical (interpolated Dirichlet / "add-beta toward the lower order")::

    P_0(x)       = (c(x) + alpha) / (N + alpha * V)
    P_k(x | h_k) = (c(h_k, x) + beta * P_{k-1}(x | h_{k-1})) / (c(h_k) + beta)

so unseen contexts fall back to shorter ones and every symbol keeps some probability. The first
symbols of a sequence use the longest context they have (the unigram for the very first), so
the chain scores *every* symbol, exactly like the neural models it is compared with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from entertainai.errors import InputError, NotFittedError


@dataclass(frozen=True)
class MarkovConfig:
    order: int = 2
    n_symbols: int = 256
    alpha: float = 0.5  # add-alpha on the unigram
    beta: float = 2.0  # strength of the prior toward the next-lower order


class MarkovChain:
    def __init__(self, config: MarkovConfig | None = None) -> None:
        self.config = config or MarkovConfig()
        if self.config.order < 0:
            raise InputError(f"order must be >= 0, got {self.config.order}")
        if self.config.n_symbols ** (self.config.order + 1) >= 2**62:
            raise InputError("order too high for this alphabet (context keys overflow int64)")

    def _contexts(self, x: np.ndarray, k: int) -> np.ndarray:
        """Key of the k symbols before each position t >= k."""
        keys = np.zeros(len(x) - k, dtype=np.int64)
        for i in range(1, k + 1):
            keys += x[k - i : len(x) - i] * self.config.n_symbols ** (i - 1)
        return keys

    def _check(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for n, s in enumerate(sequences):
            x = np.asarray(s, dtype=np.int64)
            if x.size and (x.min() < 0 or x.max() >= self.config.n_symbols):
                raise InputError(f"sequence {n}: symbols outside 0..{self.config.n_symbols - 1}")
            out.append(x)
        return out

    def fit(self, sequences: Sequence[np.ndarray]) -> MarkovChain:
        seqs = self._check(sequences)
        v = self.config.n_symbols
        unigram = np.bincount(
            np.concatenate(seqs) if seqs else np.zeros(0, np.int64), minlength=v
        ).astype(np.float64)
        self.unigram_ = (unigram + self.config.alpha) / (unigram.sum() + self.config.alpha * v)
        self.tables_: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for k in range(1, self.config.order + 1):
            ctx = [self._contexts(x, k) for x in seqs if len(x) > k]
            nxt = [x[k:] for x in seqs if len(x) > k]
            c = np.concatenate(ctx) if ctx else np.zeros(0, np.int64)
            joint_keys, joint_counts = np.unique(
                c * v + np.concatenate(nxt) if nxt else c, return_counts=True
            )
            ctx_keys, ctx_counts = np.unique(c, return_counts=True)
            self.tables_.append((joint_keys, joint_counts, ctx_keys, ctx_counts))
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
        if keys.size == 0:
            return np.zeros(len(query))
        pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
        return np.where(keys[pos] == query, counts[pos], 0).astype(np.float64)

    def log_probs(self, sequence: np.ndarray) -> np.ndarray:
        """Natural-log probability of each symbol given the ones before it."""
        if not hasattr(self, "tables_"):
            raise NotFittedError("MarkovChain is not fitted; call fit()")
        (x,) = self._check([sequence])
        v, beta = self.config.n_symbols, self.config.beta
        p = self.unigram_[x].copy()
        for k, (joint_keys, joint_counts, ctx_keys, ctx_counts) in enumerate(self.tables_, 1):
            if len(x) <= k:
                break
            ctx = self._contexts(x, k)
            cj = self._lookup(joint_keys, joint_counts, ctx * v + x[k:])
            cc = self._lookup(ctx_keys, ctx_counts, ctx)
            p[k:] = (cj + beta * p[k:]) / (cc + beta)
        return np.log(p)

    def nll(self, sequences: Sequence[np.ndarray]) -> float:
        """Mean negative log-likelihood in nats per symbol over all symbols of all sequences."""
        total, n = 0.0, 0
        for x in sequences:
            lp = self.log_probs(np.asarray(x))
            total -= float(lp.sum())
            n += lp.size
        if n == 0:
            raise InputError("no symbols to evaluate")
        return total / n


def nats_to_bits(nats: float) -> float:
    return nats / math.log(2.0)


def select_markov(
    train: Sequence[np.ndarray],
    valid: Sequence[np.ndarray],
    order: int,
    n_symbols: int,
    betas: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0),
) -> tuple[MarkovChain, float]:
    """The chain whose ``beta`` scores best on ``valid`` (fitted on ``train``), and its NLL."""
    best: tuple[MarkovChain, float] | None = None
    counted = MarkovChain(MarkovConfig(order=order, n_symbols=n_symbols)).fit(train)
    for beta in betas:
        # The counts do not depend on beta: count once, score every smoothing strength.
        chain = MarkovChain(MarkovConfig(order=order, n_symbols=n_symbols, beta=beta))
        chain.unigram_, chain.tables_ = counted.unigram_, counted.tables_
        score = chain.nll(valid)
        if best is None or score < best[1]:
            best = (chain, score)
    assert best is not None
    return best


def repeat_rate(sequences: Sequence[np.ndarray]) -> float:
    """Fraction of steps (after the first of each sequence) equal to the step before."""
    same = sum(int((np.diff(np.asarray(s)) == 0).sum()) for s in sequences)
    total = sum(max(len(s) - 1, 0) for s in sequences)
    return same / max(total, 1)
