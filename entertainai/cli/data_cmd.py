"""``entertainai data load|describe``."""

from __future__ import annotations

import argparse
import json

from entertainai.data.dataset import Dataset
from entertainai.errors import InputError


def add_parser(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="load and inspect datasets")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    load = sub.add_parser(
        "load",
        help="convert a source into an EntertainAI dataset directory",
        description=(
            "SOURCE is movielens:PATH (100K, 1M, 20M/25M/latest), csv:PATH or parquet:PATH "
            "(interaction logs; map columns with --map), or demo[:N_USERS] (synthetic data "
            "with planted structure). OUT may be a local path or a pyarrow URI (s3://...)."
        ),
    )
    load.add_argument("source")
    load.add_argument("--out", required=True, help="dataset directory or URI to create")
    load.add_argument("--skip-bad-rows", action="store_true", help="skip and count malformed rows")
    load.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    load.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="for csv:/parquet: which source column holds user_id, item_id, value, timestamp, event_type",
    )
    load.add_argument("--event-type", default="rating", help="event type when no column holds it")
    load.add_argument(
        "--timestamp-unit", choices=["s", "ms"], default="s", help="unit of integer timestamps"
    )
    load.set_defaults(handler=run_load)

    describe = sub.add_parser("describe", help="print a dataset's manifest and table summaries")
    describe.add_argument("dir")
    describe.add_argument("--verify", action="store_true", help="recompute the content hash")
    describe.set_defaults(handler=run_describe)


def parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise InputError(f"--map {pair!r}: expected FIELD=COLUMN")
        mapping[field] = column
    return mapping


def run_load(args: argparse.Namespace) -> int:
    from entertainai.data.loaders import load

    manifest = load(
        args.source,
        args.out,
        skip_bad_rows=args.skip_bad_rows,
        overwrite=args.overwrite,
        progress=True,
        column_map=parse_map(args.map) or None,
        event_type=args.event_type,
        timestamp_unit=args.timestamp_unit,
    )
    counts = ", ".join(f"{n:,} {name}" for name, n in manifest.counts.items())
    print(f"wrote {args.out}: {counts}")
    skipped = sum(manifest.skipped_rows.values())
    if skipped:
        print(f"skipped {skipped:,} bad rows: {manifest.skipped_rows}")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    import pyarrow.compute as pc

    ds = Dataset.open(args.dir)
    if args.verify:
        ds.verify()
    m = ds.manifest
    print(f"dataset   {ds.uri}")
    print(f"source    {m.source}")
    print(f"created   {m.created}   schema v{m.schema_version}   hash {m.content_hash[:16]}")
    for name, n in m.counts.items():
        print(f"  {name:<13}{n:>12,}")
    if m.skipped_rows:
        print(f"skipped rows {json.dumps(m.skipped_rows)}")
    inter = ds.table("interactions", columns=["user_id", "item_id", "event_type", "timestamp"])
    if inter.num_rows:
        ts = inter.column("timestamp")
        events = pc.value_counts(inter.column("event_type")).to_pylist()
        print(f"time span {pc.min(ts).as_py()} .. {pc.max(ts).as_py()}")
        print("events    " + ", ".join(f"{e['values']}={e['counts']:,}" for e in events))
        users, items = m.counts.get("users", 0), m.counts.get("items", 0)
        if users and items:
            print(f"density   {inter.num_rows / (users * items):.4%}")
    return 0
