"""Row-level reading both loaders share: a batch of raw values converted field by field.

:class:`Rows` marks bad rows instead of failing, so one pass can either report the earliest
problem as ``file:line`` or drop and count every bad row (``skip_bad_rows``, :class:`BadRows`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.data.dataset import DatasetWriter
from entertainai.errors import InputError

logger = logging.getLogger(__name__)

# Source fields a column map may name, and those a log must have.
TIMESTAMP_UNITS = {"s": 1000, "ms": 1}  # multiplier to milliseconds


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
        self.reject(np_bool(empty), lambda i: f"field {name!r} is empty")

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
        bad = np_bool(pc.invert(pc.is_finite(col)))  # null, nan and inf
        self.reject(bad, lambda i: f"field {name!r}: {_show(raw[i])} is not a number")
        col = pc.if_else(pa.array(bad), 0.0, col)
        return col if empty is None else pc.if_else(empty, pa.scalar(None, pa.float64()), col)

    def _parse(
        self, name: str, col: pa.Array, pattern: str, to: pa.DataType, what: str
    ) -> pa.Array:
        """Slow path: find the rows that do not parse, then convert the rest."""
        trimmed = pc.utf8_trim_whitespace(col)
        good = np_bool(pc.match_substring_regex(trimmed, pattern), null=False)
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


def np_bool(mask: pa.Array | pa.ChunkedArray, *, null: bool = True) -> np.ndarray:
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
