"""Retrain on the live events and promote only what is at least as good as production.

    python -m train.retrain --base data/current --events ./runs/events [--model hybrid]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m train.retrain --base s3://.../data/current --events /mnt/events \\
        --registry s3://entertainai-artifacts/registry --out s3://.../runs/retrain/$(date +%F)

Exports the event logs into a new dataset under ``--out`` (or takes ``--dataset``, one exported
already), fits the candidate and production's configuration as two Ray tasks on the same train
split, scores both on the same test split and moves ``NAME@production`` only when
``candidate >= production - --tolerance`` (why configurations and not the served artifact:
:mod:`entertainai.recommend.retrain`). The decision, both metrics and why are printed and
written to ``--out``/report.json and report.md. Exit status 0 whether promoted or gated; 2 with
one line on bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence

import ray

from entertainai.params import parse_params
from entertainai.recommend.base import Recommender
from entertainai.recommend.evaluation import RANKING_METRICS, EvaluationResult
from entertainai.recommend.retrain import DEFAULT_KIND, RetrainConfig, retrain
from entertainai.recommend.training import Prepared, TrainSpec, fit_and_evaluate
from entertainai.serving.export import LogEvents, read_events
from entertainai.serving.promotion import serving_config
from train.common import absolute, add_ray_args, init_ray, run_job
from train.events_export import add_export_args, read_on_every_node

log = logging.getLogger("train.retrain")


@ray.remote(num_cpus=1)
def fit_task(prepared: Prepared, spec: TrainSpec) -> tuple[Recommender, EvaluationResult]:
    return fit_and_evaluate(prepared, spec)


def fit_on_ray(
    prepared: Prepared, specs: Sequence[TrainSpec]
) -> list[tuple[Recommender, EvaluationResult]]:
    """Candidate and production's configuration side by side, one Ray task each."""
    ref = ray.put(prepared)  # one copy in the object store for both tasks
    return ray.get([fit_task.remote(ref, spec) for spec in specs])


def default_out() -> str:
    return f"runs/retrain/{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_args(parser)
    parser.add_argument(
        "--dataset", help="an already exported dataset (skips the export; no --base then)"
    )
    parser.add_argument(
        "--name", default=DEFAULT_KIND, help="registry name whose production alias is gated"
    )
    parser.add_argument(
        "--model",
        help=f"candidate kind (default: production's kind, else {DEFAULT_KIND}); with "
        "production's kind, its hyperparameters are the starting point for --param",
    )
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--split", default="random:0.2:42")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--eval-users", type=int, default=2000)
    parser.add_argument(
        "--metric", default="ndcg", help=f"gated metric at --k: {', '.join(RANKING_METRICS)}"
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="promote when candidate >= production - tolerance (absolute; default 0.01)",
    )
    parser.add_argument("--out", help="report directory (default runs/retrain/<UTC time>)")
    parser.add_argument(
        "--no-promote", action="store_true", help="evaluate and report; register nothing"
    )
    parser.add_argument(
        "--serve-config",
        help="Serve config whose refs the promotion check uses (default: the shipped one)",
    )
    add_ray_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_job("train.retrain", run, build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    config = RetrainConfig(  # validates the arguments before Ray starts
        registry=absolute(args.registry),
        out=absolute(args.out or default_out()),
        base=absolute(args.base) if args.base else None,
        events=absolute(args.events),
        dataset=absolute(args.dataset) if args.dataset else None,
        name=args.name,
        model=args.model,
        params=parse_params(args.param),
        split=args.split,
        k=args.k,
        eval_users=200 if args.smoke_test else args.eval_users,
        metric=args.metric,
        tolerance=args.tolerance,
        promote=not args.no_promote,
        catalogue_root=absolute(args.catalogue_root) if args.catalogue_root else None,
    )
    serving = serving_config(args.serve_config)

    # Ray starts only when first needed, so a bad dataset or event root fails in a second.
    def fit_many(
        prepared: Prepared, specs: Sequence[TrainSpec]
    ) -> list[tuple[Recommender, EvaluationResult]]:
        init_ray(args.address, args.num_cpus)
        return fit_on_ray(prepared, specs)

    def read_nodes(root: str) -> list[LogEvents]:
        init_ray(args.address, args.num_cpus)
        return read_on_every_node(root)

    report = retrain(
        config,
        fit_many=fit_many,
        read=read_nodes if args.each_node else read_events,
        serving=serving,
    )
    print(report.summary())
    print(f"report: {config.out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
