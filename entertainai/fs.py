"""Filesystem helpers over pyarrow: local paths and any pyarrow URI (s3://, gs://, file://).

Both datasets and the model registry write through :func:`atomic_directory`, so a crash
mid-write never leaves something that loads: locally a temp directory is renamed into place;
on object stores (no atomic rename) the marker file (manifest/metadata) is written last and
readers refuse a directory without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.fs as pafs


@dataclass(frozen=True)
class Location:
    """A filesystem plus a path on it."""

    fs: pafs.FileSystem
    path: str

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def join(self, *parts: str) -> Location:
        return Location(self.fs, posixpath.join(self.path, *parts))

    def exists(self) -> bool:
        return self.fs.get_file_info(self.path).type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self.fs.get_file_info(self.path).type == pafs.FileType.Directory

    def read_bytes(self) -> bytes:
        with self.fs.open_input_stream(self.path) as f:
            return f.read()

    def write_bytes(self, data: bytes) -> None:
        """Write a whole file atomically where the filesystem allows (temp + rename locally)."""
        if self.is_local:
            replace_file(self.path, data)
        else:  # object stores replace whole objects atomically on PUT
            with self.fs.open_output_stream(self.path) as f:
                f.write(data)

    def listdir(self) -> list[str]:
        """Names directly under this directory (empty if it does not exist)."""
        if not self.exists():
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.path, recursive=False))
        return sorted(posixpath.basename(i.path) for i in infos)

    def __str__(self) -> str:
        return self.path if self.is_local else f"{self.fs.type_name}://{self.path}"


TMP_MARK = ".tmp-"  # in the name of a temp file not yet renamed into place


def fsync_dir(path: str) -> None:
    """Make a directory's entries durable: a new or renamed file is durable only once they are."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: str, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to the local ``path`` atomically: temp file, fsync, rename, directory fsync.

    ``fsync=False`` keeps the atomic rename but survives only a process crash, not power loss.
    """
    tmp = f"{path}{TMP_MARK}{uuid.uuid4().hex}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if fsync:
        fsync_dir(os.path.dirname(path))


def resolve(uri: str | os.PathLike[str]) -> Location:
    """Turn a local path or a pyarrow filesystem URI into a :class:`Location`."""
    text = os.fspath(uri)
    if "://" in text and not text.startswith("file://"):
        fs, path = pafs.FileSystem.from_uri(text)
        return Location(fs, path.rstrip("/"))
    if text.startswith("file://"):
        text = text[len("file://") :]
    return Location(pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text)))


@contextlib.contextmanager
def atomic_directory(final: Location, *, overwrite: bool = False) -> Iterator[Location]:
    """Yield a staging directory that becomes ``final`` only if the block succeeds.

    Locally the staging directory is a sibling renamed into place (atomic on POSIX); a
    failure removes it. On object stores the caller writes its marker file last.
    """
    parent = posixpath.dirname(final.path)
    final.fs.create_dir(parent, recursive=True)
    if not final.is_local:
        yield final
        return
    staging = Location(
        final.fs,
        posixpath.join(parent, f".{posixpath.basename(final.path)}.tmp-{uuid.uuid4().hex}"),
    )
    final.fs.create_dir(staging.path)
    try:
        yield staging
        _fsync_tree(staging.path)
        if overwrite and final.exists():
            trash = f"{final.path}.old-{uuid.uuid4().hex}"
            os.rename(final.path, trash)
            os.rename(staging.path, final.path)
            final.fs.delete_dir(trash)
        else:
            # os.rename refuses to replace a non-empty directory: a concurrent writer loses cleanly.
            os.rename(staging.path, final.path)
    except BaseException:
        with contextlib.suppress(Exception):
            final.fs.delete_dir(staging.path)
        raise


def _fsync_tree(root: str) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def sha256_files(loc: Location, names: list[str]) -> str:
    """One content hash over several files under ``loc`` (names in the given order)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        with loc.fs.open_input_stream(posixpath.join(loc.path, name)) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def list_files(loc: Location) -> list[str]:
    """Relative paths of every file under ``loc``, sorted."""
    infos = loc.fs.get_file_info(pafs.FileSelector(loc.path, recursive=True))
    return sorted(
        posixpath.relpath(i.path, loc.path) for i in infos if i.type == pafs.FileType.File
    )
