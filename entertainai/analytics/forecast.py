"""Forecasting plays/views: seasonal naive, Holt-Winters and gradient boosting on lags.

Every series gets the same treatment (:func:`forecast`):

1. **Rolling-origin backtest.** The last ``n_origins`` windows of ``horizon`` steps are each
   forecast by every candidate model fitted on the data before them. Scores: sMAPE (0-200)
   and MASE (the mean absolute error over the in-sample seasonal naive one-step-season error
   of that origin's training part, so < 1 beats "same as last season").
2. **Choice.** The model with the lowest mean MASE wins (sMAPE breaks ties); seasonal naive is
   always a candidate, so the choice never does worse than it on the backtest.
3. **Intervals** come from the chosen model's backtest errors: a per-step scale (the RMS error
   at each horizon step, made non-decreasing) times pooled quantiles of the scaled errors,
   with a finite-sample (conformal) correction. Their **coverage** is measured honestly, by
   leave-one-origin-out: each origin's intervals are built from the other origins' errors.
4. **Final fit** of the chosen model on the whole series; seasonal naive is reported beside it.

The forecaster is fitted per request (no registry artifact): a fit is cheap and data-bound.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from entertainai.analytics.series import Series
from entertainai.errors import InputError

log = logging.getLogger(__name__)

MODELS = ("seasonal_naive", "holt_winters", "gbm")
BASELINE = "seasonal_naive"


@dataclass(frozen=True)
class ForecastConfig:
    """How to backtest, choose and forecast; ``season`` defaults to 7 (daily) or 24 (hourly)."""

    horizon: int = 7
    season: int | None = None
    models: tuple[str, ...] = MODELS
    n_origins: int = 5
    origin_step: int | None = None  # steps between backtest origins (default: horizon)
    level: float = 0.9  # nominal coverage of the prediction interval
    nonnegative: bool = True  # counts: clip forecasts and interval bounds at 0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.horizon <= 10_000:
            raise InputError(f"horizon must be >= 1, got {self.horizon}", location="horizon")
        if self.season is not None and self.season < 1:
            raise InputError(f"season must be >= 1, got {self.season}", location="season")
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown or not self.models:
            raise InputError(f"unknown models {unknown}; known: {list(MODELS)}", location="models")
        if not 0.5 <= self.level < 1.0:
            raise InputError(f"level must be in [0.5, 1), got {self.level}", location="level")
        if self.n_origins < 2:
            raise InputError("n_origins must be >= 2 (coverage is leave-one-origin-out)")


@dataclass(frozen=True)
class ModelScore:
    model: str
    smape: float
    mase: float
    coverage: float  # share of backtest actuals inside the interval (leave-one-origin-out)


@dataclass(frozen=True)
class ForecastResult:
    """One series' forecast with intervals, seasonal naive beside it, and the backtest report."""

    uid: str
    freq: str
    model: str  # the chosen one
    level: float
    timestamps: np.ndarray  # datetime64[s]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    baseline: np.ndarray  # seasonal naive forecast
    scores: tuple[ModelScore, ...]
    n_origins: int
    history: Series | None = field(default=None, repr=False)

    def score(self, model: str) -> ModelScore:
        return next(s for s in self.scores if s.model == model)

    def rows(self) -> list[dict[str, Any]]:
        """One row per forecast step (the CLI/HTTP output)."""
        return [
            {
                "unique_id": self.uid,
                "ds": str(t) + "Z",
                "yhat": float(m),
                "yhat_lower": float(lo),
                "yhat_upper": float(hi),
                "seasonal_naive": float(b),
                "model": self.model,
            }
            for t, m, lo, hi, b in zip(
                self.timestamps, self.mean, self.lower, self.upper, self.baseline, strict=True
            )
        ]

    def report(self) -> dict[str, Any]:
        """The backtest report: chosen model, every candidate's scores, nominal level."""
        return {
            "unique_id": self.uid,
            "chosen": self.model,
            "level": self.level,
            "n_origins": self.n_origins,
            "scores": [asdict(s) for s in self.scores],
        }


# ---- models ---------------------------------------------------------------------------------


def seasonal_naive(y: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """Each step repeats the value one season earlier."""
    last = y[-m:]
    return np.array([last[h % m] for h in range(horizon)], dtype=np.float64)


def _hw_filter(
    params: np.ndarray, y: list[float], m: int
) -> tuple[float, float, list[float], float]:
    """Run additive damped Holt-Winters over ``y``; returns the end state and the SSE.

    Plain Python floats: a numpy scalar per step would be ~10x slower.
    """
    alpha, beta, gamma, phi = (float(p) for p in params)
    level = sum(y[:m]) / m
    trend = (sum(y[m : 2 * m]) - sum(y[:m])) / (m * m) if len(y) >= 2 * m else 0.0
    seasonal = [v - level for v in y[:m]]
    sse = 0.0
    for t in range(m, len(y)):
        s = seasonal[t % m]
        error = y[t] - (level + phi * trend + s)
        sse += error * error
        new_level = alpha * (y[t] - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        seasonal[t % m] = gamma * (y[t] - new_level) + (1 - gamma) * s
        level = new_level
    return level, trend, seasonal, sse


def holt_winters(y: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """Additive Holt-Winters with a damped trend; smoothing parameters by least squares."""
    from scipy.optimize import minimize

    values = [float(v) for v in y]
    if len(values) < 2 * m:
        raise InputError(f"Holt-Winters needs two seasons ({2 * m} points), got {len(values)}")
    start = np.array([0.3, 0.05, 0.1, 0.9])
    bounds = [(1e-3, 0.999), (0.0, 0.5), (0.0, 0.999), (0.8, 0.98)]
    best = minimize(
        lambda p: _hw_filter(p, values, m)[3],
        start,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 60},
    )
    params = best.x if np.isfinite(best.fun) else start
    level, trend, seasonal, _ = _hw_filter(params, values, m)
    phi = float(params[3])
    damp = np.cumsum(phi ** np.arange(1, horizon + 1))
    n = len(values)
    return np.array([level + damp[h] * trend + seasonal[(n + h) % m] for h in range(horizon)])


def _gbm_features(history: np.ndarray, t: int, m: int, lags: int) -> list[float]:
    window = history[t - lags : t]
    return [*window[::-1], float(window[-m:].mean()), float(t % m), float((t // m) % 7)]


def gbm(y: np.ndarray, m: int, horizon: int, seed: int = 0) -> np.ndarray:
    """Gradient boosting on lags 1..m (and 2m when there is room), the season mean and the
    calendar position, forecasting recursively; it learns the level-free seasonal shape."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: tiny data, and spinning threads on a busy machine cost 100x.
    with threadpool_limits(1):
        return _gbm(HistGradientBoostingRegressor, y, m, horizon, seed)


def _gbm(regressor: type, y: np.ndarray, m: int, horizon: int, seed: int) -> np.ndarray:
    lags = 2 * m if len(y) >= 5 * m else m
    if len(y) - lags < 5:
        raise InputError(f"gradient boosting needs more than {lags + 5} points, got {len(y)}")
    rows = np.array([_gbm_features(y, t, m, lags) for t in range(lags, len(y))])
    # The target relative to the season mean: trees cannot extrapolate a level they never saw.
    base = rows[:, lags]
    model = regressor(
        max_iter=60,
        learning_rate=0.1,
        min_samples_leaf=max(3, min(20, len(rows) // 10)),
        early_stopping=False,
        random_state=seed,
    ).fit(rows, y[lags:] - base)
    history = np.concatenate([y.astype(np.float64), np.zeros(horizon)])
    for h in range(horizon):
        t = len(y) + h
        x = np.array([_gbm_features(history, t, m, lags)])
        history[t] = x[0, lags] + model.predict(x)[0]
    return history[len(y) :]


def predict(model: str, y: np.ndarray, m: int, horizon: int, seed: int = 0) -> np.ndarray:
    """Fit ``model`` on ``y`` and forecast ``horizon`` steps."""
    if model == "seasonal_naive":
        return seasonal_naive(y, m, horizon)
    if model == "holt_winters":
        return holt_winters(y, m, horizon)
    if model == "gbm":
        return gbm(y, m, horizon, seed)
    raise InputError(f"unknown model {model!r}; known: {list(MODELS)}")


# ---- metrics and intervals ------------------------------------------------------------------


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a step where both are 0 counts as a perfect 0."""
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(actual - forecast),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(100 * ratio.mean())


def mase_scale(train: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast (one season back); 1 for a flat series."""
    lag = m if len(train) > m else 1
    scale = float(np.abs(train[lag:] - train[:-lag]).mean()) if len(train) > lag else 0.0
    return scale if scale > 0 else 1.0


def interval_offsets(errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) offsets per horizon step from backtest errors (origins x steps).

    The spread grows with the step (RMS error per step, made non-decreasing); its shape is
    shared across steps, so a handful of origins still gives usable quantiles.
    """
    scale = np.sqrt((errors**2).mean(axis=0))
    scale = np.maximum.accumulate(np.maximum(scale, 1e-9))
    z = (errors / scale).ravel()
    n = len(z)
    tail = (1 - level) / 2
    # Conformal-style correction: the (1 - tail)(1 + 1/n) quantile covers at least nominal.
    hi_q = min(1.0, (1 - tail) * (1 + 1 / n))
    lo_q = max(0.0, 1 - hi_q)
    return np.quantile(z, lo_q) * scale, np.quantile(z, hi_q) * scale


# ---- backtest, choice and forecast ----------------------------------------------------------


def season_of(series: Series, config: ForecastConfig) -> int:
    return config.season or series.season


def origins(n: int, m: int, config: ForecastConfig) -> list[int]:
    """Training lengths of the backtest origins, oldest first (at least two seasons each)."""
    step = config.origin_step or config.horizon
    last = n - config.horizon
    cut = [last - k * step for k in range(config.n_origins)]
    cut = [c for c in cut if c >= 2 * m]
    if len(cut) < 2:
        need = 2 * m + config.horizon + step
        raise InputError(
            f"series too short for a backtest: {n} points; need at least {need} "
            f"(two seasons of {m} + horizon {config.horizon} + one more origin)"
        )
    return sorted(cut)


def backtest(
    series: Series, config: ForecastConfig
) -> tuple[list[int], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Backtest errors and forecasts per model: arrays of (origins, horizon)."""
    y, m, horizon = series.values, season_of(series, config), config.horizon
    cuts = origins(len(y), m, config)
    forecasts: dict[str, np.ndarray] = {}
    for model in dict.fromkeys((BASELINE, *config.models)):
        rows = []
        for cut in cuts:
            try:
                f = predict(model, y[:cut], m, horizon, config.seed)
            except InputError:
                break  # too little data for this model at this origin: drop the model
            rows.append(np.maximum(f, 0) if config.nonnegative else f)
        if len(rows) == len(cuts):
            forecasts[model] = np.array(rows)
    actual = np.array([y[c : c + horizon] for c in cuts])
    errors = {model: actual - f for model, f in forecasts.items()}
    return cuts, forecasts, errors


def _coverage(errors: np.ndarray, level: float) -> float:
    """Leave-one-origin-out coverage: intervals for origin o come from the other origins."""
    hits = []
    for o in range(len(errors)):
        lo, hi = interval_offsets(np.delete(errors, o, axis=0), level)
        hits.append((errors[o] >= lo) & (errors[o] <= hi))
    return float(np.mean(hits))


def forecast(series: Series, config: ForecastConfig = ForecastConfig()) -> ForecastResult:
    """Backtest every candidate, choose, refit on the whole series and forecast with intervals."""
    if not np.isfinite(series.values).all():
        raise InputError(f"series {series.uid!r} has non-finite values")
    m = season_of(series, config)
    y = series.values
    cuts, forecasts, errors = backtest(series, config)
    scores = []
    for model, f in forecasts.items():
        actual = errors[model] + f
        mase = np.mean(
            [np.abs(errors[model][o]).mean() / mase_scale(y[:c], m) for o, c in enumerate(cuts)]
        )
        scores.append(
            ModelScore(model, smape(actual, f), float(mase), _coverage(errors[model], config.level))
        )
    chosen = min(scores, key=lambda s: (round(s.mase, 9), s.smape)).model
    mean = predict(chosen, y, m, config.horizon, config.seed)
    lo, hi = interval_offsets(errors[chosen], config.level)
    lower, upper = mean + lo, mean + hi
    baseline = seasonal_naive(y, m, config.horizon)
    if config.nonnegative:
        mean, lower, upper = np.maximum(mean, 0), np.maximum(lower, 0), np.maximum(upper, 0)
    return ForecastResult(
        uid=series.uid,
        freq=series.freq,
        model=chosen,
        level=config.level,
        timestamps=series.future(config.horizon),
        mean=mean,
        lower=lower,
        upper=upper,
        baseline=baseline,
        scores=tuple(sorted(scores, key=lambda s: MODELS.index(s.model))),
        n_origins=len(cuts),
        history=series,
    )


def forecast_many(
    series: list[Series], config: ForecastConfig = ForecastConfig()
) -> list[ForecastResult]:
    """:func:`forecast` for each series, in order (the Ray job spreads chunks of this)."""
    results = []
    for s in series:
        try:
            results.append(forecast(s, config))
        except InputError as exc:
            raise InputError(f"series {s.uid!r}: {exc}") from None
    return results


def summary(results: list[ForecastResult]) -> dict[str, Any]:
    """Mean backtest scores of the chosen models and of seasonal naive, over all series."""
    if not results:
        return {}
    chosen = [r.score(r.model) for r in results]
    naive = [r.score(BASELINE) for r in results]
    out = {
        "n_series": len(results),
        "level": results[0].level,
        "chosen_smape": float(np.mean([s.smape for s in chosen])),
        "chosen_mase": float(np.mean([s.mase for s in chosen])),
        "chosen_coverage": float(np.mean([s.coverage for s in chosen])),
        "naive_smape": float(np.mean([s.smape for s in naive])),
        "naive_mase": float(np.mean([s.mase for s in naive])),
        "naive_coverage": float(np.mean([s.coverage for s in naive])),
        "chosen_models": {m: sum(r.model == m for r in results) for m in MODELS},
    }
    return out


# ---- trending soon --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendConfig:
    """An item trends soon when its forecast mean over the next season is ``threshold`` times
    its mean over the last season and higher by at least ``min_increase`` per step."""

    threshold: float = 1.5
    min_increase: float = 1.0
    season: int | None = None
    model: str = "holt_winters"


@dataclass(frozen=True)
class Trend:
    uid: str
    recent: float  # mean per step over the last season
    expected: float  # forecast mean per step over the next season
    lift: float
    flagged: bool


def trending_soon(series: list[Series], config: TrendConfig = TrendConfig()) -> list[Trend]:
    """Compare each series' forecast for the next season with its last season, most lift first.

    A season-long window on both sides cancels the seasonal pattern, so what remains is the
    level change the model projects (its damped trend).
    """
    trends = []
    for s in series:
        m = config.season or s.season
        if len(s) < 2 * m:
            continue  # too new to have a level to jump from
        recent = float(s.values[-m:].mean())
        expected = float(np.maximum(predict(config.model, s.values, m, m), 0).mean())
        lift = expected / max(recent, 1e-9) if recent > 0 else (math.inf if expected > 0 else 1.0)
        flagged = lift >= config.threshold and expected - recent >= config.min_increase
        trends.append(Trend(s.uid, recent, expected, float(lift), bool(flagged)))
    return sorted(trends, key=lambda t: -t.lift)
