"""Segment users on Ray: every candidate k scored in its own task, then fit and register.

    python -m train.segments --data data/demo [--method ward] [--k-max 10]
    ray job submit --working-dir . -- python -m train.segments --data /abs/demo

Each task computes the silhouette, gap statistic and subsample stability of one k
(``entertainai.analytics.segments.score_k``); the driver applies the documented rule
(``choose_k``), fits, reports the ARI against planted segments when the data has them, and
registers ``segments`` (alias ``production``).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import ray

from entertainai.analytics.segments import (
    KScore,
    Segments,
    SegmentsConfig,
    metrics_of,
    score_k,
    user_features,
)
from entertainai.data.dataset import Dataset
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job


@ray.remote(num_cpus=1)
def score_task(x: np.ndarray, k: int, config: SegmentsConfig) -> KScore:
    return score_k(x, k, config)


def run(args: argparse.Namespace) -> int:
    data = absolute(args.data)
    k_max = min(args.k_max, 4) if args.smoke_test else args.k_max
    config = SegmentsConfig(
        method=args.method, k=args.k, k_min=args.k_min, k_max=k_max, seed=args.seed
    )
    ds = Dataset.open(data)
    features = user_features(ds.interactions, ds.items)
    model = Segments(config)
    scores = None
    if config.k is None:
        init_ray(args.address, args.num_cpus)
        x = ray.put(model.prepare(features))
        scores = ray.get(
            [score_task.remote(x, k, config) for k in range(config.k_min, config.k_max + 1)]
        )
    model.fit(features, scores)
    metrics = metrics_of(model, data)
    mv = Registry(args.registry).register_model(
        model, args.name, metrics=metrics, dataset_hash=ds.manifest.content_hash
    )
    print(f"registered {mv.ref} (segments): {json.dumps(metrics)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train.segments", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="dataset directory or URI")
    parser.add_argument("--method", default="kmeans", choices=["kmeans", "ward"])
    parser.add_argument("--k", type=int, default=None, help="fixed k (default: chosen)")
    parser.add_argument("--k-min", type=int, default=2)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="segments")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    return run_job("train.segments", run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
