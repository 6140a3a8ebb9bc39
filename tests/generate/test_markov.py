"""Order-n Markov baselines: smoothing, context backoff, NLL units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from entertainai.errors import InputError, NotFittedError
from entertainai.generate.markov import (
    MarkovChain,
    MarkovConfig,
    nats_to_bits,
    repeat_rate,
    select_markov,
)


def test_probabilities_sum_to_one_for_every_context():
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 5, size=50) for _ in range(4)]
    chain = MarkovChain(MarkovConfig(order=2, n_symbols=5, beta=1.5)).fit(train)
    for history in ([], [3], [1, 4], [0, 0], [2, 2]):
        total = sum(math.exp(chain.log_probs(np.array(history + [x]))[-1]) for x in range(5))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_a_deterministic_cycle_is_learned_by_order_1_not_order_0():
    cycle = [np.tile(np.arange(6), 30)]
    order0 = MarkovChain(MarkovConfig(order=0, n_symbols=6)).fit(cycle)
    order1 = MarkovChain(MarkovConfig(order=1, n_symbols=6, beta=0.1)).fit(cycle)
    assert order0.nll(cycle) == pytest.approx(math.log(6), rel=1e-3)
    assert order1.nll(cycle) < 0.05  # only the first symbol costs anything


def test_order_2_needs_two_symbols_of_context():
    # x[t] = x[t-1] XOR x[t-2]: unpredictable from one symbol, determined by two.
    rng = np.random.default_rng(1)
    seqs = []
    for _ in range(20):
        x = list(rng.integers(0, 2, size=2))
        for _ in range(100):
            x.append(x[-1] ^ x[-2])
        seqs.append(np.array(x))
    one = MarkovChain(MarkovConfig(order=1, n_symbols=2)).fit(seqs).nll(seqs)
    two = MarkovChain(MarkovConfig(order=2, n_symbols=2, beta=0.1)).fit(seqs).nll(seqs)
    assert one > 0.6 and two < 0.1


def test_unseen_symbols_keep_probability_and_units():
    chain = MarkovChain(MarkovConfig(order=1, n_symbols=4)).fit([np.array([0, 1, 0, 1])])
    assert np.isfinite(chain.nll([np.array([3, 2, 3])]))
    assert nats_to_bits(math.log(2)) == pytest.approx(1.0)


def test_errors():
    with pytest.raises(NotFittedError):
        MarkovChain().log_probs(np.array([1, 2]))
    with pytest.raises(InputError, match="outside 0..3"):
        MarkovChain(MarkovConfig(n_symbols=4)).fit([np.array([0, 4])])
    with pytest.raises(InputError, match="overflow"):
        MarkovChain(MarkovConfig(order=9, n_symbols=256))


def test_select_markov_and_repeat_rate():
    seqs = [np.array([1, 1, 1, 2, 2, 3])]
    chain, score = select_markov(seqs, seqs, 1, 4, betas=(0.5, 4.0))
    assert chain.config.beta == 0.5 and score == pytest.approx(chain.nll(seqs))
    assert repeat_rate(seqs) == pytest.approx(3 / 5)
