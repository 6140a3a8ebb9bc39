"""Forecasting on demo data: the backtest-chosen model vs seasonal naive, per series.

    python -m benchmarks.forecasting [--users 2000] [--freq D] [--horizon 7]

Generates a demo dataset in a temporary directory, builds the platform and per-genre series
and prints, over all series, the rolling-origin backtest sMAPE/MASE of the chosen model and of
seasonal naive (with their ratio) and the leave-one-origin-out interval coverage vs nominal.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from entertainai.analytics.forecast import ForecastConfig, forecast_many, summary
from entertainai.analytics.series import series_from_interactions
from entertainai.data.dataset import Dataset
from entertainai.data.synthetic import DemoConfig, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks.forecasting", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--freq", default="D", choices=["D", "h"])
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        generate(f"{tmp}/demo", DemoConfig(n_users=args.users, seed=args.seed))
        ds = Dataset.open(f"{tmp}/demo")
        series = series_from_interactions(ds.interactions, level="platform", freq=args.freq)
        series += series_from_interactions(ds.interactions, ds.items, level="genre", freq=args.freq)
    began = time.perf_counter()
    results = forecast_many(series, ForecastConfig(horizon=args.horizon))
    s = summary(results)
    print(f"{s['n_series']} series (platform + genres), freq {args.freq}, horizon {args.horizon}")
    print(
        f"{'series':<14}{'chosen':<16}{'sMAPE':>8}{'MASE':>8}{'cover':>7}{'naive sMAPE':>13}{'naive MASE':>12}"
    )
    for r in results:
        c, n = r.score(r.model), r.score("seasonal_naive")
        print(
            f"{r.uid:<14}{r.model:<16}{c.smape:8.2f}{c.mase:8.3f}{c.coverage:7.2f}{n.smape:13.2f}{n.mase:12.3f}"
        )
    print(
        f"mean: chosen sMAPE {s['chosen_smape']:.2f} vs seasonal naive {s['naive_smape']:.2f} "
        f"(ratio {s['chosen_smape'] / s['naive_smape']:.3f}); MASE {s['chosen_mase']:.3f} vs "
        f"{s['naive_mase']:.3f} (ratio {s['chosen_mase'] / s['naive_mase']:.3f}); coverage "
        f"{s['chosen_coverage']:.3f} (nominal {s['level']}); chosen {s['chosen_models']}; "
        f"{time.perf_counter() - began:.0f}s wall"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
