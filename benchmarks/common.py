"""What the benchmarks share: data in a temp dir, tuned settings, timing, machine facts, reports.

Imports only the core library; Ray and torch are imported inside the helpers that need them,
so ``benchmarks.recommenders`` never starts Ray.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from entertainai.data.loaders import load, parse_source
from entertainai.errors import InputError

log = logging.getLogger("benchmarks")

T = TypeVar("T")

DEFAULT_DATA = "demo"  # DemoConfig() defaults: 2000 users, 500 items, ~75k interactions
SMOKE_DATA = "demo:300"

# Settings for MovieLens-100K-size data (~1-2k users, 0.5-2k items, ~100k interactions), found
# on 2026-11-22 by a small grid search on the demo data, scored by NDCG@10 on a validation split
# carved out of the train part (random:0.25:7 inside random:0.25:42), so the test split the
# benchmark reports was never looked at. Grids and validation NDCG@10 are in benchmarks/README.md.
TUNED: dict[str, dict[str, Any]] = {
    "popularity": {},
    "trending": {"default_window": "7d"},
    "item_knn": {"neighbors": 200, "shrinkage": 50.0},
    "user_knn": {"neighbors": 200, "shrinkage": 0.0},
    "ease": {"l2": 500.0},
    "als": {"factors": 64, "regularization": 50.0, "alpha": 5.0},
    "bpr": {"factors": 64, "lr": 0.003, "weight_decay": 0.015, "batch_size": 1024, "epochs": 50},
    "two_tower": {"epochs": 2},
    "content": {},
    "hybrid": {
        "components": ['ease:{"l2": 500.0}', "content", 'trending:{"default_window": "7d"}']
    },
}
# --smoke-test: tiny data, so only the slow loops are cut short.
SMOKE: dict[str, dict[str, Any]] = {
    "bpr": {"epochs": 3},
    "two_tower": {"epochs": 1},
    "als": {"iterations": 3},
}


# ---- command line ---------------------------------------------------------------------------


def add_common_args(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument(
        "--data",
        default=None,
        help="movielens:PATH (an unpacked MovieLens 100K/1M/20M directory, loaded into a temp "
        "dataset), demo[:N_USERS] (generated into a temp dir), csv:/parquet:PATH, or an existing "
        f"dataset directory (default: {DEFAULT_DATA}, i.e. DemoConfig() with 2000 users)",
    )
    parser.add_argument(
        "--out", default=out, help=f"directory for results.json and results.md (default {out})"
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help=f"tiny run to check the script works ({SMOKE_DATA}, few epochs)",
    )


def data_source(args: argparse.Namespace) -> str:
    return args.data or (SMOKE_DATA if args.smoke_test else DEFAULT_DATA)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# ---- data -----------------------------------------------------------------------------------


@contextmanager
def dataset(source: str) -> Iterator[str]:
    """A dataset directory for ``source``, removed afterwards if it had to be loaded.

    Loader sources (``movielens:PATH``, ``demo[:N]``, ``csv:PATH``, ``parquet:PATH``) go through
    :func:`entertainai.data.loaders.load` into a temp dir; anything else must already be a
    dataset directory or URI and is used as it is.
    """
    try:
        parse_source(source)
    except InputError:
        yield source if "://" in source else os.path.abspath(os.path.expanduser(source))
        return
    scheme, _, argument = source.partition(":")
    if scheme != "demo":
        source = f"{scheme}:{os.path.expanduser(argument)}"
    with tempfile.TemporaryDirectory(prefix="entertainai-bench-") as tmp:
        out = os.path.join(tmp, "dataset")
        manifest, seconds = timed(load, source, out)
        log.info("loaded %s in %.1fs: %s", source, seconds, manifest.counts)
        yield out


# ---- measuring ------------------------------------------------------------------------------


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` and its wall-clock seconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def limit_torch_threads(n: int) -> None:
    """Pin torch's intra-op threads.

    A Ray worker with ``num_cpus=1`` runs with OMP_NUM_THREADS=1, so a local baseline must use
    the same count to be comparable; and on a small shared machine, more threads than free cores
    make torch's many tiny ops far slower (measured in benchmarks/README.md).
    """
    import torch

    torch.set_num_threads(n)


def start_ray(num_cpus: int) -> float:
    """Start a private local Ray (never attach to a running cluster); returns the seconds taken."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # log_to_driver=False: the workers' per-epoch logging would bury the tables; errors still
    # reach the driver as exceptions.
    _, seconds = timed(
        ray.init, address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False
    )
    return seconds


def machine() -> dict[str, Any]:
    """Where and when a benchmark ran; the load average says whether others shared the CPUs."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---- reporting ------------------------------------------------------------------------------


def fmt(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 4) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c, digits) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(facts: dict[str, Any]) -> str:
    return (
        f"{facts['date']}; {facts['cpus']} x {facts['cpu']}, {facts['memory_gib']} GiB, "
        f"Python {facts['python']}, {facts['platform']}; 1-min load average at start "
        f"{facts['load_average_1m']}"
    )


def write_results(out_dir: str, payload: dict[str, Any], markdown: str) -> Path:
    """``results.json`` (everything measured) and ``results.md`` (the tables) in ``out_dir``."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(
        json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    )
    (directory / "results.md").write_text(markdown.rstrip() + "\n")
    return directory
