"""Train the melody LSTM on Ray (TorchTrainer) and register it as ``melody_lstm``.

    python -m train.melody --data /abs/jsb-chorales-16th.json [--workers 2] [--gpu]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.melody --data /abs/midi-folder --epochs 40

``--data`` is a JSB-style JSON (train/valid/test parts; the soprano line is learned), a
folder of MIDI files (top line, 16th grid) or ``demo`` (synthetic melodies with a planted
scale/arpeggio grammar, ``music_data.demo_melodies``). Each worker trains on its shard of the
melodies through ``train.torch_runner``; rank 0 scores the validation part (NLL in nats per
16th-note step) and reports a checkpoint that is a loadable model directory; a failed worker
resumes from the last one; the best-scoring checkpoint is registered.

The WaveNet job (``train.wavenet``) shares these flags and this driver.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entertainai.errors import InputError
from entertainai.generate import melody
from entertainai.generate.music_data import DEMO
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root
from entertainai.torch_utils import TorchJob
from train import torch_runner
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.melody")


@dataclass(frozen=True)
class GeneratorJob:
    """What differs between the generator jobs: the kind, its job spec and smoke settings."""

    kind: str
    job: Callable[[str, dict[str, Any], int], TorchJob]  # (data, params, every) -> the spec
    smoke_params: dict[str, Any]


MELODY = GeneratorJob(
    kind="melody_lstm",
    job=melody.training_job,
    smoke_params={"epochs": 2, "hidden": 32, "embed_dim": 8, "layers": 1},
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
    parser.add_argument(
        "--max-failures", type=int, default=1, help="worker restarts from the last checkpoint"
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
    spec = job.job(data, params, args.report_every)
    try:  # bad params fail before Ray starts
        model = spec.model()
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    spec.data(model)  # so do unreadable data files, with their name
    init_ray(args.address, args.num_cpus)
    checkpoint, metrics = torch_runner.fit(
        spec,
        workers=args.workers,
        use_gpu=args.gpu,
        cpus_per_worker=args.cpus_per_worker,
        max_failures=args.max_failures,
        storage_path=args.storage_path,
    )
    mv = torch_runner.register(
        Registry(registry_root),
        checkpoint,
        metrics,
        args.name or job.kind,
        extra={"data": data},
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
