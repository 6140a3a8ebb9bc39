"""Train one recommender on Ray and register it.

    python -m train.recommender --data data/demo --model bpr --workers 2 [--gpu]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.recommender --data /abs/data/demo --model ease

Torch models (BPR, two-tower) train data-parallel through ``train.torch_runner`` (the runner
of every torch job): each worker runs the model's own ``train_epoch`` on its shard, rank 0
checkpoints a loadable model directory every ``--report-every`` epochs with the split's metrics,
and ``FailureConfig`` restarts failed workers from the last checkpoint. Every other model trains as a Ray task. Both paths evaluate on the same split and
register the result.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from typing import Any

import ray
from ray.train.torch import TorchTrainer

from entertainai.params import parse_params
from entertainai.recommend.base import create
from entertainai.recommend.evaluation import EvaluationResult
from entertainai.recommend.training import (
    Prepared,
    SplitMetrics,
    TrainSpec,
    fit_and_evaluate,
    load_interactions,
    prepare,
    register,
)
from entertainai.registry import Registry, default_root
from entertainai.torch_utils import TorchJob
from train import torch_runner
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.recommender")

SMOKE_PARAMS: dict[str, dict[str, Any]] = {
    "bpr": {"epochs": 3},
    "two_tower": {"epochs": 3},
    "als": {"iterations": 3},
}


def is_torch_model(kind: str) -> bool:
    return hasattr(create(kind), "train_epoch")


# ---- non-torch models: one Ray task -------------------------------------------------------


@ray.remote(num_cpus=1)
def train_task(
    prepared: Prepared, spec: TrainSpec, registry_root: str
) -> tuple[str, EvaluationResult]:
    model, result = fit_and_evaluate(prepared, spec)
    mv = register(Registry(registry_root), model, result, prepared, spec)
    return mv.ref, result


# ---- torch models: the one torch runner ------------------------------------------------


def torch_job(data: str, spec: TrainSpec, *, final_fit: bool = False, every: int = 1) -> TorchJob:
    """``final_fit``: train on every interaction, checkpointing only (no evaluation)."""
    return TorchJob(
        spec.kind,
        spec.params,
        load=functools.partial(load_interactions, data, spec.split, spec.validation, final_fit),
        evaluate=None if final_fit else SplitMetrics(data, spec),
        every=every,
    )


def torch_trainer(
    data: str,
    spec: TrainSpec,
    *,
    report_every: int = 1,
    final_fit: bool = False,
    **trainer_args: Any,
) -> TorchTrainer:
    """The runner's TorchTrainer for one torch recommender (tune.recommender uses it too)."""
    return torch_runner.build_trainer(
        torch_job(data, spec, final_fit=final_fit, every=report_every), **trainer_args
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="dataset directory or URI")
    parser.add_argument(
        "--model", required=True, help="recommender kind (ease, als, bpr, two_tower, ...)"
    )
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--name", help="registry name (default: the kind)")
    parser.add_argument("--split", default="random:0.2:42")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--eval-users", type=int, default=2000)
    parser.add_argument(
        "--workers", type=int, default=1, help="TorchTrainer workers (torch models)"
    )
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--gpu", action="store_true", help="one GPU per TorchTrainer worker")
    parser.add_argument(
        "--report-every", type=int, default=5, help="epochs between reports and checkpoints"
    )
    parser.add_argument(
        "--max-failures", type=int, default=2, help="worker restarts from the last checkpoint"
    )
    parser.add_argument("--storage-path", help="where Ray Train keeps checkpoints (path or URI)")
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="register the model fit on the train split (default: refit on all interactions, "
        "with the split's metrics, as every job does)",
    )
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.recommender", run, args)


def run(args: argparse.Namespace) -> int:
    data, registry_root = absolute(args.data), absolute(args.registry)
    params = parse_params(args.param)
    if args.smoke_test:
        params = {**SMOKE_PARAMS.get(args.model, {}), **params}
    spec = TrainSpec(args.model, params, args.split, args.k, args.eval_users, args.name)
    create(spec.kind, **spec.params)  # unknown kinds or parameters fail here, before Ray starts
    init_ray(args.address, args.num_cpus)
    prepared = prepare(data, spec.split)
    registry = Registry(registry_root)
    if is_torch_model(spec.kind):
        runs = [False] if args.no_refit else [False, True]
        for final_fit in runs:  # the split run gives the metrics, the final fit the artifact
            job = torch_job(data, spec, final_fit=final_fit, every=args.report_every)
            checkpoint, last = torch_runner.fit(
                job,
                workers=args.workers,
                use_gpu=args.gpu,
                cpus_per_worker=args.cpus_per_worker,
                max_failures=args.max_failures,
                storage_path=args.storage_path,
            )
            if not final_fit:
                metrics = last
        trained_on = "train split" if args.no_refit else "all interactions (metrics from the split)"
        mv = torch_runner.register(
            registry,
            checkpoint,
            {**metrics, "k": spec.k},
            spec.name or spec.kind,
            dataset_hash=prepared.dataset.manifest.content_hash,
            extra={"split": prepared.split.description, "trained_on": trained_on},
        )
    else:
        ref, evaluation = ray.get(train_task.remote(ray.put(prepared), spec, registry_root))
        mv, metrics = registry.get(ref), evaluation.metrics
    shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
    print(f"registered {mv.ref} ({spec.kind}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
