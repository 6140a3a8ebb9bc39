"""Search the character transformer's hyperparameters with ASHA, then register the best.

    python -m tune.text_transformer --data corpus.txt --num-samples 8 [--smoke-test]

Each trial trains in its own function (small models: a trainer per trial would cost more than
the training) with the very loop of ``TextTransformer.train_steps``, reporting the validation
loss in nats per character every ``--report-every`` steps, so ASHA stops weak trials early.
Every report carries a loadable model directory as its checkpoint; the best trial's last one
is registered. For models worth several workers, ``train.text_transformer`` runs the same loop
in a ``TorchTrainer``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from typing import Any

from ray import tune
from ray.tune import Checkpoint
from ray.tune.schedulers import ASHAScheduler

from entertainai.errors import EntertainAIError
from entertainai.generate.text_corpus import load_corpus
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job
from train.text_transformer import SMOKE_PARAMS, register_result

log = logging.getLogger("tune.text_transformer")
METRIC = "val_nats_per_char"


def search_space(smoke_test: bool) -> dict[str, Any]:
    if smoke_test:
        return {
            **SMOKE_PARAMS,
            "lr": tune.loguniform(3e-3, 3e-2),
            "n_embd": tune.choice([16, 32]),
        }
    return {
        "n_layer": tune.choice([2, 4, 6]),
        "n_head": 4,
        "n_embd": tune.choice([64, 128, 192]),
        "block_size": tune.choice([64, 128]),
        "dropout": tune.choice([0.0, 0.1]),
        "lr": tune.loguniform(5e-4, 5e-3),
        "batch_size": 32,
        "max_steps": 2000,
    }


def trial(config: dict[str, Any], *, data: str, report_every: int) -> None:
    """One trial: train on the corpus minus its tail, report validation nats/char."""
    import torch

    from entertainai.generate.text_corpus import CharTokenizer, split_tail
    from entertainai.generate.text_transformer import TextTransformer, validation_nats_per_char

    model = TextTransformer.from_params(**config)
    c = model.config
    torch.set_num_threads(max(1, c.threads))
    text = load_corpus(data)
    train_text, val_text = split_tail(text, c.val_fraction)
    tokenizer = CharTokenizer.fit(text)
    ids, val_ids = tokenizer.encode(train_text), tokenizer.encode(val_text)
    module = model.build_module(tokenizer.vocab_size)
    optimizer = model.build_optimizer(module)
    for start in range(0, c.max_steps, report_every):
        steps = range(start, min(start + report_every, c.max_steps))
        loss = model.train_steps(module, ids, optimizer, steps)
        metrics = {"step": steps.stop, "loss": loss}
        metrics[METRIC] = validation_nats_per_char(module, val_ids[:50_000])
        with tempfile.TemporaryDirectory() as tmp:
            TextTransformer(c).from_module(module, tokenizer).save(tmp)
            tune.report(metrics, checkpoint=Checkpoint.from_directory(tmp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="UTF-8 file, folder of .txt, or dataset")
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument("--report-every", type=int, default=250, help="steps between reports")
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--name", default="text_transformer", help="registry name")
    parser.add_argument("--alias", action="append", default=[])
    parser.add_argument("--registry", default=default_root())
    parser.add_argument("--storage-path", default="runs/ray_tune")
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("tune.text_transformer", run, args)


def run(args: argparse.Namespace) -> int:
    data = absolute(args.data)
    load_corpus(data)  # a bad corpus fails before Ray starts
    init_ray(args.address, args.num_cpus)
    space = search_space(args.smoke_test)
    report_every = 10 if args.smoke_test else args.report_every
    max_steps = int(space["max_steps"])
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(trial, data=data, report_every=report_every),
            {"CPU": args.cpus_per_trial},
        ),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="min",
            num_samples=args.num_samples,
            max_concurrent_trials=args.max_concurrent,
            scheduler=ASHAScheduler(
                time_attr="step", max_t=max_steps, grace_period=report_every, reduction_factor=2
            ),
        ),
        run_config=tune.RunConfig(
            name="tune-text_transformer", storage_path=absolute(args.storage_path), verbose=0
        ),
    )
    results = tuner.fit()
    best = results.get_best_result(metric=METRIC, mode="min", scope="last")
    if best.checkpoint is None:
        raise EntertainAIError("no trial produced a checkpoint")
    frame = results.get_dataframe()
    columns = [c for c in frame.columns if c.startswith("config/")] + ["step", METRIC]
    print(frame[[c for c in columns if c in frame.columns]].sort_values(METRIC).to_string())
    mv = register_result(
        Registry(absolute(args.registry)),
        best.checkpoint,
        best.metrics,
        name=args.name,
        data=data,
        trainer="Tune (ASHA)",
        aliases=tuple(args.alias),
    )
    print(f"registered {mv.ref}: {METRIC}={best.metrics[METRIC]:.4f} (params {best.config})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
