"""What every Ray job shares: connecting to Ray the same way locally and on a cluster."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

import ray

from entertainai.errors import EntertainAIError

log = logging.getLogger(__name__)


def add_ray_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (default: $RAY_ADDRESS when set, as under `ray job submit`; "
        "otherwise a new local Ray)",
    )
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs for a new local Ray")
    parser.add_argument("--smoke-test", action="store_true", help="tiny data and models, fast")


def init_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Attach to a cluster if one is named, else start a private local Ray.

    A bare ``ray.init()`` would silently attach to whatever cluster runs on this machine.
    """
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False)
    log.info("ray: %s", ray.cluster_resources())


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def absolute(uri: str) -> str:
    """Local paths must be absolute before they travel to workers on other nodes."""
    return uri if "://" in uri else os.path.abspath(uri)


def run_job(prog: str, run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a job's body; user errors become one line on stderr and exit status 2."""
    configure_logging()
    try:
        return run(args)
    except EntertainAIError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
