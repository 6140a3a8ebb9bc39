"""Train the character transformer on Ray (``TorchTrainer``) and register it.

    python -m train.text_transformer --data corpus.txt [--workers 2] [--gpu] [--smoke-test]
    ray job submit --working-dir . -- python -m train.text_transformer --data /abs/corpus.txt

``--data`` is a UTF-8 file, a folder of .txt files or a dataset directory; its tail
(``val_fraction``) is held out. ``train.torch_runner`` runs the model's own epochs of
``--report-every`` steps (``log_every``) on each worker's random windows (DDP averages the
gradients); rank 0 checkpoints a loadable model directory after each with the validation loss
in nats per character, and a failed worker resumes from the last checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from ray.train import Checkpoint

from entertainai.errors import EntertainAIError
from entertainai.generate.text_corpus import load_corpus
from entertainai.generate.text_transformer import TextTransformerConfig, training_job
from entertainai.model import config_from_dict
from entertainai.params import parse_params
from entertainai.registry import ModelVersion, Registry, default_root
from train import torch_runner
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.text_transformer")

SMOKE_PARAMS: dict[str, Any] = {
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 32,
    "block_size": 32,
    "batch_size": 8,
    "max_steps": 20,
    "warmup_steps": 2,
}


def register_result(
    registry: Registry,
    checkpoint: Checkpoint,
    metrics: dict[str, Any],
    *,
    name: str,
    data: str,
    trainer: str,
    aliases: tuple[str, ...] = (),
) -> ModelVersion:
    """Register a text model's checkpoint (this job, ``train.text_lstm``, ``tune``)."""
    extra = {"data": data, "trained_on": "corpus minus its held-out tail", "trainer": trainer}
    return torch_runner.register(registry, checkpoint, metrics, name, extra=extra, aliases=aliases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="UTF-8 file, folder of .txt, or dataset")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TextTransformerConfig field, e.g. n_layer=4 max_steps=3000",
    )
    parser.add_argument("--name", default="text_transformer", help="registry name")
    parser.add_argument("--alias", action="append", default=[], help="e.g. production")
    parser.add_argument("--workers", type=int, default=1, help="TorchTrainer workers (DDP)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker")
    parser.add_argument(
        "--report-every",
        type=int,
        default=250,
        help="steps between reports and checkpoints (each report costs ~2 s)",
    )
    parser.add_argument("--max-failures", type=int, default=1)
    parser.add_argument("--storage-path", help="where Ray Train keeps checkpoints")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.text_transformer", run, args)


def run(args: argparse.Namespace) -> int:
    data = absolute(args.data)
    params = parse_params(args.param)
    if args.smoke_test:
        params = {**SMOKE_PARAMS, **params}
    if args.gpu:
        params.setdefault("device", "cuda")
    try:
        config_from_dict(TextTransformerConfig, params)  # typos fail here, before Ray starts
    except (TypeError, ValueError) as exc:
        raise EntertainAIError(f"--param: {exc}") from None
    load_corpus(data)  # a missing or non-UTF-8 corpus fails here too
    report_every = min(args.report_every, 10) if args.smoke_test else args.report_every
    # One "epoch" of the contract is one report's worth of steps: one host sync per report.
    params.setdefault("log_every", report_every)
    init_ray(args.address, args.num_cpus)
    checkpoint, metrics = torch_runner.fit(
        training_job(data, params),
        workers=args.workers,
        use_gpu=args.gpu,
        cpus_per_worker=args.cpus_per_worker,
        max_failures=args.max_failures,
        storage_path=args.storage_path,
    )
    mv = register_result(
        Registry(absolute(args.registry)),
        checkpoint,
        metrics,
        name=args.name,
        data=data,
        trainer="TorchTrainer",
        aliases=tuple(args.alias),
    )
    print(
        f"registered {mv.ref} (text_transformer): "
        f"val_nats_per_char={metrics['val_nats_per_char']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
