"""Fit a topic model (NMF or LDA) as a Ray task and register it as ``topics``.

python -m train.topics --data data/demo --n-topics 10 [--method lda] [--stability]
ray job submit --working-dir . -- python -m train.topics --data /abs/demo
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import ray

from entertainai.analytics.topics import Topics, TopicsConfig, corpus, stability, train
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job


@ray.remote(num_cpus=1)
def fit_task(data: str, config: TopicsConfig, source: str, max_docs: int) -> tuple[Topics, dict]:
    model, metrics, dataset_hash = train(data, config, source, max_docs)
    return model, {**metrics, "dataset_hash": dataset_hash}


@ray.remote(num_cpus=1)
def stability_task(data: str, config: TopicsConfig, source: str, max_docs: int) -> float:
    texts, _, _ = corpus(data, source, max_docs)
    return stability(texts, config)


def run(args: argparse.Namespace) -> int:
    data = absolute(args.data)
    n_topics = 4 if args.smoke_test else args.n_topics
    max_docs = 500 if args.smoke_test else args.max_docs
    config = TopicsConfig(method=args.method, n_topics=n_topics, seed=args.seed)
    init_ray(args.address, args.num_cpus)
    fit = fit_task.remote(data, config, args.source, max_docs)
    stable = stability_task.remote(data, config, args.source, max_docs) if args.stability else None
    model, metrics = ray.get(fit)
    dataset_hash = metrics.pop("dataset_hash")
    if stable is not None:
        metrics["stability"] = ray.get(stable)
    extra: dict[str, Any] = {}
    mv = Registry(args.registry).register_model(
        model, args.name, metrics=metrics | extra, dataset_hash=dataset_hash
    )
    print(f"registered {mv.ref} (topics): {json.dumps(metrics)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train.topics", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="dataset directory or URI")
    parser.add_argument("--source", default="texts", choices=["texts", "descriptions"])
    parser.add_argument("--method", default="nmf", choices=["nmf", "lda"])
    parser.add_argument("--n-topics", type=int, default=10)
    parser.add_argument("--max-docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stability", action="store_true", help="also fit a second seed")
    parser.add_argument("--name", default="topics")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    return run_job("train.topics", run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
