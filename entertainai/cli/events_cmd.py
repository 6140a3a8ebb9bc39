"""``entertainai events export``: the live event logs as a new dataset version."""

from __future__ import annotations

import argparse
import json

from entertainai.serving.export import add_source_arguments


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
    add_source_arguments(export)
    export.add_argument(
        "--overwrite", action="store_true", help="replace --out if it holds another dataset"
    )
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(handler=run_export)


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
