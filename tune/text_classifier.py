"""Search the neural text classifier's hyperparameters on a validation split; register the best.

    python -m tune.text_classifier --task sentiment --data reviews.csv --num-samples 8

Each trial fits ``neural_text`` on the train part of the train split and reports macro-F1 on
a seeded validation part; the test split is never seen during the search. The winner is
refit on the whole train split (a Ray task, see :mod:`train.text_classifier`), evaluated once
on the test split and registered.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import Any

import ray
from ray import tune

from entertainai.analytics.text_data import TASKS, LabelledTexts
from entertainai.analytics.text_tasks import (
    SMOKE_PARAMS,
    TextTrainSpec,
    create,
    evaluate,
    load_spec_data,
)
from entertainai.registry import default_root
from train.common import absolute, add_ray_args, init_ray, run_job
from train.text_classifier import RUNTIME_ENV, SMOKE_ROWS, train_task

log = logging.getLogger("tune.text_classifier")
METRIC = "macro_f1"
VALIDATION_SEED = 7


def search_space(smoke_test: bool, task: str = "") -> dict[str, Any]:
    if smoke_test:
        return {
            **SMOKE_PARAMS["neural_text"],
            "dropout": tune.choice([0.2, 0.4]),
            "learning_rate": tune.choice([2e-3, 5e-3]),
        }
    return {
        "embedding_dim": tune.choice([32, 64, 128]),
        "filters": tune.choice([32, 64, 128]),
        "kernel_sizes": tune.choice([(1, 2, 3), (2, 3, 4), (1, 2)]),
        "dropout": tune.uniform(0.2, 0.6),
        "learning_rate": tune.loguniform(5e-4, 5e-3),
        "wide": tune.choice([True, False]),
        "l2": tune.loguniform(1e-6, 1e-4),
        **({"lexicon_features": tune.choice([True, False])} if task == "sentiment" else {}),
    }


def trial(config: dict[str, Any], *, train: LabelledTexts, base: TextTrainSpec) -> None:
    """Fit on the train part of the train split, report validation metrics."""
    fit_part, val_part = train.split(0.2, VALIDATION_SEED)
    model = create(dataclasses.replace(base, params=dict(config)))
    model.fit(fit_part)
    tune.report(evaluate(model, val_part))


def run(args: argparse.Namespace) -> int:
    base = TextTrainSpec(
        args.task,
        absolute(args.data),
        "neural",
        {},
        text_col=args.text_col,
        label_col=args.label_col,
        delimiter=args.delimiter,
        test_fraction=args.test_fraction,
        seed=args.seed,
        name=args.name,
        max_rows=SMOKE_ROWS if args.smoke_test else None,
    )
    data = load_spec_data(base)  # bad files fail here, before Ray starts
    train, _ = data.split(base.test_fraction, base.seed)
    init_ray(args.address, args.num_cpus)
    trainable = tune.with_resources(
        tune.with_parameters(trial, train=train, base=base), {"CPU": args.cpus_per_trial}
    )
    tuner = tune.Tuner(
        trainable,
        param_space=search_space(args.smoke_test, args.task),
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            num_samples=args.num_samples,
            max_concurrent_trials=args.max_concurrent,
        ),
        run_config=tune.RunConfig(
            name=f"tune-text-{args.task}",
            storage_path=absolute(args.storage_path),
            verbose=0,
        ),
    )
    results = tuner.fit()
    best = results.get_best_result(metric=METRIC, mode="max")
    params = dict(best.config)
    log.info("best %s: %s (validation %s=%.4f)", args.task, params, METRIC, best.metrics[METRIC])
    final = dataclasses.replace(base, params=params)
    task = train_task.options(num_cpus=1, runtime_env=RUNTIME_ENV)
    out = ray.get(task.remote(final, absolute(args.registry), args.promote))
    print(f"best params {params}")
    print(
        f"registered {out['ref']}: test {METRIC}={out['metrics'][METRIC]:.4f} "
        f"(validation {best.metrics[METRIC]:.4f})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--data", required=True, help="labelled CSV/TSV/Parquet or a demo dataset")
    parser.add_argument("--text-col", default=None)
    parser.add_argument("--label-col", default=None)
    parser.add_argument("--delimiter", default="|")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--name", help="registry name (default: the task)")
    parser.add_argument("--promote", action="store_true")
    parser.add_argument("--registry", default=default_root())
    parser.add_argument("--storage-path", default="runs/ray_tune")
    add_ray_args(parser)
    return run_job("tune.text_classifier", run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
