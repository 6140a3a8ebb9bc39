"""Forecasting: the backtest-chosen model vs the naive baselines, a week and a year ahead.

    python -m benchmarks.forecasting [--suite yearly|demo|all] [--seeds 8] [--years 5]
        [--first-seed 0] [--kinds planted realistic]
    python -m benchmarks.forecasting --suite demo [--users 2000] [--freq D] [--horizon 7]

``yearly`` (no real page-view series is in ``../shared/data``, so this runs on demo series):
multi-year daily series from :func:`entertainai.analytics.series.demo_daily_series`, both the
``planted`` kind (trend + weekly + yearly seasonality + noise + gaps) and the ``realistic`` one
(log page views of a sports page: a season with shifting playoff spikes, a trend whose slope
changes, level shifts, a wandering level, heavy-tailed autocorrelated noise, Pareto-sized news
spikes, gaps). The last 365 days of each
are held out; every candidate and both baselines (last-year naive: 364 days back; seasonal
naive: 7 days back) forecast them from the rest, side by side, with the MAE ratio to last-year
naive and the held-out coverage of the chosen model's 80% interval (and the backtest's own
leave-one-origin-out estimate of it).

``demo``: the platform and per-genre play counts of a demo dataset (60 days), horizon 7: the
rolling-origin backtest sMAPE/MASE of the chosen model and of seasonal naive.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from entertainai.analytics.forecast import (
    MODELS,
    YEAR,
    ForecastConfig,
    forecast,
    forecast_many,
    predict,
    summary,
)
from entertainai.analytics.series import DemoSeriesConfig, demo_daily_series

HORIZON = 365
KINDS = ("planted", "realistic")
SHORT = {
    "seasonal_naive": "naive7",
    "last_year_naive": "lastyear",
    "holt_winters": "hw",
    "yearly_combo": "combo",
}


def _mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    observed = np.isfinite(actual)
    return float(np.abs(actual - forecast)[observed].mean())


def yearly(
    seeds: int, years: float, level: float, first_seed: int = 0, kinds: tuple[str, ...] = KINDS
) -> None:
    print(
        f"yearly: demo daily series ({years:g} years; the last {HORIZON} days held out), horizon "
        f"{HORIZON}, {level:.0%} intervals; no real page-view series in ../shared/data"
    )
    names = [SHORT.get(m, m) for m in MODELS]
    for kind in kinds:
        print(f"\n{kind}: held-out MAE of every candidate fitted on the rest")
        columns = "".join(f"{n:>10}" for n in names)
        print(f"{'seed':<6}{'chosen':<17}{columns}  ratio  cover  bt-cover")
        rows = []
        for seed in range(first_seed, first_seed + seeds):
            config = DemoSeriesConfig(kind=kind, years=years, seed=seed)  # type: ignore[arg-type]
            series, _ = demo_daily_series(config)
            history, actual = series.head(len(series) - HORIZON), series.values[-HORIZON:]
            began = time.perf_counter()
            result = forecast(history, ForecastConfig(horizon=HORIZON, level=level))
            held = {
                m: _mae(actual, np.maximum(predict(m, history.values, 7, HORIZON, year=YEAR), 0))
                for m in MODELS
            }
            chosen = _mae(actual, result.mean)
            observed = np.isfinite(actual)
            inside = ((actual >= result.lower) & (actual <= result.upper))[observed].mean()
            rows.append((chosen, held, inside, result.score(result.model).coverage))
            print(
                f"{seed:<6}{result.model:<17}"
                + "".join(f"{held[m]:10.4g}" for m in MODELS)
                + f"{chosen / held['last_year_naive']:7.3f}{inside:7.2f}"
                + f"{result.score(result.model).coverage:10.2f}"
                + f"   ({time.perf_counter() - began:.0f}s)"
            )
        chosen = np.mean([r[0] for r in rows])
        last_year = np.mean([r[1]["last_year_naive"] for r in rows])
        weekly = np.mean([r[1]["seasonal_naive"] for r in rows])
        print(
            f"{kind} mean over {seeds} seeds: chosen MAE {chosen:.4g} vs last-year naive "
            f"{last_year:.4g} (ratio {chosen / last_year:.3f}) vs seasonal naive 7 {weekly:.4g} "
            f"(ratio {chosen / weekly:.3f}); held-out coverage {np.mean([r[2] for r in rows]):.3f}"
            f" (backtest estimate {np.mean([r[3] for r in rows]):.3f}, nominal {level})"
        )


def demo(users: int, seed: int, horizon: int, freq: str) -> None:
    from entertainai.analytics.series import series_from_interactions
    from entertainai.data.dataset import Dataset
    from entertainai.data.synthetic import DemoConfig, generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(f"{tmp}/demo", DemoConfig(n_users=users, seed=seed))
        ds = Dataset.open(f"{tmp}/demo")
        series = series_from_interactions(ds.interactions, level="platform", freq=freq)
        series += series_from_interactions(ds.interactions, ds.items, level="genre", freq=freq)
    began = time.perf_counter()
    results = forecast_many(series, ForecastConfig(horizon=horizon))
    s = summary(results)
    print(f"\ndemo: {s['n_series']} series (platform + genres), freq {freq}, horizon {horizon}")
    print(
        f"{'series':<14}{'chosen':<16}{'sMAPE':>8}{'MASE':>8}{'cover':>7}"
        f"{'naive sMAPE':>13}{'naive MASE':>12}"
    )
    for r in results:
        c, n = r.score(r.model), r.score("seasonal_naive")
        print(
            f"{r.uid:<14}{r.model:<16}{c.smape:8.2f}{c.mase:8.3f}{c.coverage:7.2f}"
            f"{n.smape:13.2f}{n.mase:12.3f}"
        )
    print(
        f"mean: chosen sMAPE {s['chosen_smape']:.2f} vs seasonal naive {s['naive_smape']:.2f} "
        f"(ratio {s['chosen_smape'] / s['naive_smape']:.3f}); MASE {s['chosen_mase']:.3f} vs "
        f"{s['naive_mase']:.3f} (ratio {s['chosen_mase'] / s['naive_mase']:.3f}); coverage "
        f"{s['chosen_coverage']:.3f} (nominal {s['level']}); chosen {s['chosen_models']}; "
        f"{time.perf_counter() - began:.0f}s wall"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks.forecasting", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--suite", default="all", choices=["yearly", "demo", "all"])
    parser.add_argument("--seeds", type=int, default=8, help="yearly: demo series per kind")
    parser.add_argument("--first-seed", type=int, default=0, help="yearly: seed of the first")
    parser.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS, help="yearly: kinds")
    parser.add_argument("--years", type=float, default=5.0, help="yearly: years per series")
    parser.add_argument("--interval", type=float, default=0.8, help="yearly: nominal coverage")
    parser.add_argument("--users", type=int, default=2000, help="demo: users of the dataset")
    parser.add_argument("--freq", default="D", choices=["D", "h"], help="demo: grid")
    parser.add_argument("--horizon", type=int, default=7, help="demo: steps to forecast")
    parser.add_argument("--seed", type=int, default=0, help="demo: dataset seed")
    args = parser.parse_args(argv)
    if args.suite in ("yearly", "all"):
        yearly(args.seeds, args.years, args.interval, args.first_seed, tuple(args.kinds))
    if args.suite in ("demo", "all"):
        demo(args.users, args.seed, args.horizon, args.freq)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
