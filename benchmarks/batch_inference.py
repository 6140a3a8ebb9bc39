"""Batch recommendations: Ray Data (1 actor) vs one process, same registered model, same blocks.

    python -m benchmarks.batch_inference                      # EASE on demo data, 10x its users
    python -m benchmarks.batch_inference --model item_knn --users 50000 --batch-size 512

Trains the model on the demo data (or ``--data``) and registers it in a temp registry, then
ranks the same users (the model's users, tiled to ``--users``) for top-k rows twice:

* Ray Data: ``train.batch_recommend.run_batch`` with one actor (1 CPU) on a local Ray with 2
  CPUs: blocks of ``--batch-size`` users, the model loaded once per actor;
* baseline: ``recommend_rows`` in this process over the same users in blocks of the same size,
  the model loaded once, rows streamed to the same kind of Parquet file.

Both times include loading the model and writing the Parquet file, not ``ray.init``. Prints
rows/s of each and their ratio, and checks the two outputs are identical.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from benchmarks.common import (
    TUNED,
    add_common_args,
    data_source,
    dataset,
    machine,
    machine_line,
    markdown_table,
    ratio,
    start_ray,
    write_results,
)
from entertainai.errors import InputError
from entertainai.recommend.batch import RowWriter, recommend_rows
from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import Registry
from train.batch_recommend import load_recommender, run_batch
from train.common import run_job

log = logging.getLogger("benchmarks.batch_inference")

KINDS = ("ease", "item_knn")
PATHS = ("single process", "Ray Data")
SORT_KEYS = [("user_id", "ascending"), ("rank", "ascending")]


@dataclass(frozen=True)
class Timing:
    path: str
    rows: int
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def rows_per_second(self) -> float:
        return ratio(self.rows, self.best)


# ---- setup --------------------------------------------------------------------------------


def train_and_register(data: str, kind: str, registry_root: str) -> str:
    """Fit, evaluate and register (refitted on all interactions); returns the model directory."""
    prepared = prepare(data, "random:0.2:42")
    spec = TrainSpec(kind, TUNED[kind])
    model, result = fit_and_evaluate(prepared, spec)
    registry = Registry(registry_root)
    version = register(registry, model, result, prepared, spec)
    log.info("registered %s (ndcg@10 %.4f on the split)", version.ref, result.metrics["ndcg"])
    return str(registry.local_path(version.ref))


def tiled_users(model_path: str, n: int | None) -> np.ndarray:
    """The model's users, repeated in order up to ``n`` (default: 10 times them)."""
    users = load_recommender(model_path).user_ids_.astype(str)
    n = n or 10 * len(users)
    return np.resize(users, n)


# ---- the two paths ------------------------------------------------------------------------


def rank_in_process(model_path: str, users: np.ndarray, k: int, out: str, batch_size: int) -> int:
    """The baseline: one process, the same core function over blocks of ``batch_size`` users."""
    writer = RowWriter(out)
    try:
        model = load_recommender(model_path)
        for start in range(0, len(users), batch_size):
            writer.write(recommend_rows(model, users[start : start + batch_size], k))
    finally:
        writer.close()
    return writer.rows


def quiet_ray_data() -> None:
    """No per-operator progress lines between the benchmark's own log lines."""
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def rank_on_ray(model_path: str, users: np.ndarray, k: int, out: str, batch_size: int) -> int:
    return run_batch(model_path, users, k, out, batch_size=batch_size, actors=1).rows


def measure(
    path: str, model_path: str, users: np.ndarray, args: argparse.Namespace, out: str
) -> Timing:
    rank = rank_in_process if path == PATHS[0] else rank_on_ray
    seconds, rows = [], 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        rows = rank(model_path, users, args.k, out, args.batch_size)
        seconds.append(time.perf_counter() - start)
        log.info("%s: %d rows in %.2fs", path, rows, seconds[-1])
    return Timing(path, rows, seconds)


def compare(a: str, b: str) -> dict[str, Any]:
    """Row-for-row comparison after sorting by (user, rank); duplicated users rank identically."""
    left, right = (pq.read_table(p).sort_by(SORT_KEYS) for p in (a, b))
    same_shape = left.num_rows == right.num_rows
    same_ids = same_shape and all(
        left.column(c).equals(right.column(c)) for c in ("user_id", "item_id", "rank")
    )
    scores = [t.column("score").to_numpy() for t in (left, right)]
    max_diff = (
        float(np.max(np.abs(scores[0] - scores[1])))
        if same_shape and left.num_rows
        else float("nan")
    )
    return {
        "rows": [left.num_rows, right.num_rows],
        "identical_ids_and_ranks": bool(same_ids),
        "max_abs_score_difference": max_diff,
        "identical": bool(same_ids and max_diff == 0.0),
    }


# ---- reporting ----------------------------------------------------------------------------


def report(
    timings: list[Timing], check: dict[str, Any], facts: dict[str, Any], setup: dict[str, Any]
) -> str:
    base = timings[0]
    table = markdown_table(
        ["path", "rows", "best s", "median s", "rows/s", "vs single process"],
        [
            [
                t.path,
                f"{t.rows:,}",
                f"{t.best:.2f}",
                f"{statistics.median(t.seconds):.2f}",
                f"{t.rows_per_second:,.0f}",
                f"{ratio(t.rows_per_second, base.rows_per_second):.2f}x",
            ]
            for t in timings
        ],
    )
    verdict = "identical" if check["identical"] else f"DIFFERENT: {check}"
    return f"""# Batch inference: Ray Data vs a single process

{machine_line(facts)}

Model `{setup["model"]}` (`{setup["params"]}`) trained on `{setup["data"]}`, {setup["users"]:,}
users ({setup["distinct_users"]:,} distinct, tiled), top {setup["k"]}, blocks of {setup["batch_size"]} users;
Ray Data with 1 actor (1 CPU) on a local Ray with 2 CPUs (`ray.init` {setup["ray_init_seconds"]:.2f}s, not
counted). Best and median of {setup["repeats"]} runs; rows/s from the best.

{table}

Outputs: {verdict} (max |score difference| {check["max_abs_score_difference"]}).
"""


# ---- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_args(parser, "runs/benchmarks/batch_inference")
    parser.add_argument(
        "--model", choices=KINDS, default="ease", help="what to train and rank with (default ease)"
    )
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="users to rank, the model's tiled (default 10x them)",
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--batch-size", type=int, default=256, help="users per block on both paths (default 256)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per path (default 3)")
    args = parser.parse_args(argv)
    return run_job("benchmarks.batch_inference", run, args)


def run(args: argparse.Namespace) -> int:
    if args.k <= 0 or args.batch_size <= 0 or args.repeats <= 0:
        raise InputError("--k, --batch-size and --repeats must be positive")
    if args.smoke_test:
        args.users, args.repeats = args.users or 2000, 1
    facts = machine()
    source = data_source(args)
    with tempfile.TemporaryDirectory(prefix="entertainai-bench-") as tmp:
        with dataset(source) as data:
            model_path = train_and_register(data, args.model, str(Path(tmp) / "registry"))
        users = tiled_users(model_path, args.users)
        ray_init = start_ray(num_cpus=2)
        quiet_ray_data()
        outs = [str(Path(tmp) / f"{name}.parquet") for name in ("local", "ray")]
        timings = [
            measure(p, model_path, users, args, out) for p, out in zip(PATHS, outs, strict=True)
        ]
        check = compare(*outs)
    setup = {
        "model": args.model,
        "params": TUNED[args.model],
        "data": source,
        "users": len(users),
        "distinct_users": len(np.unique(users)),
        "k": args.k,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "ray_init_seconds": ray_init,
    }
    markdown = report(timings, check, facts, setup)
    payload = {
        "benchmark": "batch_inference",
        "machine": facts,
        "setup": setup,
        "timings": [
            {**asdict(t), "best": t.best, "rows_per_second": t.rows_per_second} for t in timings
        ],
        "ray_vs_single_process": ratio(timings[1].rows_per_second, timings[0].rows_per_second),
        "check": check,
    }
    out = write_results(args.out, payload, markdown)
    print(markdown)
    print(f"wrote {out}/results.json and results.md")
    return 0 if check["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
