"""Train the melody LSTM on Ray (TorchTrainer) and register it as ``melody_lstm``.

    python -m train.melody --data /abs/jsb-chorales-16th.json [--workers 2] [--gpu]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.melody --data /abs/midi-folder --epochs 40

``--data`` is a JSB-style JSON (train/valid/test parts; the soprano line is learned), a
folder of MIDI files (top line, 16th grid) or ``demo`` (synthetic melodies with a planted
scale/arpeggio grammar, ``music_data.demo_melodies``). Each worker trains on its shard of the
melodies; rank 0 scores the validation part (NLL in nats per 16th-note step) and reports a
checkpoint that is a loadable model directory; the best-scoring checkpoint is registered.

The same per-worker loop trains the WaveNet (``train.wavenet`` imports it from here).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import ray
import ray.train
from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from entertainai.errors import EntertainAIError, InputError
from entertainai.generate.music_data import DEMO
from entertainai.model import load_model, model_class
from entertainai.params import parse_params
from entertainai.registry import ModelVersion, Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.melody")


@dataclass(frozen=True)
class GeneratorJob:
    """What differs between the generator jobs: the kind, its data and its validation score."""

    kind: str
    loader: str  # "module:function" (path, config) -> data with .train / .valid
    metric: str  # name of the validation score (lower is better)
    score: str  # the model's method scoring data.valid
    smoke_params: dict[str, Any]


MELODY = GeneratorJob(
    kind="melody_lstm",
    loader="entertainai.generate.melody:load_melody_data",
    metric="valid_nll",
    score="nll",
    smoke_params={"epochs": 2, "hidden": 32, "embed_dim": 8, "layers": 1},
)


def load_data(job: GeneratorJob, path: str, config: Any) -> Any:
    import importlib

    module, name = job.loader.split(":")
    loader: Callable[[str, Any], Any] = getattr(importlib.import_module(module), name)
    return loader(path, config)


def train_func(config: dict[str, Any]) -> None:
    """Runs on every Train worker; the loop is the model's own (``train_epoch``)."""
    import torch

    from entertainai.torch_utils import unwrap

    job: GeneratorJob = config["job"]
    cls = model_class(job.kind)
    model = cls.from_params(**config["params"])
    torch.set_num_threads(max(1, min(torch.get_num_threads(), model.config.threads)))
    data = load_data(job, config["data"], model.config)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    module = ray.train.torch.prepare_model(model.build_module(data))
    optimizer = model.build_optimizer(module)
    epochs, every = model.config.epochs, config["report_every"]
    for epoch in range(epochs):
        loss = model.train_epoch(module, data, optimizer, epoch, rank, world)
        metrics: dict[str, Any] = {"epoch": epoch + 1, "loss": loss}
        if not (epoch == epochs - 1 or (epoch + 1) % every == 0):
            continue  # each report waits ~2 s for the controller: not every short epoch
        if rank == 0:
            fitted = cls(model.config).from_module(unwrap(module))
            if data.valid:
                metrics[job.metric] = float(getattr(fitted, job.score)(data.valid))
            with tempfile.TemporaryDirectory() as tmp:
                fitted.save(tmp)  # the checkpoint is a loadable model directory
                ray.train.report(metrics, checkpoint=Checkpoint.from_directory(tmp))
        else:
            ray.train.report(metrics)


def fit_on_ray(
    job: GeneratorJob,
    data: str,
    params: dict[str, Any],
    *,
    workers: int = 1,
    use_gpu: bool = False,
    cpus_per_worker: float = 1.0,
    report_every: int = 1,
    storage_path: str | None = None,
    max_failures: int = 1,
) -> tuple[Checkpoint, dict[str, Any]]:
    """Run the TorchTrainer; the best checkpoint by validation score and its metrics."""
    trainer = TorchTrainer(
        train_func,
        train_loop_config={
            "job": job,
            "data": data,
            "params": params,
            "report_every": report_every,
        },
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})},
        ),
        run_config=RunConfig(
            name=f"{job.kind}-{int(time.time())}",
            storage_path=absolute(storage_path or os.path.join(os.getcwd(), "runs", "ray_train")),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(
                num_to_keep=2, checkpoint_score_attribute=job.metric, checkpoint_score_order="min"
            ),
        ),
    )
    result = trainer.fit()
    scored = [(c, m) for c, m in (result.best_checkpoints or []) if job.metric in m]
    if scored:
        return min(scored, key=lambda cm: cm[1][job.metric])
    if result.checkpoint is None:
        raise EntertainAIError(f"training {job.kind} produced no checkpoint")
    return result.checkpoint, dict(result.metrics or {})


def register_checkpoint(
    registry: Registry,
    job: GeneratorJob,
    checkpoint: Checkpoint,
    metrics: dict[str, Any],
    *,
    name: str | None,
    data: str,
    aliases: tuple[str, ...] = (),
) -> ModelVersion:
    with checkpoint.as_directory() as directory, tempfile.TemporaryDirectory() as clean:
        model = load_model(directory)  # refuse to register anything that does not load
        model.save(clean)
        wanted = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        return registry.register(
            name or job.kind,
            clean,
            kind=job.kind,
            config=json.loads(json.dumps(asdict(model.config))),
            metrics=wanted,
            extra={"data": data, "trainer": "TorchTrainer"},
            aliases=aliases,
        )


def add_arguments(parser: argparse.ArgumentParser, job: GeneratorJob) -> None:
    parser.add_argument(
        "--data", required=True, help=f"training data (see above), or {DEMO!r}: synthetic"
    )
    parser.add_argument("--epochs", type=int, help="epochs (default: the model's)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{job.kind} hyperparameter, e.g. hidden=128",
    )
    parser.add_argument("--name", help=f"registry name (default: {job.kind})")
    parser.add_argument("--workers", type=int, default=1, help="TorchTrainer workers")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker")
    parser.add_argument(
        "--report-every",
        type=int,
        default=1,
        help="epochs between validation reports and checkpoints",
    )
    parser.add_argument("--storage-path", help="where Ray Train keeps checkpoints")
    parser.add_argument(
        "--alias",
        action="append",
        default=[],
        help="aliases for the registered version (e.g. production)",
    )
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)


def run_generator_job(job: GeneratorJob, args: argparse.Namespace) -> int:
    data = args.data if args.data == DEMO else absolute(args.data)
    registry_root = absolute(args.registry)
    params = parse_params(args.param)
    if args.smoke_test:
        params = {**job.smoke_params, **params}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    try:  # bad params fail before Ray starts
        config = model_class(job.kind).from_params(**params).config
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    load_data(job, data, config)  # so do unreadable data files, with their name
    init_ray(args.address, args.num_cpus)
    checkpoint, metrics = fit_on_ray(
        job,
        data,
        params,
        workers=args.workers,
        use_gpu=args.gpu,
        cpus_per_worker=args.cpus_per_worker,
        report_every=args.report_every,
        storage_path=args.storage_path,
    )
    mv = register_checkpoint(
        Registry(registry_root),
        job,
        checkpoint,
        metrics,
        name=args.name,
        data=data,
        aliases=tuple(args.alias),
    )
    shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
    print(f"registered {mv.ref} ({job.kind}): {shown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser, MELODY)
    args = parser.parse_args(argv)
    return run_job("train.melody", lambda a: run_generator_job(MELODY, a), args)


if __name__ == "__main__":
    sys.exit(main())
