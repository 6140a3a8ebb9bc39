"""Forecasting: planted weekly seasonality is beaten vs seasonal naive, intervals, errors."""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.analytics.forecast import (
    ForecastConfig,
    forecast,
    interval_offsets,
    mase_scale,
    seasonal_naive,
    smape,
    trending_soon,
)
from entertainai.analytics.series import Series
from entertainai.errors import InputError

START = np.datetime64("2026-01-01T00:00:00", "s")


def weekly(n: int = 70, noise: float = 8.0, seed: int = 0, uid: str = "s") -> Series:
    rng = np.random.default_rng(seed)
    pattern = np.array([100, 95, 100, 105, 120, 150, 145], dtype=float)
    return Series(uid, START, "D", pattern[np.arange(n) % 7] + rng.normal(0, noise, n))


def test_metrics():
    assert smape(np.array([0.0, 100.0]), np.array([0.0, 100.0])) == 0.0
    assert smape(np.array([100.0]), np.array([0.0])) == pytest.approx(200.0)
    assert mase_scale(np.array([1.0, 2, 3, 4, 5, 6, 7, 2]), 7) == 1.0
    assert seasonal_naive(np.arange(14.0), 7, 9).tolist() == [7, 8, 9, 10, 11, 12, 13, 7, 8]
    errors = np.random.default_rng(0).normal(0, 1, (20, 5))
    lo, hi = interval_offsets(errors, 0.9)
    assert (lo < 0).all() and (hi > 0).all() and np.all(np.diff(hi) >= -1e-12)


def test_chosen_model_beats_seasonal_naive_on_noisy_seasonality():
    result = forecast(
        weekly(), ForecastConfig(horizon=7, models=("seasonal_naive", "holt_winters"))
    )
    chosen, naive = result.score(result.model), result.score("seasonal_naive")
    assert result.model == "holt_winters"
    assert chosen.mase < naive.mase and chosen.smape < naive.smape
    assert 0.6 <= chosen.coverage <= 1.0
    assert len(result.rows()) == 7 and result.rows()[0]["ds"] == "2026-03-12T00:00:00Z"
    assert (result.lower <= result.mean).all() and (result.mean <= result.upper).all()
    # The peak is forecast where it was planted (position 5 of every week of the series).
    assert (70 + np.argmax(result.mean)) % 7 == 5


def test_gbm_is_deterministic_under_the_seed():
    config = ForecastConfig(horizon=7, models=("gbm",), n_origins=2)
    a, b = forecast(weekly(seed=1), config), forecast(weekly(seed=1), config)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.scores == b.scores


def test_too_short_and_bad_config():
    with pytest.raises(InputError, match="too short"):
        forecast(weekly(n=15), ForecastConfig(horizon=7))
    with pytest.raises(InputError, match="horizon"):
        ForecastConfig(horizon=0)
    with pytest.raises(InputError, match="unknown models"):
        ForecastConfig(models=("prophet",))


def test_trending_soon_flags_the_ramp_not_the_flat_series():
    flat = weekly(n=42, noise=2.0, uid="flat")
    values = weekly(n=42, noise=2.0).values.copy()
    values[-7:] *= np.linspace(1.3, 3.0, 7)  # a burst building up
    ramp = Series("ramp", START, "D", values)
    trends = {t.uid: t for t in trending_soon([flat, ramp])}
    assert trends["ramp"].flagged and not trends["flat"].flagged
    assert trends["ramp"].lift > trends["flat"].lift
