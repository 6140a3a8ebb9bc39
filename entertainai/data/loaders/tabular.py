"""Generic interaction logs (CSV or Parquet) and the row-level reading both loaders share.

Every source file is read in batches of raw values; :class:`Rows` converts a batch field by
field, marking bad rows instead of failing, so one pass can either report the earliest problem
as ``file:line`` or drop and count every bad row (``skip_bad_rows``). MovieLens files are just
tabular files with fixed layouts, so :mod:`.movielens` reads them through the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from entertainai.data.dataset import DatasetWriter
from entertainai.errors import InputError
from entertainai.fs import Location, resolve

logger = logging.getLogger(__name__)

# Source fields a column map may name, and those a log must have.
FIELDS = ("user_id", "item_id", "timestamp", "value", "event_type", "device")
REQUIRED_FIELDS = ("user_id", "item_id", "timestamp")
TIMESTAMP_UNITS = {"s": 1000, "ms": 1}  # multiplier to milliseconds

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")

BLOCK_SIZE = 1 << 24  # 16 MiB of text per batch: ~700k ratings, few Parquet parts for 25M rows
PARQUET_BATCH_ROWS = 1 << 20

_INT_RE = r"^[+-]?\d{1,18}$"  # 18 digits always fit in int64
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TS = pa.timestamp("ms", tz="UTC")
_MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- row validation


class Rows:
    """One batch of raw rows from one file, converted field by field.

    Each conversion returns a full-length array and marks the rows it could not convert; the
    caller filters with :attr:`ok` once all fields are converted, after :meth:`BadRows.settle`.
    """

    def __init__(
        self, table: pa.Table, lines: np.ndarray, file_name: str, *, unit: str = ""
    ) -> None:
        self.table = table
        self.lines = lines  # 1-based line (or row) number of each row, for messages
        self.file_name = file_name
        self.unit = unit  # "" for text lines ("u.data:17"), "row " for Parquet ("x.parquet:row 17")
        self.ok = np.ones(table.num_rows, dtype=bool)
        self.dropped = 0  # rows the parser itself rejected (wrong number of fields)
        self.problems: list[tuple[int, str]] = []  # (line, message): the earliest of each check

    def __len__(self) -> int:
        return self.table.num_rows

    def location(self, line: int) -> str:
        return f"{self.file_name}:{self.unit}{line}"

    def reject(self, bad: np.ndarray, describe: Callable[[int], str]) -> None:
        """Mark rows ``bad``; ``describe(i)`` explains row ``i`` (called for the first only)."""
        if not bad.any():
            return
        first = int(np.argmax(bad))
        self.problems.append((int(self.lines[first]), describe(first)))
        self.ok &= ~bad

    def drop(self, line: int, message: str) -> None:
        """Record a row the parser already removed."""
        self.dropped += 1
        self.problems.append((line, message))

    @property
    def n_bad(self) -> int:
        return self.dropped + int((~self.ok).sum())

    # Conversions. ``name`` is the source column, as the user knows it.

    def column(self, name: str) -> pa.Array:
        col = self.table.column(name)
        return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col

    def _text(self, name: str) -> pa.Array:
        col = self.column(name)
        return col if pa.types.is_string(col.type) else col.cast(pa.string())

    def _reject_empty(self, name: str, col: pa.Array) -> None:
        empty = pc.is_null(col)
        if pa.types.is_string(col.type):
            empty = pc.or_(empty, pc.equal(col, "").fill_null(True))
        self.reject(_np_bool(empty), lambda i: f"field {name!r} is empty")

    def strings(self, name: str, *, required: bool = True) -> pa.Array:
        """Trimmed text; empty values are bad rows if ``required``, else null."""
        col = pc.utf8_trim_whitespace(self._text(name))
        if required:
            self._reject_empty(name, col)
            return col
        return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)

    def integers(self, name: str) -> pa.Array:
        """int64 values (bad rows hold 0)."""
        col = self.column(name)
        if pa.types.is_integer(col.type) and not col.null_count:
            return col.cast(pa.int64())
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        try:  # fast path: a clean column converts in one vectorised call
            if not col.null_count:
                return col.cast(pa.int64())
        except pa.ArrowInvalid:
            pass
        return self._parse(name, col, _INT_RE, pa.int64(), "an integer")

    def numbers(self, name: str, *, required: bool = True) -> pa.Array:
        """Finite float64 values (bad rows hold 0); empty values are null if not ``required``."""
        col = self.column(name)
        raw = col
        if not pa.types.is_string(col.type):
            try:
                col = col.cast(pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = col.cast(pa.string())
        empty = None
        if not required:
            empty = pc.is_null(col)
            if pa.types.is_string(col.type):
                empty = pc.or_(empty, pc.equal(pc.utf8_trim_whitespace(col), ""))
            col = pc.if_else(empty, pa.scalar("0" if pa.types.is_string(col.type) else 0.0), col)
        if pa.types.is_string(col.type):
            try:
                col = col.cast(pa.float64())
            except pa.ArrowInvalid:
                col = self._parse(name, col, _FLOAT_RE, pa.float64(), "a number")
        bad = _np_bool(pc.invert(pc.is_finite(col)))  # null, nan and inf
        self.reject(bad, lambda i: f"field {name!r}: {_show(raw[i])} is not a number")
        col = pc.if_else(pa.array(bad), 0.0, col)
        return col if empty is None else pc.if_else(empty, pa.scalar(None, pa.float64()), col)

    def _parse(
        self, name: str, col: pa.Array, pattern: str, to: pa.DataType, what: str
    ) -> pa.Array:
        """Slow path: find the rows that do not parse, then convert the rest."""
        trimmed = pc.utf8_trim_whitespace(col)
        good = _np_bool(pc.match_substring_regex(trimmed, pattern), null=False)
        self.reject(~good, lambda i: f"field {name!r}: {_show(col[i])} is not {what}")
        return pc.if_else(pa.array(good), trimmed, "0").cast(to)

    def epochs(self, name: str, unit: str) -> pa.Array:
        """UTC millisecond timestamps from integer epochs in ``unit`` (s or ms)."""
        return self._epoch_ms(name, self.integers(name).to_numpy(), unit)

    def _epoch_ms(self, name: str, values: np.ndarray, unit: str) -> pa.Array:
        scale = TIMESTAMP_UNITS[unit]
        bad = ~(np.abs(values) <= _MAX_EPOCH_MS // scale)  # checked before scaling: no overflow
        self.reject(bad, lambda i: f"field {name!r}: {values[i]} is out of range for a timestamp")
        ms = np.rint(np.where(bad, 0, values) * scale).astype(np.int64)
        return pa.array(ms, pa.int64()).cast(_TS)

    def timestamps(self, name: str, unit: str) -> pa.Array:
        """UTC millisecond timestamps from epochs (in ``unit``), ISO-8601 text or Arrow times.

        ISO values without an offset are taken as UTC.
        """
        col = self.column(name)
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            self._reject_empty(name, col)
            return _to_utc(col).fill_null(pa.scalar(0, _TS))
        if pa.types.is_integer(col.type):
            return self.epochs(name, unit)
        if pa.types.is_floating(col.type):  # fractional epochs
            return self._epoch_ms(name, self.numbers(name).to_numpy(), unit)
        col = pc.utf8_trim_whitespace(self._text(name))
        if not col.null_count:
            try:
                return self._epoch_ms(name, col.cast(pa.int64()).to_numpy(), unit)
            except pa.ArrowInvalid:
                pass
            for target in (_TS, pa.timestamp("ms")):  # offsets given, or none given
                try:
                    return _to_utc(col.cast(target))
                except pa.ArrowInvalid:
                    pass
        return self._parse_times(name, col, unit)

    def _parse_times(self, name: str, col: pa.Array, unit: str) -> pa.Array:
        """Slow path, row by row: mixed epochs and ISO forms, or some values that are neither."""
        scale = TIMESTAMP_UNITS[unit]
        ms = np.zeros(len(col), dtype=np.int64)
        bad = np.zeros(len(col), dtype=bool)
        for i, text in enumerate(col.to_pylist()):
            value = _parse_time(text, scale)
            if value is None:
                bad[i] = True
            else:
                ms[i] = value
        self.reject(
            bad, lambda i: f"field {name!r}: {_show(col[i])} is not an epoch or ISO-8601 time"
        )
        return pa.array(ms, pa.int64()).cast(_TS)

    def filtered(self, table: pa.Table) -> pa.Table:
        """``table`` (one row per row of this batch) without the bad rows."""
        return table if self.ok.all() else table.filter(pa.array(self.ok))


def _parse_time(text: str | None, scale: int) -> int | None:
    if not text:
        return None
    if re.fullmatch(_INT_RE, text):
        ms = int(text) * scale
        return ms if abs(ms) <= _MAX_EPOCH_MS else None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def _to_utc(col: pa.Array) -> pa.Array:
    """Any Arrow date or timestamp as UTC milliseconds; naive values are taken as UTC."""
    if pa.types.is_date(col.type):
        col = col.cast(pa.timestamp("ms"))
    if col.type.tz is None:
        col = pc.assume_timezone(col.cast(pa.timestamp(col.type.unit)), "UTC")
    return col.cast(_TS)


def _np_bool(mask: pa.Array | pa.ChunkedArray, *, null: bool = True) -> np.ndarray:
    """A boolean mask as numpy; a null counts as ``null`` (True: in doubt, a row is bad)."""
    return np.asarray(mask.fill_null(null).to_numpy(zero_copy_only=False), dtype=bool)


def _show(value: pa.Scalar) -> str:
    return repr(value.as_py()) if value.is_valid else "null"


class BadRows:
    """The policy for malformed rows: raise an :class:`InputError` naming the first one, or
    skip them and count them per file in the manifest's ``skipped_rows``."""

    def __init__(self, writer: DatasetWriter, *, skip: bool) -> None:
        self.writer = writer
        self.skip = skip

    def settle(self, rows: Rows) -> None:
        """Call once a batch is fully converted: raises, or counts what :attr:`Rows.ok` drops."""
        if not rows.problems:
            return
        line, message = min(rows.problems)
        if not self.skip:
            raise InputError(message, location=rows.location(line))
        self.writer.skip(rows.file_name, rows.n_bad)
        logger.warning(
            "skipped %d bad rows in %s, the first at %s: %s",
            rows.n_bad,
            rows.file_name,
            rows.location(line),
            message,
        )


# --------------------------------------------------------------------------- reading files


@dataclass(frozen=True)
class TextFormat:
    """The layout of a delimited text file."""

    delimiter: str  # one character, as the parser sees it
    label: str  # for messages: "tab-separated"
    header: bool = False
    quoting: bool = False
    encoding: str = "utf8"
    double_colon: bool = False  # '::' separated (ML-1M): rewritten to DOUBLE_COLON while read


DOUBLE_COLON = "\x1f"  # ASCII unit separator: never inside MovieLens text
CSV = TextFormat(",", "comma-separated", header=True, quoting=True)


class _Stream:
    """File-like view of an input stream for the CSV reader: rewrites '::' to one byte (the
    parser only splits on single characters) and advances a progress bar."""

    def __init__(self, raw: pa.NativeFile, *, double_colon: bool, bar: Any | None) -> None:
        self.raw = raw
        self.double_colon = double_colon
        self.bar = bar
        self.closed = False
        self._carry = b""

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while True:
            chunk = self.raw.read(n if n >= 0 else None)
            if self.bar is not None:
                self.bar.update(len(chunk))
            if not self.double_colon:
                return chunk
            if not chunk:  # end of input: a held-back ':' stays a ':'
                out, self._carry = self._carry, b""
                return out
            out = (self._carry + chunk).replace(b"::", DOUBLE_COLON.encode())
            # An odd ':' at the end may pair with one at the start of the next chunk.
            self._carry = b":" if out.endswith(b":") else b""
            out = out[:-1] if self._carry else out
            if out:
                return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.raw.close()
            if self.bar is not None:
                self.bar.close()


def _open(loc: Location, fmt: TextFormat, *, progress: bool) -> _Stream:
    raw = loc.fs.open_input_stream(loc.path)  # compression detected from the extension
    bar = None
    if progress:
        from tqdm.auto import tqdm  # only when asked for

        size = loc.fs.get_file_info(loc.path).size
        bar = tqdm(total=size, unit="B", unit_scale=True, desc=posixpath.basename(loc.path))
    return _Stream(raw, double_colon=fmt.double_colon, bar=bar)


def _parse_options(fmt: TextFormat, handler: Callable[[Any], str] | None) -> pcsv.ParseOptions:
    return pcsv.ParseOptions(
        delimiter=fmt.delimiter,
        quote_char='"' if fmt.quoting else False,
        ignore_empty_lines=False,  # keeps line numbers physical; blank rows are dropped later
        invalid_row_handler=handler,
    )


def _read_options(fmt: TextFormat, names: list[str] | None, block_size: int) -> pcsv.ReadOptions:
    # Single-threaded: the parser then reports each rejected row's physical line number.
    return pcsv.ReadOptions(
        column_names=names, encoding=fmt.encoding, use_threads=False, block_size=block_size
    )


def text_columns(loc: Location, fmt: TextFormat, name: str | None = None) -> list[str]:
    """The column names in the header line of a text file."""
    name = name or posixpath.basename(loc.path)
    with _open(loc, fmt, progress=False) as stream:
        try:
            reader = pcsv.open_csv(
                stream,
                read_options=_read_options(fmt, None, 1 << 20),
                parse_options=_parse_options(fmt, lambda row: "skip"),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read a header line: {exc}", location=name) from None
        return list(reader.schema.names)


def read_text(
    loc: Location,
    fmt: TextFormat,
    columns: list[str],
    *,
    name: str | None = None,
    progress: bool = False,
) -> Iterator[Rows]:
    """Stream a delimited text file as batches of text rows with physical line numbers.

    ``columns`` names every field of a file without a header, or, for a file with one, the
    columns to keep (an :class:`InputError` names a missing one). Rows with the wrong number
    of fields come as :meth:`Rows.drop` problems of their batch; blank lines are ignored.
    """
    name = name or posixpath.basename(loc.path)
    names = columns
    if fmt.header:
        names = text_columns(loc, fmt, name)
        require_columns(name, names, columns)
    rejected: list[tuple[int, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        problem = f"expected {row.expected_columns} {fmt.label} fields, got {row.actual_columns}"
        rejected.append((row.number, problem if row.text.strip() else ""))  # "": blank line
        return "skip"

    with _open(loc, fmt, progress=progress) as stream:
        try:
            reader = pcsv.open_csv(
                stream,
                read_options=_read_options(fmt, None if fmt.header else names, BLOCK_SIZE),
                parse_options=_parse_options(fmt, on_invalid),
                # All text: blank rows stay recognisable and our conversions report lines.
                convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in names}),
            )
            next_line, used = (2 if fmt.header else 1), 0
            for batch in reader:
                lines, k = _assign_lines(next_line, batch.num_rows, [n for n, _ in rejected[used:]])
                rows = _text_rows(batch, columns, lines, name)
                _add_rejected(rows, rejected[used : used + k])
                used, next_line = used + k, next_line + batch.num_rows + k
                yield rows
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", location=name) from None
    if rejected[used:]:  # rejected lines after the last batch
        empty = pa.table({c: pa.array([], pa.string()) for c in columns})
        rows = Rows(empty, np.zeros(0, np.int64), name)
        _add_rejected(rows, rejected[used:])
        yield rows


def _assign_lines(first: int, n: int, rejected: list[int]) -> tuple[np.ndarray, int]:
    """Line numbers of ``n`` parsed rows from line ``first`` on, around the lines the parser
    rejected; also how many rejected lines fall among them (the parser reads ahead, so
    ``rejected`` may run past this batch)."""
    k = 0
    while k < len(rejected) and rejected[k] < first + n + k:
        k += 1
    lines = np.arange(first, first + n + k, dtype=np.int64)
    if k:
        lines = lines[~np.isin(lines, rejected[:k])]
    return lines, k


def _text_rows(batch: pa.RecordBatch, columns: list[str], lines: np.ndarray, name: str) -> Rows:
    """Rows of ``columns`` of ``batch`` without its blank lines (every field empty)."""
    table = pa.Table.from_batches([batch]).select(columns)
    blank = np.ones(batch.num_rows, dtype=bool)
    for col in batch.columns:
        blank &= _np_bool(pc.equal(col, ""))
    if blank.any():
        keep = ~blank
        table, lines = table.filter(pa.array(keep)), lines[keep]
    return Rows(table, lines, name)


def _add_rejected(rows: Rows, rejected: list[tuple[int, str]]) -> None:
    for line, problem in rejected:
        if problem:
            rows.drop(line, problem)


def parquet_columns(loc: Location, name: str) -> list[str]:
    with loc.fs.open_input_file(loc.path) as f:
        try:
            return list(pq.ParquetFile(f).schema_arrow.names)
        except pa.ArrowInvalid as exc:
            raise InputError(f"not a Parquet file: {exc}", location=name) from None


def read_parquet(
    loc: Location, columns: list[str], *, name: str, progress: bool = False
) -> Iterator[Rows]:
    """Stream columns of a Parquet file as batches; rows are numbered from 1."""
    with loc.fs.open_input_file(loc.path) as f:
        pf = pq.ParquetFile(f)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=pf.metadata.num_rows, unit="rows", desc=name)
        start = 1
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            lines = np.arange(start, start + batch.num_rows, dtype=np.int64)
            start += batch.num_rows
            if bar is not None:
                bar.update(batch.num_rows)
            yield Rows(pa.Table.from_batches([batch]), lines, name, unit="row ")
        if bar is not None:
            bar.close()


def require_columns(file_name: str, have: list[str], wanted: list[str]) -> None:
    """Raise naming the first of ``wanted`` that ``have`` lacks."""
    for column in wanted:
        if column not in have:
            raise InputError(
                f"no column {column!r}; the file has columns {have}", location=file_name
            )


# --------------------------------------------------------------------------- tables


def lists(parents: np.ndarray, values: pa.Array, n: int) -> pa.ListArray:
    """``n`` lists from ``values`` whose row is ``parents`` (sorted ascending)."""
    offsets = np.searchsorted(parents, np.arange(n + 1)).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def empty_maps(n: int) -> pa.MapArray:
    """``n`` empty attribute maps: users whose attributes the source does not give."""
    offsets = pa.array(np.zeros(n + 1, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, pa.array([], pa.string()), pa.array([], pa.string()))


def distinct(parts: list[pa.Array]) -> pa.Array:
    """Sorted distinct string ids over batches."""
    if not parts:
        return pa.array([], pa.string())
    return pc.unique(pa.chunked_array(parts, pa.string())).sort()


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
