"""Forecast many series in parallel as Ray tasks; write forecasts and a backtest report.

    python -m train.forecast --data data/demo --level genre --horizon 7 --out runs/forecast
    python -m train.forecast --data series.csv --horizon 14 --out runs/forecast
    python -m train.forecast --data views.csv --horizon 365 --gaps missing --interval 0.8 --log
    ray job submit --working-dir . -- python -m train.forecast --data /abs/demo --level item

Each task backtests, chooses and forecasts a chunk of series (core:
``entertainai.analytics.forecast``); the driver writes ``forecasts.csv`` (one row per series
and step, series in input order), ``backtest.json`` and the ``trending.json`` of series whose
forecast jumps over their last season.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import ray

from entertainai.analytics.forecast import (
    YEARLY_CHOICES,
    ForecastConfig,
    describe,
    forecast_many,
    summary,
    trending_soon,
)
from entertainai.analytics.series import Series, series_from_path
from entertainai.data.rows import write_rows
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.forecast")


@ray.remote(num_cpus=1)
def forecast_chunk(series: list[Series], config: ForecastConfig) -> list[dict[str, Any]]:
    results = forecast_many(series, config)
    trends = {t.uid: t for t in trending_soon(series)}
    return [
        {"rows": r.rows(), "report": r.report(), "summary": r, "trend": trends.get(r.uid)}
        for r in results
    ]


def run(args: argparse.Namespace) -> int:
    series = series_from_path(absolute(args.data), level=args.level, freq=args.freq, gaps=args.gaps)
    if args.smoke_test or args.max_series:
        series = sorted(series, key=lambda s: -s.values.sum())[: args.max_series or 3]
    config = ForecastConfig(
        horizon=args.horizon,
        level=args.interval,
        yearly=YEARLY_CHOICES[args.yearly],
        log=args.log,
    )
    init_ray(args.address, args.num_cpus)
    chunks = [series[i : i + args.chunk_size] for i in range(0, len(series), args.chunk_size)]
    log.info("%d series in %d Ray tasks", len(series), len(chunks))
    done = [
        item
        for part in ray.get([forecast_chunk.remote(c, config) for c in chunks])
        for item in part
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_rows([row for d in done for row in d["rows"]], str(out / "forecasts.csv"))
    report = {
        "summary": summary([d["summary"] for d in done]),
        "series": [d["report"] for d in done],
    }
    (out / "backtest.json").write_text(json.dumps(report, indent=2))
    trending = [
        {"unique_id": t.uid, "recent": t.recent, "expected": t.expected, "lift": t.lift}
        for t in sorted((d["trend"] for d in done if d["trend"]), key=lambda t: -t.lift)
        if t.flagged
    ]
    (out / "trending.json").write_text(json.dumps(trending, indent=2))
    print(
        f"{len(done)} series, horizon {args.horizon}: {describe(report['summary'])}; "
        f"{len(trending)} trending soon; wrote {out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train.forecast", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="ds,y[,unique_id] file or dataset dir")
    parser.add_argument("--level", default="platform", choices=["platform", "genre", "item"])
    parser.add_argument("--freq", default="D", choices=["D", "h"])
    parser.add_argument(
        "--gaps",
        default="error",
        choices=["error", "zero", "interpolate", "missing"],
        help="missing steps: refuse, count as 0, interpolate, or leave missing (fitted around)",
    )
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument(
        "--yearly",
        default="auto",
        choices=["auto", "on", "off"],
        help="yearly seasonality (auto: daily series with a year of history before each origin)",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="fit on log(1 + y) (page views, heavy-tailed counts): multiplicative intervals",
    )
    parser.add_argument("--interval", type=float, default=0.9, help="nominal coverage")
    parser.add_argument("--chunk-size", type=int, default=8, help="series per Ray task")
    parser.add_argument("--max-series", type=int, default=None, help="the N busiest series")
    parser.add_argument("--out", default="runs/forecast")
    add_ray_args(parser)
    return run_job("train.forecast", run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
