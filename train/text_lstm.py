"""Train the character LSTM on Ray (``TensorflowTrainer``, tf-keras) and register it.

    python -m train.text_lstm --data corpus.txt [--workers 2] [--smoke-test]
    ray job submit --working-dir . -- python -m train.text_lstm --data /abs/corpus.txt

Keras 3 fails under ``MultiWorkerMirroredStrategy`` here, so the driver and every worker run
tf-keras (``TF_USE_LEGACY_KERAS=1``, set before TensorFlow is imported and passed to the
workers' runtime environment). Every worker builds the model in the strategy's scope; Keras
shards each chunk of windows across them. Rank 0 checkpoints a loadable model directory (plain
arrays, see ``entertainai.generate.text_lstm``) plus Adam's state every ``--report-every``
steps; a worker group restarted by ``FailureConfig`` resumes from the last one. (Not a torch
model, so not ``train.torch_runner``; it shares the runner's fault injection for tests.)
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
from ray.train.tensorflow import TensorflowTrainer

from entertainai.errors import EntertainAIError
from entertainai.generate.text_corpus import load_corpus
from entertainai.generate.text_lstm import TextLSTMConfig
from entertainai.model import config_from_dict
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, run_job
from train.text_transformer import register_result
from train.torch_runner import fault_injection_from_env, inject_failure

log = logging.getLogger("train.text_lstm")

TRAIN_STATE = "trainer_state.npz"  # Adam's variables and the step reached, read when resuming
LEGACY_KERAS = {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
SMOKE_PARAMS: dict[str, Any] = {
    "embedding_dim": 8,
    "units": 16,
    "seq_len": 16,
    "batch_size": 8,
    "steps": 10,
}


def train_func(config: dict[str, Any]) -> None:
    """Runs on every Train worker; resumes weights, Adam's state and step from a checkpoint."""
    import numpy as np

    from entertainai.generate.text_corpus import CharTokenizer, split_tail
    from entertainai.generate.text_lstm import (
        WEIGHT_NAMES,
        TextLSTM,
        build_keras_model,
        import_tf,
        keras_weights,
        windows_dataset,
    )

    tf = import_tf()  # sets TF_USE_LEGACY_KERAS first, should the runtime env lack it
    c = config_from_dict(TextLSTMConfig, config["params"])
    text = load_corpus(config["data"])
    train_text, val_text = split_tail(text, c.val_fraction)
    tokenizer = CharTokenizer.fit(text)
    ids, val_ids = tokenizer.encode(train_text), tokenizer.encode(val_text)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    every = max(1, int(config["report_every"]))
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    first = 0
    checkpoint = ray.train.get_checkpoint()
    with strategy.scope():
        model = build_keras_model(tokenizer.vocab_size, c)
        if checkpoint:
            with checkpoint.as_directory() as directory:
                done = TextLSTM.load(directory)
                state = dict(np.load(Path(directory) / TRAIN_STATE))
            model.set_weights([done.weights_[k] for k in WEIGHT_NAMES])
            restore_optimizer(model, state)
            first = int(state["step"])
            log.info("rank %d resumes at step %d", rank, first)
    for start in range(first, c.steps, every):
        n = min(every, c.steps - start)
        # Same windows on every worker (seeded by the chunk); Keras gives each its shard.
        x, y = windows_dataset(ids, c, n * world, c.seed * 100_003 + start)
        history = model.fit(x, y, batch_size=c.batch_size * world, epochs=1, verbose=0)
        last = start + n == c.steps
        epoch = start // every
        metrics: dict[str, Any] = {
            "step": start + n,
            "epoch": epoch + 1,
            "resumed_at": first // every,
            "loss": float(history.history["loss"][-1]),
        }
        if rank == 0:
            fitted = TextLSTM(c).from_weights(keras_weights(model), tokenizer)
            scored = val_ids if last else val_ids[:20_000]
            metrics["val_nats_per_char"] = fitted.arrays_.nats_per_char(scored)
            optimizer = {
                f"optimizer_{i}": np.asarray(v)
                for i, v in enumerate(optimizer_variables(model.optimizer))
            }
            with tempfile.TemporaryDirectory() as tmp:
                fitted.save(tmp)
                np.savez(Path(tmp) / TRAIN_STATE, step=start + n, **optimizer)
                ray.train.report(metrics, checkpoint=Checkpoint.from_directory(tmp))
        else:
            ray.train.report(metrics)
        inject_failure(config, epoch)


def optimizer_variables(optimizer: Any) -> list[Any]:
    """Adam's step counter and moments (a method in tf-keras, a list under some strategies)."""
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)


def restore_optimizer(model: Any, state: dict[str, Any]) -> None:
    """Create Adam's slots for the model's variables, then load their saved values."""
    optimizer = model.optimizer
    if hasattr(optimizer, "build"):
        optimizer.build(model.trainable_variables)
    else:  # the legacy optimizer a distribution strategy may hand out
        optimizer._create_all_weights(model.trainable_variables)
    variables = optimizer_variables(optimizer)
    saved = sum(1 for k in state if k.startswith("optimizer_"))
    if saved != len(variables):
        log.warning(
            "optimizer state has %d arrays, Adam %d: moments restart", saved, len(variables)
        )
        return
    for i, variable in enumerate(variables):
        variable.assign(state[f"optimizer_{i}"])


def build_trainer(
    data: str,
    params: dict[str, Any],
    *,
    workers: int = 1,
    cpus_per_worker: float = 1.0,
    report_every: int = 200,
    max_failures: int = 1,
    storage_path: str | None = None,
) -> TensorflowTrainer:
    return TensorflowTrainer(
        train_func,
        train_loop_config={
            "data": data,
            "params": params,
            "report_every": report_every,
            **fault_injection_from_env("text_lstm"),
        },
        scaling_config=ScalingConfig(
            num_workers=workers, resources_per_worker={"CPU": cpus_per_worker}
        ),
        run_config=RunConfig(
            name=f"text_lstm-{int(time.time())}",
            storage_path=absolute(storage_path or os.path.join(os.getcwd(), "runs", "ray_train")),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )


def init_ray_legacy_keras(address: str | None, num_cpus: int | None) -> None:
    """Like ``train.common.init_ray``, with tf-keras in every worker's environment."""
    os.environ.update(LEGACY_KERAS)  # the driver too
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": LEGACY_KERAS}
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
    else:
        ray.init(
            address="local", num_cpus=num_cpus, include_dashboard=False, runtime_env=runtime_env
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
        help="TextLSTMConfig field, e.g. units=256 steps=2000",
    )
    parser.add_argument("--name", default="text_lstm", help="registry name")
    parser.add_argument("--alias", action="append", default=[], help="e.g. production")
    parser.add_argument("--workers", type=int, default=1, help="TensorflowTrainer workers")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--report-every", type=int, default=200, help="steps between reports")
    parser.add_argument("--max-failures", type=int, default=1)
    parser.add_argument("--storage-path", help="where Ray Train keeps checkpoints")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.text_lstm", run, args)


def run(args: argparse.Namespace) -> int:
    data = absolute(args.data)
    params = parse_params(args.param)
    if args.smoke_test:
        params = {**SMOKE_PARAMS, **params}
    try:
        config_from_dict(TextLSTMConfig, params)
    except (TypeError, ValueError) as exc:
        raise EntertainAIError(f"--param: {exc}") from None
    load_corpus(data)
    init_ray_legacy_keras(args.address, args.num_cpus)
    report_every = min(args.report_every, 5) if args.smoke_test else args.report_every
    trainer = build_trainer(
        data,
        params,
        workers=args.workers,
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
        trainer="TensorflowTrainer",
        aliases=tuple(args.alias),
    )
    print(
        f"registered {mv.ref} (text_lstm): "
        f"val_nats_per_char={result.metrics['val_nats_per_char']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
