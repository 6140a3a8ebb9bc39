"""Batch recommendations through Ray Data: ``python -m train.batch_recommend --model ease --users all --out recs.parquet``.

Users are split into blocks; one actor per CPU budget loads the model once and ranks its
blocks with the same core function as the single-process path
(``entertainai.recommend.batch.recommend_rows``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import ray

from entertainai.errors import EntertainAIError, InputError
from entertainai.model import load_model
from entertainai.recommend.base import Recommender
from entertainai.recommend.batch import RowWriter, read_users, recommend_rows
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, configure_logging, init_ray

log = logging.getLogger("train.batch_recommend")


class RankBlock:
    """Ray Data UDF: loads the model once per actor, ranks a block of users."""

    def __init__(self, model_path: str, k: int) -> None:
        self.model = load_recommender(model_path)
        self.k = k

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        return recommend_rows(self.model, batch["user_id"].astype(str), self.k)


def load_recommender(path: str) -> Recommender:
    model = load_model(path)
    if not isinstance(model, Recommender):
        raise InputError(f"{path} holds a {model.kind} model, not a recommender")
    return model


@dataclass(frozen=True)
class BatchResult:
    rows: int
    users: int
    seconds: float


def run_batch(
    model_path: str,
    users: np.ndarray,
    k: int,
    out: str,
    *,
    batch_size: int = 4096,
    actors: int = 1,
    cpus_per_actor: float = 1.0,
) -> BatchResult:
    """Rank ``users`` on Ray Data and stream the rows into ``out`` (Parquet or CSV)."""
    if k <= 0:
        raise InputError(f"--k must be positive, got {k}")
    writer = RowWriter(out)
    start = time.perf_counter()
    ds = ray.data.from_arrow(pa.table({"user_id": pa.array(users.astype(str))})).repartition(
        max(1, len(users) // batch_size)
    )
    # An actor pool as large as the CPUs starves the read task on small machines: callers size it.
    ranked = ds.map_batches(
        RankBlock,
        fn_constructor_kwargs={"model_path": model_path, "k": k},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
    )
    try:
        for batch in ranked.iter_batches(batch_format="pyarrow", batch_size=None):
            writer.write(batch)
    finally:
        writer.close()
    return BatchResult(writer.rows, len(users), time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--model", required=True, help="NAME, NAME@VERSION, NAME@ALIAS or a directory"
    )
    parser.add_argument("--users", default="all", help="'all' or a file with one user id per line")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--out", required=True, help="FILE.parquet or FILE.csv")
    parser.add_argument("--registry", default=default_root())
    # Ray Data costs ~15-20 ms per block: big blocks (benchmarks/README.md: 256 -> 4096 users, 2.4x).
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    add_ray_args(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        path = str(Registry(absolute(args.registry)).local_path(args.model))
        users = read_users(args.users, load_recommender(path))
        init_ray(args.address, args.num_cpus)
        result = run_batch(
            path,
            users,
            args.k,
            args.out,
            batch_size=args.batch_size,
            actors=args.actors,
            cpus_per_actor=args.cpus_per_actor,
        )
    except EntertainAIError as exc:
        print(f"batch_recommend: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {result.rows:,} rows for {result.users:,} users to {args.out} "
        f"in {result.seconds:.1f}s ({result.rows / max(result.seconds, 1e-9):,.0f} rows/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
