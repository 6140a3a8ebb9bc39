"""Reading delimited text and Parquet files in batches of raw values (CSV, TSV, MovieLens
layouts), with line numbers kept for messages."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from entertainai.data.loaders.rows import Rows, np_bool
from entertainai.errors import InputError
from entertainai.fs import Location

logger = logging.getLogger(__name__)

# Source fields a column map may name, and those a log must have.


BLOCK_SIZE = 1 << 24  # 16 MiB of text per batch: ~700k ratings, few Parquet parts for 25M rows
PARQUET_BATCH_ROWS = 1 << 20


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
        blank &= np_bool(pc.equal(col, ""))
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
