"""Export the live event logs into a new dataset version (the Ray job of ``entertainai events
export``).

    python -m train.events_export --out data/2026-12-04 --base data/current --events ./runs/events
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m train.events_export --out s3://.../data/2026-12-04 --base s3://.../data/current \\
        --events /mnt/events --registry s3://entertainai-artifacts/registry [--each-node]

Read-only over the logs, deduplicated by event id, erased users left out, idempotent: see
:mod:`entertainai.serving.export`. The events root is read from the driver, which needs it on
a filesystem every node shares (or a URI). With ``--each-node`` a Ray task on every alive node
reads the root on that node instead, for logs on node-local volumes; a shared root read from
every node is merged once (the duplicates are the same events).
"""

from __future__ import annotations

import argparse
import logging
import sys

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from entertainai.errors import NotFoundError
from entertainai.serving.export import (
    LogEvents,
    add_source_arguments,
    export_events,
    read_events,
)
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.events_export")


@ray.remote(num_cpus=0)  # file reads; also runs on a head started with num-cpus 0
def _read_here(root: str) -> list[LogEvents]:
    node = ray.get_runtime_context().get_node_id()[:12]
    try:
        found = read_events(root)
    except NotFoundError:
        return []  # this node holds no logs
    return [LogEvents(f"{node}:{e.log}", e.table) for e in found]


def read_on_every_node(root: str) -> list[LogEvents]:
    """The logs under ``root`` as every alive node sees it (node-local event volumes)."""
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
    refs = [
        _read_here.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
        ).remote(root)
        for node in nodes
    ]
    found = [e for per_node in ray.get(refs) for e in per_node]
    if not found:
        raise NotFoundError(f"{root}: no event logs on any of the {len(nodes)} nodes")
    log.info("read %d event logs on %d nodes", len(found), len(nodes))
    return found


def add_export_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``entertainai events export`` plus ``--each-node`` (also train.retrain's)."""
    add_source_arguments(parser)
    parser.add_argument(
        "--each-node",
        action="store_true",
        help="read the events root on every alive node (logs on node-local volumes)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="the new dataset's directory or URI")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out if it holds another dataset"
    )
    add_export_args(parser)
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.events_export", run, args)


def run(args: argparse.Namespace) -> int:
    read = read_events
    if args.each_node:
        init_ray(args.address, args.num_cpus)
        read = read_on_every_node
    result = export_events(
        absolute(args.out),
        absolute(args.events),
        registry=absolute(args.registry),
        base=absolute(args.base) if args.base else None,
        overwrite=args.overwrite,
        catalogue_root=absolute(args.catalogue_root) if args.catalogue_root else None,
        read=read,
    )
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
