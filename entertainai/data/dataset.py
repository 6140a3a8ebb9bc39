"""A dataset: a directory (local or any pyarrow URI) of Parquet tables plus ``manifest.json``.

Layout::

    DIR/manifest.json               schema version, counts, source, content hash, skipped rows
    DIR/<table>/part-00000.parquet  items, users, interactions, texts (each a folder of parts)
    DIR/extras/...                  anything else, e.g. the demo generator's ground truth

The manifest is written last and the whole directory is staged and renamed into place, so a
reader either sees a complete dataset or none.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from entertainai import __version__
from entertainai.data import schemas
from entertainai.errors import InputError, NotFoundError
from entertainai.fs import TMP_MARK, Location, atomic_directory, list_files, resolve, sha256_files

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    schema_version: int
    source: str
    counts: dict[str, int]
    content_hash: str
    created: str
    skipped_rows: dict[str, int] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class DatasetWriter:
    """Stream tables into a new dataset; commits on a clean ``with`` exit, discards otherwise.

    >>> with DatasetWriter("out/", source="demo") as w:
    ...     w.write("interactions", chunk)      # call as often as needed
    """

    def __init__(self, uri: str, *, source: str, overwrite: bool = False) -> None:
        self.final = resolve(uri)
        self.source = source
        self.overwrite = overwrite
        self.skipped_rows: dict[str, int] = {}
        self.info: dict[str, Any] = {}
        self._parts: dict[str, int] = {}
        self._counts: dict[str, int] = {name: 0 for name in schemas.TABLES}
        self._ctx: Any = None
        self.root: Location | None = None
        self.manifest: Manifest | None = None

    def __enter__(self) -> DatasetWriter:
        if self.final.exists() and not self.overwrite:
            if self.final.listdir():
                raise InputError(
                    "already exists and is not empty (pass overwrite to replace it)",
                    location=str(self.final),
                )
            self.final.fs.delete_dir(self.final.path)
        self._ctx = atomic_directory(self.final, overwrite=self.overwrite)
        self.root = self._ctx.__enter__()
        return self

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` (conformed to the schema of ``name``) as one more Parquet part."""
        assert self.root is not None, "use DatasetWriter in a with block"
        table = schemas.conform(table, name)
        part = self._parts.get(name, 0)
        directory = self.root.join(name)
        directory.fs.create_dir(directory.path, recursive=True)
        pq.write_table(
            table, directory.join(f"part-{part:05d}.parquet").path, filesystem=self.root.fs
        )
        self._parts[name] = part + 1
        self._counts[name] += table.num_rows

    def write_extra(self, relpath: str, data: bytes) -> None:
        """Store a side file (e.g. ground truth) under ``extras/``; it is part of the content hash."""
        assert self.root is not None
        target = self.root.join("extras", relpath)
        target.fs.create_dir(posixpath.dirname(target.path), recursive=True)
        with target.fs.open_output_stream(target.path) as f:
            f.write(data)

    def skip(self, source_file: str, n: int = 1) -> None:
        self.skipped_rows[source_file] = self.skipped_rows.get(source_file, 0) + n

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.root is not None and self._ctx is not None
        if exc_type is None:
            try:
                self._commit()
            except BaseException as commit_error:  # discard the staging directory, then re-raise
                self._ctx.__exit__(type(commit_error), commit_error, commit_error.__traceback__)
                raise
        self._ctx.__exit__(exc_type, exc, tb)

    def _commit(self) -> None:
        assert self.root is not None
        for name in schemas.TABLES:  # every table exists, even if empty
            if name not in self._parts:
                self.write(name, schemas.empty(name))
        self.manifest = write_manifest(
            self.root,
            source=self.source,
            counts=dict(self._counts),
            skipped_rows=dict(self.skipped_rows),
            info={"code_version": __version__, **self.info},
        )


def write_manifest(
    root: Location,
    *,
    source: str,
    counts: dict[str, int],
    skipped_rows: dict[str, int],
    info: dict[str, Any],
) -> Manifest:
    """Hash every file under ``root`` and write its manifest last (what makes it a dataset)."""
    files = [f for f in list_files(root) if f != MANIFEST]
    manifest = Manifest(
        schema_version=schemas.SCHEMA_VERSION,
        source=source,
        counts=counts,
        content_hash=sha256_files(root, files),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        skipped_rows=skipped_rows,
        info=info,
    )
    root.join(MANIFEST).write_bytes(manifest.to_json().encode())
    return manifest


def refresh_manifest(root: Location, *, source: str = "event-log") -> Manifest:
    """(Re)write the manifest of a dataset whose parts were added or rewritten in place
    (event-log compaction, erasure), so readers see the new parts consistently.

    Keeps an existing manifest's source, skipped rows and info; recounts rows from Parquet
    footers and rehashes the content (O(dataset size), paid once per compaction or erasure).
    """
    root.fs.create_dir(root.path, recursive=True)
    for name in schemas.TABLES:  # crashed temp writes must not enter the content hash
        folder = root.join(name)
        for stray in [n for n in folder.listdir() if TMP_MARK in n]:
            root.fs.delete_file(folder.join(stray).path)
    marker = root.join(MANIFEST)
    old = Manifest.from_json(marker.read_bytes().decode()) if marker.exists() else None
    return write_manifest(
        root,
        source=old.source if old else source,
        counts={name: _row_count(root.join(name)) for name in schemas.TABLES},
        skipped_rows=old.skipped_rows if old else {},
        info=old.info if old else {"code_version": __version__},
    )


def _row_count(folder: Location) -> int:
    total = 0
    for name in folder.listdir():
        if name.endswith(".parquet"):
            with folder.fs.open_input_file(folder.join(name).path) as f:
                total += pq.ParquetFile(f).metadata.num_rows
    return total


class Dataset:
    """Read access to a committed dataset."""

    def __init__(self, root: Location, manifest: Manifest) -> None:
        self.root = root
        self.manifest = manifest

    @classmethod
    def open(cls, uri: str) -> Dataset:
        root = resolve(uri)
        marker = root.join(MANIFEST)
        if not marker.exists():
            if not root.exists():
                raise NotFoundError(f"{root}: no such dataset directory")
            raise NotFoundError(f"{root}: not a dataset (no {MANIFEST}; incomplete or not ours)")
        manifest = Manifest.from_json(marker.read_bytes().decode())
        if manifest.schema_version > schemas.SCHEMA_VERSION:
            raise InputError(
                f"schema version {manifest.schema_version} is newer than this code "
                f"({schemas.SCHEMA_VERSION})",
                location=str(marker),
            )
        return cls(root, manifest)

    @property
    def uri(self) -> str:
        return str(self.root)

    def _parts(self, name: str) -> list[str]:
        if name not in schemas.TABLES:
            raise InputError(f"unknown table {name!r}; expected one of {sorted(schemas.TABLES)}")
        return [
            self.root.join(name, p).path
            for p in self.root.join(name).listdir()
            if p.endswith(".parquet")
        ]

    def table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        parts = self._parts(name)
        if not parts:
            return schemas.empty(name).select(columns) if columns else schemas.empty(name)
        tables = [pq.read_table(p, columns=columns, filesystem=self.root.fs) for p in parts]
        return pa.concat_tables(tables)

    def iter_batches(
        self, name: str, batch_size: int = 1 << 16, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream a table without loading it whole."""
        for path in self._parts(name):
            with self.root.fs.open_input_file(path) as f:
                yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)

    def extra(self, relpath: str) -> bytes:
        loc = self.root.join("extras", relpath)
        if not loc.exists():
            raise NotFoundError(f"{loc}: no such extra in dataset {self.uri}")
        return loc.read_bytes()

    def verify(self) -> None:
        """Recompute the content hash; raise if the files changed since the manifest was written."""
        files = [f for f in list_files(self.root) if f != MANIFEST]
        actual = sha256_files(self.root, files)
        if actual != self.manifest.content_hash:
            raise InputError(
                "content hash does not match the manifest (modified or corrupt)",
                location=str(self.root),
            )

    @property
    def items(self) -> pa.Table:
        return self.table("items")

    @property
    def users(self) -> pa.Table:
        return self.table("users")

    @property
    def interactions(self) -> pa.Table:
        return self.table("interactions")

    @property
    def texts(self) -> pa.Table:
        return self.table("texts")
