"""Live events → a new dataset version: the step that turns serving traffic into training data.

    entertainai events export --out data/2026-12-04 --base data/current --events ./runs/events
    python -m train.events_export ...        # the same as a Ray job (--each-node: node-local logs)

Every event log under the events root (``ROOT/<replica>/``, ``ROOT/<node>/<replica>/``: each
directory holding a log, up to three levels down) is read, merged with the base dataset and
written as a **new** dataset (Parquet parts plus manifest, :class:`DatasetWriter`); the base is
never modified.

**Read-only over the logs, never** :meth:`EventLog.compact`. A log is single-writer: its
owner holds an ``flock`` on it, so opening it elsewhere is refused while the replica runs, and
``compact`` moves segments out of the live log (a restarted replica then no longer replays
them into its recent history) and rewrites a dataset in place. The exporter instead reads the
closed and the active segments without a lock (:func:`read_committed`: only batches whose
commit line is written; every acknowledged batch has one), plus any parts earlier compactions
produced. Nothing in the log directories is written, so a live replica cannot be
corrupted, and the logs keep every event (retention is the operator's: see docs/retrain.md).

**Event ids.** ``POST /v1/events`` takes no id, so an event's id is its content: user, item,
type, value, timestamp (ms) and device (:func:`event_ids`). The same event read twice (a
segment compacted while it was read, a restored copy of a log, a root shared by every node,
an event already exported into the base) is one event. Two identical events in one request
without client timestamps (the server stamps the whole batch with one ``now``) count once.

**Erasure.** Users in the erasure ledger (:class:`ErasureLedger`, under the registry root)
are left out of the events *and* of the base's interactions, users and texts, events logged
after the request included (conservative: while the request is in the ledger, the id is
never trained on). The ledger holds keyed hashes of ids as the logs store them (pseudonyms
when pseudonymisation is on): every id read is hashed and matched; a base with raw ids is
matched only when pseudonymisation is off. Every export's output is recorded in an index
under the registry root (``_exports/``, :func:`exported_datasets`), so a later erasure finds
and rewrites it (:mod:`entertainai.serving.forget`).

**Idempotent.** Base rows keep their order, new events follow in a canonical order (time,
then id), and every table is written in parts of a fixed row count, so the same inputs give
byte-identical files and the same content hash; exporting again with the previous export as
the base adds nothing and reproduces it. An ``--out`` that already holds exactly this dataset
is left as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from entertainai.data import schemas
from entertainai.data.dataset import MANIFEST, Dataset, DatasetWriter, Manifest
from entertainai.errors import InputError, NotFoundError
from entertainai.fs import Location, list_files, resolve
from entertainai.registry import default_root
from entertainai.serving.additions import CatalogueAdditions
from entertainai.serving.erasure import ErasureLedger, UserMatcher
from entertainai.serving.event_log import is_log_dir, read_committed

log = logging.getLogger(__name__)

SOURCE = "events-export"
DEFAULT_EVENTS_ROOT = "./runs/events"
ID_COLUMNS = ("user_id", "item_id", "event_type", "value", "timestamp", "device")
PART_ROWS = 1 << 20  # fixed, so the same rows always land in the same parts (same hash)
STATS = ("logs", "events_read", "erased", "duplicates", "already_in_base", "added")
MAX_DEPTH = 3  # ROOT/<replica>, ROOT/<node>/<replica>, ROOT/<cluster>/<node>/<replica>
EXPORTS_DIR = "_exports"  # under the registry root: where every export went


@dataclass(frozen=True)
class LogEvents:
    """The committed events of one log; ``log`` names it (with its node when read per node)."""

    log: str
    table: pa.Table


Reader = Callable[[str], list[LogEvents]]


@dataclass(frozen=True)
class ExportResult:
    dataset: str
    content_hash: str
    counts: dict[str, int]
    logs: int
    events_read: int  # committed events in the logs, duplicates included
    erased: int  # rows left out because their user is erased (events and base)
    duplicates: int  # events read more than once
    already_in_base: int  # events the base holds already (a previous export)
    added: int  # new interactions
    unchanged: bool = False  # the output already held exactly this dataset

    def summary(self) -> str:
        state = "unchanged" if self.unchanged else "written"
        return (
            f"{self.dataset} ({state}): {self.added} new events from {self.logs} logs "
            f"({self.events_read} read, {self.duplicates} duplicates, {self.already_in_base} "
            f"already in the base, {self.erased} erased rows left out); "
            f"{self.counts.get('interactions', 0)} interactions, hash {self.content_hash[:12]}"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# --------------------------------------------------------------------------- reading


def find_logs(root: str) -> list[Location]:
    """Every event log directory under ``root`` (the root itself may be one), sorted."""
    top = resolve(root)
    if not top.is_dir():
        raise NotFoundError(f"{top}: no such event log directory")
    found: list[Location] = []

    def walk(loc: Location, depth: int) -> None:
        if is_log_dir(loc):
            found.append(loc)
        elif depth < MAX_DEPTH:
            for name in loc.listdir():
                child = loc.join(name)
                if not name.startswith(".") and child.is_dir():
                    walk(child, depth + 1)

    walk(top, 0)
    return found


def read_events(root: str) -> list[LogEvents]:
    """The committed events of every log under ``root``, read without opening the logs."""
    return [LogEvents(str(loc), read_committed(loc)) for loc in find_logs(root)]


def event_ids(table: pa.Table) -> pa.ChunkedArray:
    """Each interaction's id: an unambiguous encoding of :data:`ID_COLUMNS` (see module doc).

    Every field becomes ``<byte length>:<text>`` or ``-`` for null, so no two different rows
    share an id whatever characters the ids contain.
    """
    tokens = []
    for name in ID_COLUMNS:
        column = table.column(name)
        if name == "timestamp":
            column = pc.cast(column, pa.int64())
        text = pc.cast(column, pa.string())
        length = pc.cast(pc.binary_length(text), pa.string())
        tokens.append(pc.fill_null(pc.binary_join_element_wise(length, text, ":"), "-"))
    return pc.binary_join_element_wise(*tokens, "")


def erasure_matcher(registry: str) -> UserMatcher:
    """Every user with an erasure request in the ledger under ``registry``."""
    return ErasureLedger(registry).matcher()


def record_export(registry: str, dataset: str) -> None:
    """Note that ``dataset`` holds exported events (one small file per dataset, idempotent)."""
    index = resolve(registry).join(EXPORTS_DIR)
    name = hashlib.sha256(dataset.encode()).hexdigest()[:24] + ".json"
    index.fs.create_dir(index.path, recursive=True)
    index.join(name).write_bytes(json.dumps({"dataset": dataset, "at": time.time()}).encode())


def exported_datasets(registry: str) -> list[str]:
    """Every dataset an export wrote under ``registry``'s index, oldest first."""
    index = resolve(registry).join(EXPORTS_DIR)
    found = []
    for name in index.listdir():
        try:
            entry = json.loads(index.join(name).read_bytes())
            found.append((float(entry["at"]), str(entry["dataset"])))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("skipping unreadable export index entry %s", name)
    return [uri for _, uri in sorted(found)]


# --------------------------------------------------------------------------- the export


def export_events(
    out: str,
    events_root: str = DEFAULT_EVENTS_ROOT,
    *,
    registry: str,
    base: str | None = None,
    overwrite: bool = False,
    catalogue_root: str | None = None,
    read: Reader = read_events,
) -> ExportResult:
    """Write ``base`` plus the new events under ``events_root`` as a new dataset at ``out``.

    ``registry`` is the registry root: its erasure ledger says whom to leave out. Catalogue
    additions (``POST /v1/items``, under ``catalogue_root``, default the registry) join the
    items table. ``read`` reads the logs (the Ray job passes one that reads on every node).
    """
    base_ds = Dataset.open(base) if base else None
    logs = read(events_root)
    events = pa.concat_tables([e.table for e in logs]) if logs else schemas.empty("interactions")
    if not logs:
        log.warning("no event logs under %s", events_root)
    erased = erasure_matcher(registry)  # read after the logs: no request meanwhile is missed
    events_read = events.num_rows

    def keep_unerased(table: pa.Table, column: str = "user_id") -> pa.Table:
        if not erased or not table.num_rows or column not in table.column_names:
            return table
        values = table.column(column)
        hit = erased.hits(v for v in pc.unique(values).to_pylist() if v is not None)
        if not hit:
            return table
        gone = pc.fill_null(pc.is_in(values, pa.array(sorted(hit), values.type)), False)
        return table.filter(pc.invert(gone))

    events = keep_unerased(events)
    erased_rows = events_read - events.num_rows
    tables = {name: schemas.empty(name) for name in schemas.TABLES}
    if base_ds is not None:
        for name in schemas.TABLES:
            table = base_ds.table(name)
            kept = keep_unerased(table)
            erased_rows += table.num_rows - kept.num_rows
            tables[name] = kept

    # Deduplicate the events among themselves (first occurrence), then against the base.
    first = (
        pa.table({"id": event_ids(events), "row": pa.array(range(events.num_rows), pa.int64())})
        .group_by("id", use_threads=False)
        .aggregate([("row", "min")])
        .column("row_min")
    )
    unique = events.take(pc.take(first, pc.sort_indices(first)))
    unique_ids = event_ids(unique)
    new = pc.invert(pc.is_in(unique_ids, event_ids(tables["interactions"])))
    fresh = (
        unique.filter(new)
        .append_column("_id", unique_ids.filter(new))
        .sort_by([("timestamp", "ascending"), ("_id", "ascending")])
        .drop_columns("_id")
    )
    tables["interactions"] = pa.concat_tables(
        [tables["interactions"], schemas.conform(fresh, "interactions")]
    )
    tables["items"] = _with_additions(tables["items"], catalogue_root or registry)

    target = resolve(out)
    result = ExportResult(
        dataset=str(target),
        content_hash="",  # known once written
        counts={},
        logs=len(logs),
        events_read=events_read,
        erased=erased_rows,
        duplicates=events.num_rows - unique.num_rows,
        already_in_base=unique.num_rows - fresh.num_rows,
        added=fresh.num_rows,
    )
    info = {
        "base": base_ds.uri if base_ds else None,
        "base_hash": base_ds.manifest.content_hash if base_ds else None,
        "events_root": events_root,
        **{k: getattr(result, k) for k in STATS},
    }
    extras = _extras(base_ds)
    if target.join(MANIFEST).exists() and not overwrite:
        # A rerun into the same place: fine if it reproduces what is there, else refuse.
        existing = Dataset.open(out).manifest
        probe = resolve(f"{str(target).rstrip('/')}.probe-{uuid.uuid4().hex[:8]}")
        try:
            manifest = _write(str(probe), tables, extras, info, overwrite=False)
        finally:
            if probe.exists():
                probe.fs.delete_dir(probe.path)
        if manifest.content_hash != existing.content_hash:
            raise InputError(
                "already holds a different dataset (pass --overwrite, or export to a new --out)",
                location=str(target),
            )
        log.info("%s already holds this export", target)
        record_export(registry, str(target))
        return replace(
            result, content_hash=existing.content_hash, counts=existing.counts, unchanged=True
        )
    record_export(registry, str(target))  # first: an erasure must find even a partial write
    manifest = _write(out, tables, extras, info, overwrite=overwrite)
    result = replace(result, content_hash=manifest.content_hash, counts=manifest.counts)
    log.info("exported %s", result.summary())
    return result


def _write(
    uri: str,
    tables: dict[str, pa.Table],
    extras: dict[str, bytes],
    info: dict[str, object],
    *,
    overwrite: bool,
) -> Manifest:
    with DatasetWriter(uri, source=SOURCE, overwrite=overwrite) as writer:
        writer.info.update(info)
        for name, table in tables.items():
            for start in range(0, table.num_rows, PART_ROWS):
                writer.write(name, table.slice(start, PART_ROWS))
        for relpath, data in extras.items():
            writer.write_extra(relpath, data)
    assert writer.manifest is not None
    return writer.manifest


def _extras(base: Dataset | None) -> dict[str, bytes]:
    """The base's side files (e.g. demo ground truth), carried over unchanged."""
    if base is None or not base.root.join("extras").is_dir():
        return {}
    root = base.root.join("extras")
    return {name: root.join(name).read_bytes() for name in list_files(root)}


def _with_additions(items: pa.Table, root: str) -> pa.Table:
    """Items posted since the base was built (``POST /v1/items``), appended once each."""
    recorded = CatalogueAdditions(root).tables()
    if not recorded:
        return items
    added = pa.concat_tables(
        [schemas.conform(t.replace_schema_metadata(None), "items") for t in recorded]
    )
    # The latest record of an item wins; items the base already has keep the base's row.
    ids = added.column("item_id").to_pylist()
    latest = {item: row for row, item in enumerate(ids)}
    known = set(items.column("item_id").to_pylist())
    rows = sorted(row for item, row in latest.items() if item not in known)
    return pa.concat_tables([items, added.take(pa.array(rows, pa.int64()))]) if rows else items


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where an export reads from: the events, the base, erasures and new items (the CLI's
    ``events export`` and the Ray jobs ``train.events_export`` / ``train.retrain`` share them)."""
    parser.add_argument(
        "--events",
        default=DEFAULT_EVENTS_ROOT,
        help="event log root, the Serve app's event_dir: every log directory under it "
        "(ROOT/<host>-<slot>/, also one level deeper) is read (default ./runs/events)",
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
