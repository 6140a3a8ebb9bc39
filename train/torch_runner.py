"""The one runner of every torch training job: TorchTrainer, checkpoints, resume, registration.

A job declares a :class:`entertainai.torch_utils.TorchJob` (model kind, parameters, how to load
its data, extra metrics) and its CLI flags; this module does the rest the same way for all:

* every worker builds the model's module, restores module, optimiser and epoch from
  ``ray.train.get_checkpoint()`` when Ray restarted it (``FailureConfig``), and runs the
  model's own ``train_epoch`` from the next epoch on;
* every ``job.every`` epochs rank 0 validates, adds the job's metrics, and reports a checkpoint
  that is a loadable model directory plus ``trainer_state.pt`` (what resuming reads);
* the driver loads the final (or best) checkpoint and registers it through
  ``Registry.register_model``; the artifact holds no trainer state.

Reported metrics carry ``resumed_at``: the epoch the last attempt started from (0: never
restarted). ``ENTERTAINAI_FAIL_ONCE=EPOCH:MARKER`` on the driver makes a worker die once after
checkpointing that epoch (resilience tests); the marker file (or, for a directory, the file
named after the model kind in it) records that it happened.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import ray.train
from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from entertainai.errors import EntertainAIError
from entertainai.registry import ModelVersion, Registry
from entertainai.torch_utils import TorchJob
from train.common import absolute

log = logging.getLogger("train.torch_runner")

TRAIN_STATE = "trainer_state.pt"  # module + optimiser + epoch, read only when resuming
FAIL_ONCE_ENV = "ENTERTAINAI_FAIL_ONCE"


def train_func(config: dict[str, Any]) -> None:
    """Runs on every Train worker; the loop is the model's (``train_epoch``), not a copy."""
    import torch

    from entertainai.torch_utils import (
        distribute,
        epoch_metrics,
        restore_module,
        set_threads,
        train_state,
    )

    job: TorchJob = config["job"]
    model = job.model()
    set_threads(model.config)
    data = job.data(model)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()

    module = model.build_module(data)
    state, start = None, 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as directory:
            # weights_only: the resume file can never run code, even though it is torch's format.
            state = torch.load(Path(directory) / TRAIN_STATE, weights_only=True)
        start = restore_module(module, state)
        log.info("rank %d resumes %s at epoch %d", rank, job.kind, start)
    # ``module`` stays the unwrapped view (validated, checkpointed, adopted); ``trained`` is
    # what steps: on the worker's device, under DDP when world > 1, compiled if asked.
    trained = distribute(module, ray.train.torch.prepare_model)
    trained = getattr(model, "for_training", lambda m: m)(trained)
    optimizer = model.build_optimizer(trained)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])

    epochs, every = model.n_epochs(), max(1, job.every)
    for epoch in range(start, epochs):
        result = model.train_epoch(trained, data, optimizer, epoch, rank, world)
        metrics: dict[str, Any] = {"epoch": epoch + 1, "resumed_at": start}
        metrics.update(epoch_metrics(result))
        # Each report waits for the controller's poll (~2 s in Ray 2.60): report every few
        # epochs, not every one, when epochs are short (benchmarks/README.md, train overhead).
        if (epoch + 1) % every and epoch != epochs - 1:
            continue
        if rank == 0:
            score = model.validate(module, data)
            if score is not None:
                metrics[model.validation_metric] = score
            fitted = job.model().from_module(module, data)
            if job.evaluate is not None:
                metrics.update(job.evaluate(fitted, data))
            with tempfile.TemporaryDirectory() as tmp:
                fitted.save(tmp)  # the checkpoint is a loadable model directory
                torch.save(train_state(module, optimizer, epoch), Path(tmp) / TRAIN_STATE)
                ray.train.report(metrics, checkpoint=Checkpoint.from_directory(tmp))
            # report() returns once the controller holds the checkpoint: from here a restart
            # resumes after this epoch (operators and the node-kill test watch for this line).
            print(f"checkpoint registered: epoch {epoch + 1}", flush=True)
        else:
            ray.train.report(metrics)
        inject_failure(config, epoch)


def inject_failure(config: dict[str, Any], epoch: int) -> None:
    """Fault injection for resilience tests: die once, after checkpointing ``fail_once_at``."""
    marker = config.get("fail_once_marker")
    if marker and epoch + 1 == config.get("fail_once_at") and not os.path.exists(marker):
        Path(marker).touch()
        raise RuntimeError(f"injected worker failure after epoch {epoch + 1}")


def fault_injection_from_env(kind: str) -> dict[str, Any]:
    """``ENTERTAINAI_FAIL_ONCE=EPOCH:MARKER`` (read on the driver) as train loop config.

    A MARKER that is a directory holds one marker per model kind, so that every job of a
    multi-job run (``train.capabilities``) fails once, not only the first."""
    value = os.environ.get(FAIL_ONCE_ENV)
    if not value:
        return {}
    epoch, marker = value.split(":", 1)
    if os.path.isdir(marker):
        marker = os.path.join(marker, kind)
    return {"fail_once_at": int(epoch), "fail_once_marker": absolute(marker)}


def build_trainer(
    job: TorchJob,
    *,
    workers: int = 1,
    use_gpu: bool = False,
    cpus_per_worker: float = 1.0,
    max_failures: int = 2,
    storage_path: str | None = None,
    callbacks: list[Any] | None = None,
    name: str | None = None,
    fault_injection: dict[str, Any] | None = None,
    score_attribute: str | None = None,
) -> TorchTrainer:
    """The ``TorchTrainer`` of ``job``; ``score_attribute`` keeps the best checkpoints by it."""
    keep = CheckpointConfig(num_to_keep=2)
    if score_attribute:
        keep = CheckpointConfig(
            num_to_keep=2, checkpoint_score_attribute=score_attribute, checkpoint_score_order="min"
        )
    return TorchTrainer(
        train_func,
        train_loop_config={
            "job": job,
            **fault_injection_from_env(job.kind),
            **(fault_injection or {}),
        },
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})},
        ),
        run_config=RunConfig(
            name=name or f"{job.kind}-{int(time.time())}",
            storage_path=absolute(storage_path or os.path.join(os.getcwd(), "runs", "ray_train")),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=keep,
            callbacks=callbacks,
        ),
    )


def fit(job: TorchJob, **trainer_args: Any) -> tuple[Checkpoint, dict[str, Any]]:
    """Train ``job``; its checkpoint (the best by validation with ``job.keep_best``) and metrics.

    The metrics are that checkpoint's, with ``resumed_at`` from the last report.
    """
    metric = job.model().validation_metric if job.keep_best else None
    result = build_trainer(job, score_attribute=metric, **trainer_args).fit()
    last = dict(result.metrics or {})
    if metric:
        scored = [(c, m) for c, m in (result.best_checkpoints or []) if metric in m]
        if scored:
            checkpoint, metrics = min(scored, key=lambda cm: cm[1][metric])
            return checkpoint, {**metrics, "resumed_at": last.get("resumed_at", 0)}
    if result.checkpoint is None:
        raise EntertainAIError(f"training {job.kind} produced no checkpoint")
    return result.checkpoint, last


def register(
    registry: Registry,
    checkpoint: Checkpoint,
    metrics: dict[str, Any],
    name: str,
    **registration: Any,
) -> ModelVersion:
    """Register the checkpoint's model (``Registry.register_model``: kind and config from it).

    ``registration``: ``extra``, ``aliases``, ``promote``, ``dataset_hash``. Numeric metrics
    only; ``extra["trainer"]`` defaults to ``TorchTrainer``.
    """
    from entertainai.model import load_model

    with checkpoint.as_directory() as directory:
        model = load_model(directory)  # refuse to register anything that does not load
    wanted = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    extra = {"trainer": "TorchTrainer", **registration.pop("extra", {})}
    # Saved afresh by register_model: the registered artifact holds no trainer state.
    return registry.register_model(model, name, metrics=wanted, extra=extra, **registration)
