"""Generic interaction logs (CSV or Parquet) into a dataset.

Every source file is read in batches of raw values; :class:`Rows` converts a batch field by
field, marking bad rows instead of failing, so one pass can either report the earliest problem
as ``file:line`` or drop and count every bad row (``skip_bad_rows``). MovieLens files are just
tabular files with fixed layouts, so :mod:`.movielens` reads them through the same code.
"""

from __future__ import annotations

import logging
import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from entertainai.data.dataset import DatasetWriter
from entertainai.data.loaders.files import (
    CSV,
    parquet_columns,
    read_parquet,
    read_text,
    text_columns,
)
from entertainai.data.loaders.rows import TIMESTAMP_UNITS, BadRows, Rows, distinct, empty_maps
from entertainai.errors import InputError
from entertainai.fs import Location, resolve

logger = logging.getLogger(__name__)

# Source fields a column map may name, and those a log must have.
FIELDS = ("user_id", "item_id", "timestamp", "value", "event_type", "device")
REQUIRED_FIELDS = ("user_id", "item_id", "timestamp")

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------- generic logs


def load_log(
    kind: str,
    path: str,
    writer: DatasetWriter,
    *,
    bad: BadRows,
    column_map: dict[str, str] | None = None,
    event_type: str = "rating",
    timestamp_unit: str = "s",
    progress: bool = False,
) -> None:
    """Load interaction logs (``kind`` "csv" or "parquet": one file or a directory of them).

    ``column_map`` maps our fields (:data:`FIELDS`) to the source's columns; unmapped fields
    use a column of their own name when there is one. Items and users are the distinct ids.
    """
    _check_options(column_map or {}, event_type, timestamp_unit)
    users: list[pa.Array] = []
    items: list[pa.Array] = []
    for loc, name in _log_files(path, kind):
        have = text_columns(loc, CSV, name) if kind == "csv" else parquet_columns(loc, name)
        fields = _fields(name, have, column_map or {})
        columns = sorted(set(fields.values()))
        batches = (
            read_text(loc, CSV, columns, name=name, progress=progress)
            if kind == "csv"
            else read_parquet(loc, columns, name=name, progress=progress)
        )
        n = 0
        for rows in batches:
            table = _interactions(rows, fields, event_type=event_type, unit=timestamp_unit)
            bad.settle(rows)
            table = rows.filtered(table)
            if table.num_rows:
                writer.write("interactions", table)
            users.append(pc.unique(table.column("user_id")))
            items.append(pc.unique(table.column("item_id")))
            n += table.num_rows
        logger.info("%s: %d interactions", name, n)
    user_ids, item_ids = distinct(users), distinct(items)
    writer.write("users", pa.table({"user_id": user_ids, "attributes": empty_maps(len(user_ids))}))
    writer.write("items", pa.table({"item_id": item_ids}))
    writer.info["format"] = f"{kind}-log"


def _check_options(column_map: dict[str, str], event_type: str, unit: str) -> None:
    unknown = sorted(set(column_map) - set(FIELDS))
    if unknown:
        raise InputError(
            f"unknown fields {unknown}; a column map may name {list(FIELDS)}", location="column_map"
        )
    if unit not in TIMESTAMP_UNITS:
        raise InputError(
            f"{unit!r} is not one of {list(TIMESTAMP_UNITS)}", location="timestamp_unit"
        )
    if not event_type.strip():
        raise InputError("must not be empty", location="event_type")


def _log_files(path: str, kind: str) -> list[tuple[Location, str]]:
    """The files to read, each with the name messages use (relative to a given directory)."""
    root = resolve(path)
    suffixes = CSV_SUFFIXES if kind == "csv" else PARQUET_SUFFIXES
    if not root.exists():
        raise InputError("no such file or directory", location=str(root))
    if not root.is_dir():
        return [(root, posixpath.basename(root.path))]
    infos = root.fs.get_file_info(pafs.FileSelector(root.path, recursive=True))
    found = sorted(
        posixpath.relpath(i.path, root.path)
        for i in infos
        if i.type == pafs.FileType.File
        and i.base_name.endswith(suffixes)
        and not i.base_name.startswith((".", "_"))  # _SUCCESS, .crc and the like
    )
    if not found:
        raise InputError(f"no {' or '.join(suffixes)} files in this directory", location=str(root))
    return [(root.join(rel), rel) for rel in found]


def _fields(file_name: str, have: list[str], column_map: dict[str, str]) -> dict[str, str]:
    """Our field -> the file's column, for the fields this file provides."""
    fields = {}
    for field in FIELDS:
        column = column_map.get(field, field)
        if column in have:
            fields[field] = column
        elif field in column_map or field in REQUIRED_FIELDS:
            hint = "" if field in column_map else f" (map {field!r} to a column with column_map)"
            raise InputError(
                f"no column {column!r} for {field!r}{hint}; the file has columns {have}",
                location=file_name,
            )
    return fields


def _interactions(rows: Rows, fields: dict[str, str], *, event_type: str, unit: str) -> pa.Table:
    n = len(rows)
    events = (
        rows.strings(fields["event_type"])
        if "event_type" in fields
        else pa.repeat(pa.scalar(event_type), n)
    )
    value = (
        rows.numbers(fields["value"], required=False)
        if "value" in fields
        else pa.repeat(pa.scalar(1.0), n)
    )
    device = (
        rows.strings(fields["device"], required=False)
        if "device" in fields
        else pa.nulls(n, pa.string())
    )
    return pa.table(
        {
            "user_id": rows.strings(fields["user_id"]),
            "item_id": rows.strings(fields["item_id"]),
            "event_type": events,
            "value": value,
            "timestamp": rows.timestamps(fields["timestamp"], unit),
            "device": device,
        }
    )
