"""``entertainai events export``: the live event logs as a new dataset version."""

from __future__ import annotations

import argparse
import json
import os

from entertainai.registry import default_root
from entertainai.serving.export import DEFAULT_EVENTS_ROOT


def add_parser(commands: argparse._SubParsersAction) -> None:
    events = commands.add_parser("events", help="turn the served event logs into training data")
    sub = events.add_subparsers(dest="events_command", required=True, metavar="SUBCOMMAND")
    export = sub.add_parser(
        "export",
        help="merge every replica's event log (and a base dataset) into a new dataset",
        description=(
            "Read every event log under --events (one directory per replica, also per node: "
            "ROOT/<replica>/ or ROOT/<node>/<replica>/) without opening or changing it, leave "
            "out users with an erasure request, drop events already read or already in the "
            "base (same user, item, type, value, timestamp and device), and write base + new "
            "events as a new dataset at --out. The same inputs give the same content hash; "
            "exporting again with the previous export as --base adds nothing. On a cluster: "
            "python -m train.events_export (same options, --each-node for node-local logs)."
        ),
    )
    export.add_argument("--out", required=True, help="the new dataset's directory or URI")
    add_export_args(export)
    export.add_argument(
        "--overwrite", action="store_true", help="replace --out if it holds another dataset"
    )
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(handler=run_export)


def add_export_args(parser: argparse.ArgumentParser) -> None:
    """Where the events, base, erasures and new items are (train.events_export mirrors them)."""
    parser.add_argument(
        "--events",
        default=DEFAULT_EVENTS_ROOT,
        help="event log root, the Serve app's event_dir: every log directory under it "
        "(ROOT/<replica>/, ROOT/<node>/<replica>/) is read (default ./runs/events)",
    )
    parser.add_argument(
        "--base", help="dataset the events are added to (default: a dataset of events only)"
    )
    parser.add_argument(
        "--registry",
        default=default_root(),
        help="registry root holding the erasure ledger (default $ENTERTAINAI_ARTIFACTS or "
        "./artifacts)",
    )
    parser.add_argument(
        "--catalogue-root",
        default=os.environ.get("ENTERTAINAI_CATALOGUE_ROOT"),
        help="where POST /v1/items records new items (default: the registry root)",
    )


def run_export(args: argparse.Namespace) -> int:
    from entertainai.serving.export import export_events

    result = export_events(
        args.out,
        args.events,
        registry=args.registry,
        base=args.base,
        overwrite=args.overwrite,
        catalogue_root=args.catalogue_root,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0
