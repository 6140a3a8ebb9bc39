"""The main job (``make run``): demo data → train the default recommenders on Ray → register →
evaluation table → every capability's default model (``train.capabilities``) → serve.

Every model trains as a Ray task from one shared, split dataset in the object store, so the
same job runs on a laptop (``make run``) or a cluster
(``ray job submit --working-dir . -- python -m train.pipeline --data s3://...``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import ray

from entertainai.recommend.evaluation import to_markdown, write_report
from entertainai.recommend.training import TrainSpec, prepare
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job
from train.recommender import train_task

log = logging.getLogger("train.pipeline")

DEFAULT_DATA = "data/demo"
# CPU families that fit a 2-core laptop in about a minute; the torch models (bpr, two_tower)
# train with `python -m train.recommender --model bpr --workers 2` (TorchTrainer).
DEFAULT_MODELS = "popularity,trending,item_knn,user_knn,ease,als,content,hybrid"


def ensure_dataset(uri: str, n_users: int | None) -> None:
    from entertainai.data.dataset import Dataset
    from entertainai.errors import NotFoundError

    try:
        Dataset.open(uri)
        return
    except NotFoundError:
        if uri != absolute(DEFAULT_DATA) and n_users is None:
            raise
    from entertainai.data.synthetic import DemoConfig, generate

    config = DemoConfig() if n_users is None else DemoConfig(n_users=n_users)
    log.info("building the demo dataset at %s (%d users)", uri, config.n_users)
    generate(uri, config, progress=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="dataset directory or URI (built if it is the demo default)",
    )
    parser.add_argument(
        "--models", default=DEFAULT_MODELS, help="comma-separated recommender kinds"
    )
    parser.add_argument("--split", default="random:0.2:42")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--eval-users", type=int, default=2000)
    parser.add_argument("--registry", default=default_root())
    parser.add_argument("--out", default="runs/pipeline", help="where the evaluation report goes")
    parser.add_argument("--no-promote", action="store_true", help="do not set the production alias")
    parser.add_argument(
        "--capabilities",
        default="fast",
        choices=["fast", "full", "none"],
        help="then train every capability's default model (text, image, music, analytics, "
        "moderation) with this preset, so every route answers (python -m train.capabilities)",
    )
    parser.add_argument(
        "--serve", action="store_true", help="then deploy the Serve graph and serve until Ctrl-C"
    )
    parser.add_argument("--port", type=int, default=None, help="HTTP port when serving")
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.pipeline", run, args)


def run(args: argparse.Namespace) -> int:
    data, registry_root = absolute(args.data), absolute(args.registry)
    ensure_dataset(data, 300 if args.smoke_test else None)
    if args.serve and not (args.address or os.environ.get("RAY_ADDRESS")):
        from deployments.launch import DIRECT_INGRESS_ENV

        os.environ.update(DIRECT_INGRESS_ENV)  # the Ray started here serves afterwards
    init_ray(args.address, args.num_cpus)
    prepared = prepare(data, args.split)
    log.info(
        "dataset %s: %d users x %d items, %d train / %d test interactions",
        data,
        prepared.full.n_users,
        prepared.full.n_items,
        prepared.split.train.num_rows,
        prepared.split.test.num_rows,
    )
    prepared_ref = ray.put(prepared)
    specs = [
        TrainSpec(kind.strip(), split=args.split, k=args.k, eval_users=args.eval_users)
        for kind in args.models.split(",")
        if kind.strip()
    ]
    refs = [train_task.remote(prepared_ref, spec, registry_root) for spec in specs]
    outcomes = ray.get(refs)
    registry = Registry(registry_root)
    if not args.no_promote:
        for ref, _ in outcomes:
            name, version = ref.split("@")
            if "production" not in registry.aliases(name):
                registry.set_alias(name, "production", int(version))
    results = [r for _, r in outcomes]
    paths = write_report(results, Path(args.out), title=f"{data} ({args.split})")
    print()
    print(to_markdown(results))
    print()
    for ref, r in outcomes:
        print(f"registered {ref}  ndcg@{r.k}={r.metrics['ndcg']:.4f}")
    print(f"report: {paths['markdown']}  chart: {paths['chart']}  registry: {registry_root}")
    failed = 0
    if args.capabilities != "none":
        from train.capabilities import to_markdown as capability_table
        from train.capabilities import train_all

        trained = train_all(
            data, registry_root, preset=args.capabilities, smoke_test=args.smoke_test
        )
        print()
        print(capability_table(trained))
        failed = sum(not o.ok for o in trained)
        if failed:
            print(f"{failed} capabilities failed (their routes answer 503 until rerun)")
    if args.serve:
        from deployments.launch import launch

        serve_args = argparse.Namespace(
            config=str(Path(__file__).resolve().parents[1] / "deployments" / "serve_config.yaml"),
            registry=registry_root,
            model=None,
            port=args.port,
        )
        return launch(serve_args, block=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
