"""Train the character transformer on Ray (``TorchTrainer``) and register it.

    python -m train.text_transformer --data corpus.txt [--workers 2] [--gpu] [--smoke-test]
    ray job submit --working-dir . -- python -m train.text_transformer --data /abs/corpus.txt

``--data`` is a UTF-8 file, a folder of .txt files or a dataset directory; its tail
(``val_fraction``) is held out. Each worker runs ``TextTransformer.train_steps`` on its own
random windows (DDP averages the gradients); rank 0 checkpoints a loadable model directory
every ``--report-every`` steps with the validation loss in nats per character.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from typing import Any

import ray.train
from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from entertainai.errors import EntertainAIError
from entertainai.generate.text_corpus import load_corpus
from entertainai.generate.text_transformer import TextTransformer, TextTransformerConfig
from entertainai.model import config_from_dict, load_model
from entertainai.params import parse_params
from entertainai.registry import ModelVersion, Registry, default_root
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


def train_func(config: dict[str, Any]) -> None:
    """Runs on every Train worker; the loop itself is the model's (no copy here)."""
    import torch

    from entertainai.generate.text_corpus import CharTokenizer, split_tail
    from entertainai.generate.text_transformer import validation_nats_per_char
    from entertainai.torch_utils import unwrap

    params: dict[str, Any] = config["params"]
    model = TextTransformer.from_params(**params)
    c = model.config
    torch.set_num_threads(max(1, c.threads))
    text = load_corpus(config["data"])
    train_text, val_text = split_tail(text, c.val_fraction)
    tokenizer = CharTokenizer.fit(text)
    ids, val_ids = tokenizer.encode(train_text), tokenizer.encode(val_text)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    module = ray.train.torch.prepare_model(model.build_module(tokenizer.vocab_size))
    optimizer = model.build_optimizer(module)
    every = max(1, int(config["report_every"]))
    for start in range(0, c.max_steps, every):
        steps = range(start, min(start + every, c.max_steps))
        loss = model.train_steps(module, ids, optimizer, steps, rank, world)
        last = steps.stop == c.max_steps
        metrics: dict[str, Any] = {"step": steps.stop, "loss": loss}
        if rank == 0:
            # The whole tail at the end; a 20k-character slice in between (cheap progress).
            scored = val_ids if last else val_ids[:20_000]
            metrics["val_nats_per_char"] = validation_nats_per_char(unwrap(module), scored)
            fitted = TextTransformer(c).from_module(unwrap(module), tokenizer)
            with tempfile.TemporaryDirectory() as tmp:
                fitted.save(tmp)  # the checkpoint is a loadable model directory
                ray.train.report(metrics, checkpoint=Checkpoint.from_directory(tmp))
        else:
            ray.train.report(metrics)


def build_trainer(
    data: str,
    params: dict[str, Any],
    *,
    workers: int = 1,
    use_gpu: bool = False,
    cpus_per_worker: float = 1.0,
    report_every: int = 100,
    max_failures: int = 1,
    storage_path: str | None = None,
    callbacks: list[Any] | None = None,
    name: str | None = None,
) -> TorchTrainer:
    return TorchTrainer(
        train_func,
        train_loop_config={"data": data, "params": params, "report_every": report_every},
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})},
        ),
        run_config=RunConfig(
            name=name or f"text_transformer-{int(time.time())}",
            storage_path=absolute(storage_path or os.path.join(os.getcwd(), "runs", "ray_train")),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            callbacks=callbacks,
        ),
    )


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
    with checkpoint.as_directory() as directory:
        model = load_model(directory)  # refuse to register anything that does not load
    wanted = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    return registry.register_model(
        model,
        name,
        metrics=wanted,
        extra={
            "data": data,
            "trained_on": "corpus minus its held-out tail",
            "trainer": trainer,
        },
        aliases=aliases,
    )


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
    init_ray(args.address, args.num_cpus)
    report_every = min(args.report_every, 10) if args.smoke_test else args.report_every
    trainer = build_trainer(
        data,
        params,
        workers=args.workers,
        use_gpu=args.gpu,
        cpus_per_worker=args.cpus_per_worker,
        report_every=report_every,
        max_failures=args.max_failures,
        storage_path=args.storage_path,
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise EntertainAIError("training produced no checkpoint")
    mv = register_result(
        Registry(absolute(args.registry)),
        result.checkpoint,
        result.metrics,
        name=args.name,
        data=data,
        trainer="TorchTrainer",
        aliases=tuple(args.alias),
    )
    print(
        f"registered {mv.ref} (text_transformer): "
        f"val_nats_per_char={result.metrics['val_nats_per_char']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
