"""Train one recommender on Ray and register it.

    python -m train.recommender --data data/demo --model bpr --workers 2 [--gpu]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.recommender --data /abs/data/demo --model ease

Torch models (BPR, two-tower) train data-parallel through ``TorchTrainer``: each worker runs
the model's own ``train_epoch`` on its shard, rank 0 writes a checkpoint that is a loadable
model directory every epoch, and ``FailureConfig`` restarts failed workers from the last
checkpoint. Every other model trains as a Ray task. Both paths evaluate on the same split and
register the result.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
import ray.train
from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from entertainai.errors import EntertainAIError
from entertainai.model import load_model
from entertainai.params import parse_params
from entertainai.recommend.base import Recommender, create
from entertainai.recommend.evaluation import EvaluationResult, evaluate
from entertainai.recommend.training import Prepared, TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import ModelVersion, Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.recommender")

TRAIN_STATE = "trainer_state.pt"  # optimizer + epoch, read only by the trainer when resuming
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


# ---- torch models: TorchTrainer ----------------------------------------------------------


def torch_train_func(config: dict[str, Any]) -> None:
    """Runs on every Train worker; the loop itself is the model's (no copy here)."""
    import torch

    from entertainai.torch_utils import unwrap

    spec: TrainSpec = config["spec"]
    prepared = prepare(config["data"], spec.split, spec.validation)
    # The final fit trains on every interaction (metrics come from the split run before it).
    final_fit = bool(config.get("final_fit"))
    data = prepared.full if final_fit else prepared.train
    model = create(spec.kind, **spec.params)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()

    module = model.build_module(data)
    state, start_epoch = None, 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as directory:
            # weights_only: the resume file can never run code, even though it is torch's format.
            state = torch.load(Path(directory) / TRAIN_STATE, weights_only=True)
        module.load_state_dict(state["module"])
        start_epoch = int(state["epoch"]) + 1
        log.info("rank %d resumes at epoch %d", rank, start_epoch)
    module = ray.train.torch.prepare_model(module)  # device placement + DDP when world > 1
    optimizer = model.build_optimizer(module)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])

    epochs = model.config.epochs
    for epoch in range(start_epoch, epochs):
        loss = model.train_epoch(module, data, optimizer, epoch, rank, world)
        metrics: dict[str, Any] = {"epoch": epoch + 1, "loss": loss, "resumed_at": start_epoch}
        last = epoch == epochs - 1
        # Each report waits for the controller's poll (~2 s in Ray 2.60): report every few
        # epochs, not every one, when epochs are short (benchmarks/README.md, train overhead).
        if not (last or (epoch + 1) % config["report_every"] == 0):
            _inject_failure(config, epoch)
            continue
        if rank == 0:
            # One fitted copy per report: evaluated (when due) and saved as the checkpoint.
            fitted = create(spec.kind, **spec.params).from_module(unwrap(module), data)
            if not final_fit and (last or (epoch + 1) % config["eval_every"] == 0):
                result = evaluate(fitted, prepared.split.test, spec.k, max_users=spec.eval_users)
                metrics.update(result.metrics)
            with tempfile.TemporaryDirectory() as tmp:
                fitted.save(tmp)  # the checkpoint is a loadable model directory
                torch.save(
                    {
                        "module": unwrap(module).state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "epoch": epoch,
                    },
                    Path(tmp) / TRAIN_STATE,
                )
                ray.train.report(metrics, checkpoint=Checkpoint.from_directory(tmp))
            # report() returns once the controller holds the checkpoint: from here a restart
            # resumes after this epoch (operators and the node-kill test watch for this line).
            print(f"checkpoint registered: epoch {epoch + 1}", flush=True)
        else:
            ray.train.report(metrics)
        _inject_failure(config, epoch)


def _inject_failure(config: dict[str, Any], epoch: int) -> None:
    """Fault injection for resilience tests: die once, after checkpointing ``fail_once_at``."""
    marker = config.get("fail_once_marker")
    if marker and epoch + 1 == config.get("fail_once_at") and not os.path.exists(marker):
        Path(marker).touch()
        raise RuntimeError(f"injected worker failure after epoch {epoch + 1}")


def torch_trainer(
    data: str,
    spec: TrainSpec,
    *,
    workers: int = 1,
    use_gpu: bool = False,
    cpus_per_worker: float = 1.0,
    max_failures: int = 2,
    storage_path: str | None = None,
    eval_every: int = 1,
    report_every: int = 1,
    callbacks: list[Any] | None = None,
    name: str | None = None,
    fault_injection: dict[str, Any] | None = None,
    final_fit: bool = False,
) -> TorchTrainer:
    """``final_fit``: train on every interaction, checkpointing only (no evaluation)."""
    return TorchTrainer(
        torch_train_func,
        train_loop_config={
            "data": data,
            "spec": spec,
            "eval_every": eval_every,
            "report_every": report_every,
            "final_fit": final_fit,
            **(fault_injection or {}),
        },
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})},
        ),
        run_config=RunConfig(
            name=name or f"{spec.kind}-{int(time.time())}",
            storage_path=absolute(storage_path or os.path.join(os.getcwd(), "runs", "ray_train")),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            callbacks=callbacks,
        ),
    )


def register_checkpoint(
    registry: Registry,
    checkpoint: Checkpoint,
    metrics: dict[str, Any],
    spec: TrainSpec,
    prepared: Prepared,
    *,
    trained_on: str = "all interactions (metrics from the split)",
) -> ModelVersion:
    with checkpoint.as_directory() as directory:
        model = load_model(directory)  # refuse to register anything that does not load
    assert isinstance(model, Recommender)
    wanted = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    # Saved afresh by register_model: the registered artifact holds no trainer state.
    return registry.register_model(
        model,
        spec.name or spec.kind,
        metrics={**wanted, "k": spec.k},
        dataset_hash=prepared.dataset.manifest.content_hash,
        extra={
            "split": prepared.split.description,
            "trained_on": trained_on,
            "trainer": "TorchTrainer",
        },
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
            trainer = torch_trainer(
                data,
                spec,
                workers=args.workers,
                use_gpu=args.gpu,
                cpus_per_worker=args.cpus_per_worker,
                max_failures=args.max_failures,
                storage_path=args.storage_path,
                eval_every=args.report_every,
                report_every=args.report_every,
                final_fit=final_fit,
            )
            result = trainer.fit()
            if result.checkpoint is None:
                raise EntertainAIError(f"training {spec.kind} produced no checkpoint")
            if not final_fit:
                metrics = result.metrics
        mv = register_checkpoint(
            registry,
            result.checkpoint,
            metrics,
            spec,
            prepared,
            trained_on="train split" if args.no_refit else "all interactions (metrics from the split)",
        )
    else:
        ref, evaluation = ray.get(train_task.remote(ray.put(prepared), spec, registry_root))
        mv, metrics = registry.get(ref), evaluation.metrics
    shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
    print(f"registered {mv.ref} ({spec.kind}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
