"""What Ray Train costs: a 1-worker TorchTrainer vs a plain local torch loop, same BPR, same data.

    python -m benchmarks.train_overhead                       # demo data, 2 and 10 epochs
    python -m benchmarks.train_overhead --epochs 2 5 10 --param lr=0.01

Both paths do the same job from the dataset directory: load and split it, train BPR for N
epochs with the model's own ``train_epoch``, evaluate once at the end. The local path is
``prepare`` + ``entertainai.torch_utils.train_locally``; the Ray path is
``train.recommender.torch_trainer(...).fit()`` (1 worker, 1 CPU), which also writes a
checkpoint (a loadable model directory) every epoch, as production jobs do. Timing each at two or
more epoch counts separates the fixed start-up cost a from the per-epoch cost b, fitting
seconds = a + b * epochs by least squares; ``ray.init`` is timed on its own. Torch runs with one
thread in both (a Ray worker with num_cpus=1 gets OMP_NUM_THREADS=1). Same seed, same loop: the
final NDCG@10 of the two paths should agree.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from benchmarks.common import (
    SMOKE,
    TUNED,
    add_common_args,
    configure_logging,
    data_source,
    dataset,
    limit_torch_threads,
    machine,
    machine_line,
    markdown_table,
    ratio,
    start_ray,
    timed,
    write_results,
)
from entertainai.errors import EntertainAIError, InputError
from entertainai.params import parse_params
from entertainai.recommend.base import create
from entertainai.recommend.bpr import BPR
from entertainai.recommend.evaluation import evaluate
from entertainai.recommend.training import TrainSpec, prepare
from entertainai.torch_utils import train_locally

log = logging.getLogger("benchmarks.train_overhead")

KIND = BPR.kind
SPLIT = "random:0.25:42"
PATHS = ("local", "ray")
POLL_ENV = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"  # read by the Train controller (Ray's default 2.0 s)


@dataclass(frozen=True)
class Run:
    path: str  # "local" or "ray"
    epochs: int
    seconds: float
    ndcg: float


@dataclass(frozen=True)
class Line:
    """seconds = startup + per_epoch * epochs."""

    startup: float
    per_epoch: float


def fit_line(runs: list[Run]) -> Line:
    epochs = np.asarray([r.epochs for r in runs], np.float64)
    seconds = np.asarray([r.seconds for r in runs], np.float64)
    per_epoch, startup = np.polyfit(epochs, seconds, 1)
    return Line(float(startup), float(per_epoch))


# ---- the two paths ------------------------------------------------------------------------


def train_local(data: str, spec: TrainSpec) -> float:
    """The plain loop: load, split, train, evaluate; returns NDCG@k."""
    prepared = prepare(data, spec.split)
    model = BPR.from_params(**spec.params)
    module, _ = train_locally(model, prepared.train)
    fitted = model.from_module(module, prepared.train)
    return evaluate(fitted, prepared.split.test, spec.k, max_users=spec.eval_users).metrics["ndcg"]


def train_ray(data: str, spec: TrainSpec, storage: str) -> float:
    """The same job as one TorchTrainer run (evaluating only after the last epoch)."""
    from train.recommender import torch_trainer

    epochs = int(spec.params["epochs"])
    trainer = torch_trainer(
        data,
        spec,
        workers=1,
        cpus_per_worker=1.0,
        max_failures=0,
        storage_path=storage,
        report_every=epochs,
        name=f"bench-{spec.kind}-{epochs}-{time.time_ns()}",
    )
    return float(trainer.fit().metrics["ndcg"])


def measure(path: str, data: str, spec: TrainSpec, storage: str) -> Run:
    if path == "local":
        ndcg, seconds = timed(train_local, data, spec)
    else:
        ndcg, seconds = timed(train_ray, data, spec, storage)
    epochs = int(spec.params["epochs"])
    log.info("%s, %d epochs: %.1fs (ndcg@%d %.4f)", path, epochs, seconds, spec.k, ndcg)
    return Run(path, epochs, seconds, ndcg)


def best_runs(runs: list[Run]) -> list[Run]:
    """The fastest of the repeats for each (path, epochs): noise on a shared machine only adds."""
    best: dict[tuple[str, int], Run] = {}
    for r in runs:
        key = (r.path, r.epochs)
        if key not in best or r.seconds < best[key].seconds:
            best[key] = r
    return list(best.values())


# ---- reporting ----------------------------------------------------------------------------


def summary_table(runs: list[Run], lines: dict[str, Line], epoch_counts: list[int]) -> str:
    def seconds(path: str, epochs: int) -> float:
        return next(r.seconds for r in runs if r.path == path and r.epochs == epochs)

    def ndcg(path: str) -> float:
        return next(r.ndcg for r in runs if r.path == path and r.epochs == max(epoch_counts))

    header = [
        "path",
        *(f"{e} epochs (s)" for e in epoch_counts),
        "start-up a (s)",
        "per epoch b (s)",
        f"NDCG@10 after {max(epoch_counts)} epochs",
    ]
    names = {"local": "local loop (train_locally)", "ray": "Ray TorchTrainer, 1 worker"}
    rows: list[list[object]] = [
        [
            names[p],
            *(f"{seconds(p, e):.2f}" for e in epoch_counts),
            f"{lines[p].startup:.2f}",
            f"{lines[p].per_epoch:.3f}",
            f"{ndcg(p):.4f}",
        ]
        for p in PATHS
    ]
    rows.append(
        [
            "Ray / local",
            *(f"{ratio(seconds('ray', e), seconds('local', e)):.2f}x" for e in epoch_counts),
            f"{ratio(lines['ray'].startup, lines['local'].startup):.2f}x",
            f"{ratio(lines['ray'].per_epoch, lines['local'].per_epoch):.2f}x",
            "",
        ]
    )
    return markdown_table(header, rows)


def report(
    table: str,
    facts: dict[str, Any],
    data: str,
    params: dict[str, Any],
    ray_init: float,
    warmup: bool,
    poll: str,
) -> str:
    shown = {k: v for k, v in params.items() if k != "epochs"}
    warm = "after an untimed warm-up run of each; " if warmup else "no warm-up run; "
    return f"""# Training overhead: Ray TorchTrainer vs a local torch loop

{machine_line(facts)}

Data `{data}`, split `{SPLIT}`; BPR `{shown}`;
torch 1 thread on both paths; {warm}times are the fastest of the repeats; Train controller
poll interval ({POLL_ENV}) {poll} s. `ray.init` (local, 2 CPUs),
paid once per driver and not included below: {ray_init:.2f}s.

{table}

seconds = a + b * epochs, fitted by least squares. The Ray path's b includes a checkpoint and a
`ray.train.report` per epoch: the report waits for the controller to drain the worker's one-slot
queue, so b is at least about the poll interval. Its a includes the Train controller, the
placement group, the worker process and its imports, loading the data in the worker, and the
shutdown.
"""


# ---- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_args(parser, "runs/benchmarks/train_overhead")
    parser.add_argument(
        "--epochs", type=int, nargs="+", default=[2, 10], help="epoch counts (default 2 10)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per (path, epochs); the fastest counts"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a BPR hyperparameter of the tuned set {TUNED[KIND]} (epochs comes from --epochs)",
    )
    parser.add_argument(
        "--eval-users", type=int, default=None, help="evaluate on a seeded sample (default: all)"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"set {POLL_ENV} for this run's Ray (Ray's default 2.0): the Train controller drains "
        "each worker's one-slot report queue at this interval, so ray.train.report blocks up to "
        "that long and epochs shorter than it are stretched to it",
    )
    parser.add_argument(
        "--warmup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one untimed 1-epoch run of each path first, so one-time imports count for neither",
    )
    args = parser.parse_args(argv)
    configure_logging()
    try:
        return run(args)
    except (EntertainAIError, ValueError) as exc:
        print(f"benchmarks.train_overhead: error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    epoch_counts = sorted(set(args.epochs))
    if args.smoke_test:
        epoch_counts = [1, SMOKE[KIND]["epochs"]]
    if len(epoch_counts) < 2 or min(epoch_counts) < 1:
        raise InputError("--epochs: give at least two different positive epoch counts")
    params = {**TUNED[KIND], **parse_params(args.param)}
    create(KIND, **params)  # bad parameters fail before Ray starts
    limit_torch_threads(1)
    if args.poll_interval is not None:
        os.environ[POLL_ENV] = str(args.poll_interval)  # before ray.init: its processes inherit it
    poll = os.environ.get(POLL_ENV, "2.0 (Ray's default)")
    facts = machine()
    source = data_source(args)
    ray_init = start_ray(num_cpus=2)
    runs: list[Run] = []
    with dataset(source) as data, tempfile.TemporaryDirectory(prefix="ray-train-bench-") as storage:
        if args.warmup:
            log.info("warm-up run of each path (not counted): first imports, Ray's worker pool")
            spec = TrainSpec(KIND, {**params, "epochs": 1}, SPLIT, 10, args.eval_users)
            for path in PATHS:
                measure(path, data, spec, storage)
        for _ in range(args.repeats):
            for epochs in epoch_counts:
                spec = TrainSpec(KIND, {**params, "epochs": epochs}, SPLIT, 10, args.eval_users)
                runs += [measure(path, data, spec, storage) for path in PATHS]
    best = best_runs(runs)
    lines = {p: fit_line([r for r in best if r.path == p]) for p in PATHS}
    markdown = report(
        summary_table(best, lines, epoch_counts), facts, source, params, ray_init, args.warmup, poll
    )
    payload = {
        "benchmark": "train_overhead",
        "machine": facts,
        "data": source,
        "split": SPLIT,
        "model": KIND,
        "params": params,
        "ray_init_seconds": ray_init,
        "train_poll_interval_s": poll,
        "runs": [asdict(r) for r in runs],
        "lines": {p: asdict(line) for p, line in lines.items()},
        "per_epoch_ratio": ratio(lines["ray"].per_epoch, lines["local"].per_epoch),
        "startup_ratio": ratio(lines["ray"].startup, lines["local"].startup),
    }
    out = write_results(args.out, payload, markdown)
    print(markdown)
    print(f"wrote {out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
