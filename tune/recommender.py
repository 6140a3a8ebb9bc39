"""Search a recommender family's hyperparameters with ASHA, then register the best.

    python -m tune.recommender --data data/demo --model bpr --num-samples 8

Trials are scored on a validation split carved out of the training split; the winner is then
refit on train, evaluated once on the untouched test split and registered. Torch families use
the Train V2 pattern: each trial function launches a ``TorchTrainer`` whose per-epoch reports
reach Tune through ``TuneReportCallback``, so ASHA stops weak trials early.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import Any

import ray
from ray import tune
from ray.tune.integration.ray_train import TuneReportCallback
from ray.tune.schedulers import ASHAScheduler

from entertainai.errors import InputError
from entertainai.recommend.training import Prepared, TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job
from train.recommender import is_torch_model, torch_trainer
from tune.spaces import space_for

log = logging.getLogger("tune.recommender")
METRIC = "ndcg"


def cpu_trial(config: dict[str, Any], *, prepared: Prepared, base: TrainSpec) -> None:
    """One trial of a non-torch family: fit on train, report validation metrics."""
    spec = dataclasses.replace(base, params=config)
    _, result = fit_and_evaluate(prepared, spec)
    tune.report(result.metrics)


def torch_trial(
    config: dict[str, Any], *, data: str, base: TrainSpec, cpus_per_worker: float
) -> None:
    """One trial of a torch family: this function launches the trainer (Train V2 pattern)."""
    spec = dataclasses.replace(base, params=config)
    trainer = torch_trainer(
        data,
        spec,
        workers=1,
        cpus_per_worker=cpus_per_worker,
        max_failures=0,
        callbacks=[TuneReportCallback()],
        name=f"trial-{tune.get_context().get_trial_id()}",
    )
    trainer.fit()


def build_tuner(
    kind: str,
    data: str,
    base: TrainSpec,
    prepared: Prepared,
    *,
    num_samples: int,
    smoke_test: bool,
    max_concurrent: int,
    cpus_per_trial: float,
    storage_path: str,
) -> tune.Tuner:
    torch_family = is_torch_model(kind)
    space = space_for(kind, smoke_test)
    max_t = int(space.get("epochs", 1)) if torch_family else 1
    if torch_family:
        # The trial driver only waits on its trainer: a sliver of CPU, the worker gets the rest.
        trainable = tune.with_resources(
            tune.with_parameters(torch_trial, data=data, base=base, cpus_per_worker=cpus_per_trial),
            {"CPU": 0.1},
        )
    else:
        trainable = tune.with_resources(
            tune.with_parameters(cpu_trial, prepared=prepared, base=base), {"CPU": cpus_per_trial}
        )
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
            scheduler=ASHAScheduler(max_t=max(max_t, 1), grace_period=1, reduction_factor=2),
        ),
        run_config=tune.RunConfig(name=f"tune-{kind}", storage_path=storage_path, verbose=0),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", required=True, help="family to search")
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument(
        "--split", default="random:0.2:42", help="train/test split (test is never tuned on)"
    )
    parser.add_argument(
        "--validation", default="random:0.2:7", help="validation split of the train part"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--eval-users", type=int, default=2000)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--cpus-per-trial", type=float, default=0.5)
    parser.add_argument("--name", help="registry name (default: the family)")
    parser.add_argument("--registry", default=default_root())
    parser.add_argument("--storage-path", default="runs/ray_tune")
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("tune.recommender", run, args)


def run(args: argparse.Namespace) -> int:
    try:
        space_for(args.model)
    except KeyError:
        raise InputError(f"no search space for {args.model!r}") from None
    data = absolute(args.data)
    base = TrainSpec(
        args.model, {}, args.split, args.k, args.eval_users, args.name, args.validation
    )
    init_ray(args.address, args.num_cpus)
    validation = prepare(data, args.split, args.validation)
    tuner = build_tuner(
        args.model,
        data,
        base,
        validation,
        num_samples=args.num_samples,
        smoke_test=args.smoke_test,
        max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial,
        storage_path=absolute(args.storage_path),
    )
    results = tuner.fit()
    frame = results.get_dataframe()
    columns = [c for c in frame.columns if c.startswith("config/")] + [
        c for c in ("training_iteration", METRIC, "recall", "precision") if c in frame.columns
    ]
    print(frame[columns].sort_values(METRIC, ascending=False).to_string(index=False))
    best = results.get_best_result(metric=METRIC, mode="max")
    params = {k: v for k, v in best.config.items()}
    log.info("best %s: %s (validation %s=%.4f)", args.model, params, METRIC, best.metrics[METRIC])

    # Honest number: refit the winner on train and evaluate once on the test split.
    final_spec = dataclasses.replace(base, params=params, validation=None)
    prepared = prepare(data, args.split)
    model, result = ray.get(_fit_remote.remote(prepared, final_spec))
    mv = register(Registry(absolute(args.registry)), model, result, prepared, final_spec)
    print(f"best params {params}")
    print(
        f"registered {mv.ref}: test {METRIC}@{args.k}={result.metrics[METRIC]:.4f} "
        f"(validation {best.metrics[METRIC]:.4f})"
    )
    return 0


@ray.remote(num_cpus=1)
def _fit_remote(prepared: Prepared, spec: TrainSpec):  # noqa: ANN202 - (model, result)
    return fit_and_evaluate(prepared, spec)


if __name__ == "__main__":
    sys.exit(main())
