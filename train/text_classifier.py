"""Train one text classifier (sentiment, emotion, textclass, moderation) on Ray and register it.

    python -m train.sentiment --data reviews.csv --text-col review --label-col label
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.emotion --data /abs/comments.parquet --label-col emotions --model neural

The fit runs as one Ray task (the models are small; a single worker trains them in seconds to
minutes), with ``TF_USE_LEGACY_KERAS=1`` in its runtime environment so the worker's
TensorFlow uses tf-keras like the driver. The task evaluates on the held-out split and
registers the model; the first version of a name also becomes ``production``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import ray

from entertainai.analytics.text_data import TASKS
from entertainai.analytics.text_tasks import (
    MODEL_CHOICES,
    SMOKE_PARAMS,
    TextTrainSpec,
    create,
    fit_and_evaluate,
    load_spec_data,
    register,
)
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.text_classifier")

RUNTIME_ENV = {"env_vars": {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}}
SMOKE_ROWS = 400


@ray.remote(num_cpus=1)
def train_task(spec: TextTrainSpec, registry_root: str, promote: bool) -> dict[str, Any]:
    data = load_spec_data(spec)
    model, result = fit_and_evaluate(spec, data)
    mv = register(
        Registry(registry_root), model, result, spec, data, trainer="ray task", promote=promote
    )
    return {
        "ref": mv.ref,
        "kind": model.kind,
        "metrics": result.metrics,
        "classes": list(result.classes),
    }


def add_args(parser: argparse.ArgumentParser, task: str | None) -> None:
    if task is None:
        parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument(
        "--data", required=True, help="labelled CSV/TSV/Parquet, or a demo dataset dir"
    )
    parser.add_argument("--text-col", default=None, help="column of texts (default 'text')")
    parser.add_argument("--label-col", default=None, help="column of labels (default 'label')")
    parser.add_argument("--delimiter", default="|", help="separator of multi-label values")
    parser.add_argument(
        "--model",
        choices=["auto", *sorted(MODEL_CHOICES)],
        default="auto",
        help="model family; auto: the best on validation (see entertainai train --help)",
    )
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--name", help="registry name (default: the task)")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--promote", action="store_true", help="make this version 'production'")
    parser.add_argument("--cpus", type=float, default=1.0, help="CPUs for the training task")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)


def spec_from_args(args: argparse.Namespace) -> TextTrainSpec:
    params = parse_params(args.param)
    kind = MODEL_CHOICES.get(args.model, "")
    if args.smoke_test:
        params = {**SMOKE_PARAMS.get(kind, {}), **params}
    return TextTrainSpec(
        args.task,
        absolute(args.data),
        args.model,
        params,
        text_col=args.text_col,
        label_col=args.label_col,
        delimiter=args.delimiter,
        test_fraction=args.test_fraction,
        seed=args.seed,
        name=args.name,
        max_rows=SMOKE_ROWS if args.smoke_test else None,
    )


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    create(spec)  # unknown parameters and bad files fail here, before Ray starts
    data = load_spec_data(spec)
    log.info("%s: %d texts, classes %s", spec.task, len(data), list(data.classes))
    init_ray(args.address, args.num_cpus)
    task = train_task.options(num_cpus=args.cpus, runtime_env=RUNTIME_ENV)
    out = ray.get(task.remote(spec, absolute(args.registry), args.promote))
    m = out["metrics"]
    print(
        f"registered {out['ref']} ({out['kind']}): macro_f1={m['macro_f1']:.4f} "
        f"accuracy={m['accuracy']:.4f} ece={m['ece']:.4f}; classes {out['classes']}"
    )
    return 0


def main(argv: list[str] | None = None, task: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"train.{task or 'text_classifier'}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_args(parser, task)
    args = parser.parse_args(argv)
    if task is not None:
        args.task = task
    return run_job(parser.prog, run, args)


if __name__ == "__main__":
    sys.exit(main())
