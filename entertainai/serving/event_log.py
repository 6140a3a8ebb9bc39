"""A durable, append-only log of real-time interactions: the ingestion path of the Serve app.

Layout::

    DIR/LOCK                        flock'd by the one process that has the log open
    DIR/log.json                    this log's random id, which names its Parquet parts
    DIR/segments/seg-000001.jsonl   JSON lines: the events of a batch, then {"commit":N}
    DIR/compacted.json              segments already rolled into Parquet, and where

Durability contract: :meth:`EventLog.append` returns only after the whole batch and its
commit line are written and fsynced, so the caller acknowledges a batch only once it
survives ``kill -9`` (and, with ``fsync=True``, power loss). A batch is all-or-nothing:
lines after the last commit line belong to a write that was cut short and never
acknowledged, so reopening truncates them (with a warning) and a client retry does not
count those events twice.

Each replica opens the lowest free slot of its node, ``ROOT/<node>-<slot>/`` (:func:`open_slot`):
a replica that restarts, or is downscaled and comes back, reopens a log it or a sibling left,
so none is orphaned under a dead random id, and a log whose lock is free belongs to no live
replica (erasure then rewrites it in place: :mod:`entertainai.serving.forget`).

Closed segments are rolled into ``interactions/part-events-<log id>-NNNNNN.parquet`` of a
dataset (:mod:`entertainai.data.dataset` layout) by :meth:`EventLog.compact`; one part per
segment, named after it, so re-running a compaction that crashed half-way overwrites rather
than duplicates, and the logs of several replicas can share one dataset. Their compactions
must not run at the same time, though: each rewrites the dataset's manifest.

:func:`read_committed` reads a log without opening it (no lock, nothing written): what an
exporter on another process or node uses while the replica keeps appending
(:mod:`entertainai.serving.export`).
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import logging
import os
import posixpath
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from entertainai.data import schemas
from entertainai.data.dataset import refresh_manifest
from entertainai.errors import ArtifactError, InputError, Unavailable
from entertainai.fs import TMP_MARK, Location, fsync_dir, replace_file, resolve
from entertainai.serving.event_validation import DEFAULT_MAX_FUTURE_S, Event, check_event
from entertainai.serving.pseudonyms import Pseudonymizer

log = logging.getLogger(__name__)

SEGMENTS = "segments"
COMPACTED = "compacted.json"
LOCK = "LOCK"
LOG_INFO = "log.json"
PART_PREFIX = "part-events-"

MAX_SLOTS = 1024  # replicas of one node sharing an event root

_SEGMENT_RE = re.compile(r"^seg-(\d{6,})\.jsonl$")
_COMMIT_PREFIX = b'{"commit":'


#: Given the distinct user ids a file holds, the ones to erase (``UserMatcher.hits``).
Hits = Callable[[Iterable[str]], set[str]]


class LogInUse(InputError):
    """Another process holds the log's lock (a live replica)."""


# errnos that mean "no room": the operator must free space (HTTP 507), not wait (503).
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_PROBE = ".probe"
_PROBE_BYTES = 4096  # one page: enough for the next batch of a few events to fit


class LogWriteFailed(Unavailable):
    """An append failed on the disk (full, or an I/O error); nothing of the batch was recorded.

    The log heals itself: the next append (or :meth:`EventLog.heal`) retries, so writes resume
    once the disk is back, without a restart. ``disk_full`` tells "free space" from "retry".
    """

    def __init__(self, message: str, *, disk_full: bool) -> None:
        self.disk_full = disk_full
        super().__init__(message)


# --------------------------------------------------------------------------- line format


def _encode(event: Event) -> bytes:
    # Field order is fixed so every event line starts with b'{"user_id":' (cheap counting).
    record = {
        "user_id": event.user_id,
        "item_id": event.item_id,
        "event_type": event.event_type,
        "value": event.value,
        "timestamp": event.timestamp,
        "device": event.device,
    }
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode() + b"\n"


def _commit_line(n: int) -> bytes:
    return b'{"commit":%d}\n' % n


def _batch_bytes(events: Sequence[Event]) -> bytes:
    return b"".join(_encode(e) for e in events) + _commit_line(len(events)) if events else b""


@dataclass
class _Scan:
    events: list[Event]
    committed_bytes: int  # length of the prefix that ends with the last commit line
    torn_lines: int  # lines after it, a partial one included


def _scan(data: bytes, name: str) -> _Scan:
    """Parse a segment; events of batches without a commit line are not returned.

    A bad line followed by a later commit is corruption, not a torn tail: raise.
    """
    events: list[Event] = []
    pending: list[Event] = []
    committed = 0
    bad_line: int | None = None
    pos, lineno = 0, 0
    while (end := data.find(b"\n", pos)) >= 0:
        line, pos, lineno = data[pos:end], end + 1, lineno + 1
        if line.startswith(_COMMIT_PREFIX):
            n = _parse_commit(line)
            if bad_line is not None or n != len(pending):
                raise ArtifactError(
                    f"{name}:{bad_line or lineno}: corrupt event log (damaged line inside a "
                    "committed batch)"
                )
            events.extend(pending)
            pending = []
            committed = pos
        elif bad_line is None:
            try:
                pending.append(Event(**json.loads(line)))
            except (ValueError, TypeError):
                bad_line = lineno
    tail = data[committed:]
    torn = tail.count(b"\n") + (1 if tail and not tail.endswith(b"\n") else 0)
    return _Scan(events, committed, torn)


def _parse_commit(line: bytes) -> int:
    try:
        return int(json.loads(line)["commit"])
    except (ValueError, KeyError, TypeError):
        return -1  # never matches a batch size: reported as corruption


# --------------------------------------------------------------------------- file helpers


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _segment_number(name: str) -> int:
    match = _SEGMENT_RE.match(name)
    assert match, name
    return int(match.group(1))


def _segment_name(number: int) -> str:
    return f"seg-{number:06d}.jsonl"


# --------------------------------------------------------------------------- Parquet side


def _to_table(events: Sequence[Event]) -> pa.Table:
    table = pa.table(
        {
            "user_id": pa.array([e.user_id for e in events], pa.string()),
            "item_id": pa.array([e.item_id for e in events], pa.string()),
            "event_type": pa.array([e.event_type for e in events], pa.string()),
            "value": pa.array([e.value for e in events], pa.float32()),
            "timestamp": pa.array([round(e.timestamp * 1000) for e in events], schemas.TIMESTAMP),
            "device": pa.array([e.device for e in events], pa.string()),
        }
    )
    return schemas.conform(table, "interactions")


def _write_parquet(loc: Location, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    loc.fs.create_dir(posixpath.dirname(loc.path), recursive=True)
    loc.write_bytes(sink.getvalue().to_pybytes())  # temp + rename locally, one PUT remotely


def _event_parts(dataset: Location, log_id: str) -> list[str]:
    """This log's parts in ``dataset`` (other logs' parts are theirs to erase from)."""
    prefix = f"{PART_PREFIX}{log_id}-"
    folder = dataset.join("interactions")
    return [n for n in folder.listdir() if n.startswith(prefix) and n.endswith(".parquet")]


# --------------------------------------------------------------------------- read-only access


def is_log_dir(loc: Location) -> bool:
    """Whether ``loc`` holds an event log (written by :class:`EventLog`, open or not)."""
    return loc.join(LOG_INFO).exists() or loc.join(SEGMENTS).is_dir()


def read_log_id(loc: Location) -> str | None:
    """A log's persistent id without opening it (None before its first open)."""
    marker = loc.join(LOG_INFO)
    try:
        log_id = json.loads(marker.read_bytes())["log_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return log_id if isinstance(log_id, str) else None


def node_name() -> str:
    """This machine's name as a log directory prefix (the host name, made path-safe).

    The host rather than the Ray node id: Ray gives a node a new id whenever it restarts, while
    the disk holding the event root (and the host name of the machine or pod it belongs to)
    stays, and a restarted replica should find its log again.
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()).strip(".") or "node"


def open_slot(event_dir: str, node: str | None = None, **kwargs: Any) -> EventLog:
    """Open ``event_dir/<node>-<slot>`` for the lowest slot no live process holds.

    A slot is taken by its ``flock``, so a replica that died or was downscaled frees it and
    the next replica to start (often the same one, restarted) reopens that log and replays
    it. ``kwargs`` go to :class:`EventLog`.
    """
    node = node or node_name()
    for slot in range(MAX_SLOTS):
        try:
            return EventLog(os.path.join(event_dir, f"{node}-{slot}"), **kwargs)
        except LogInUse:
            continue
    raise InputError(f"all {MAX_SLOTS} event log slots of {node} are in use", location=event_dir)


def read_committed(directory: str | os.PathLike[str] | Location) -> pa.Table:
    """Every committed event of one log, as an interactions table, without opening the log.

    Takes no lock and writes nothing, so it is safe beside the replica appending to the log
    (local path or any pyarrow URI): a batch is read only once its commit line is there, an
    erasure's atomic rewrite is seen whole or not at all. Events already compacted are read
    from the Parquet parts ``compacted.json`` lists. ``compacted.json`` is read after the
    segments, so an event a concurrent compaction moves is read at least once; one read twice
    (segment and part) is the same row twice, for the caller to deduplicate.
    """
    loc = directory if isinstance(directory, Location) else resolve(directory)
    segdir = loc.join(SEGMENTS)
    names = sorted((n for n in segdir.listdir() if _SEGMENT_RE.match(n)), key=_segment_number)
    tables = []
    for name in names:
        try:
            data = segdir.join(name).read_bytes()
        except FileNotFoundError:  # compacted since the listing: read from its part below
            continue
        events = _scan(data, f"{segdir.join(name)}").events
        if events:
            tables.append(_to_table(events))
    marker = loc.join(COMPACTED)
    if marker.exists():
        try:
            entries = json.loads(marker.read_bytes())["segments"].values()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"{marker}: unreadable ({exc})") from None
        for entry in entries:
            if not entry.get("part"):
                continue  # a segment that held no events
            part = resolve(entry["dataset"]).join(entry["part"])
            try:
                with part.fs.open_input_file(part.path) as f:
                    tables.append(schemas.conform(pq.read_table(f), "interactions"))
            except FileNotFoundError:
                log.warning("event log %s: compacted part %s is missing; skipped", loc, part)
    return pa.concat_tables(tables) if tables else schemas.empty("interactions")


# --------------------------------------------------------------------------- the log


class EventLog:
    """Append-only, crash-safe event log in ``directory`` (one writer process at a time).

    ``fsync=False`` still survives a process crash (the data is in the page cache) but not
    power loss; use it only for tests and benchmarks. With a ``pseudonymizer`` user ids are
    stored pseudonymised: :meth:`replay` and the Parquet output carry pseudonyms.

    After opening, ``truncated_lines`` says how many torn lines recovery dropped and
    ``log_id`` is this log's persistent id (it names its Parquet parts).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_max_events: int = 100_000,
        fsync: bool = True,
        pseudonymizer: Pseudonymizer | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
    ) -> None:
        if segment_max_events < 1:
            raise InputError("must be at least 1", location="segment_max_events")
        self.directory = os.path.abspath(os.fspath(directory))
        self.segment_max_events = segment_max_events
        self.fsync = fsync
        self.max_future_s = max_future_s
        self._pseudonymizer = pseudonymizer
        self._segdir = os.path.join(self.directory, SEGMENTS)
        # _lock guards the active file and counters (held briefly by append); _maintenance
        # serialises compact/erase so a slow compaction does not block ingestion.
        # Order: _maintenance before _lock.
        self._lock = threading.Lock()
        self._maintenance = threading.Lock()
        self._fd: int | None = None
        self._closed = False
        self._broken = False  # the active file may hold unacknowledged bytes: heal first
        self._failure: OSError | None = None  # the last write failure, until a write succeeds
        self._failed_since: float | None = None
        self.truncated_lines = 0  # torn lines dropped when this instance opened the log
        os.makedirs(self._segdir, exist_ok=True)
        self._lock_fd = self._acquire_process_lock()
        try:
            self._recover()
        except BaseException:
            os.close(self._lock_fd)
            raise

    # ----------------------------------------------------------------- open / close

    def _acquire_process_lock(self) -> int:
        # Two writers would interleave batches and break the commit structure.
        fd = os.open(os.path.join(self.directory, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogInUse(
                "event log is already open (one writer per directory: give each replica its own)",
                location=self.directory,
            ) from None
        return fd

    def _recover(self) -> None:
        self.log_id = self._load_log_id()
        self._compacted, self._datasets = self._load_compacted()
        names = sorted(
            (n for n in os.listdir(self._segdir) if _SEGMENT_RE.match(n)), key=_segment_number
        )
        for stray in (n for n in os.listdir(self._segdir) if TMP_MARK in n):
            os.remove(os.path.join(self._segdir, stray))  # a rewrite that never got renamed
        finished = [n for n in names if n in self._compacted]
        for name in finished:  # crash after compacted.json, before deletion: finish it
            os.remove(os.path.join(self._segdir, name))
        if finished:
            log.info("event log %s: removed %d already-compacted segments", self, len(finished))
            fsync_dir(self._segdir)
        self._live = [n for n in names if n not in self._compacted]
        self._live_events = sum(self._quick_count(n) for n in self._live[:-1])
        if self._live:
            self._active_events = self._repair_tail(self._live[-1])
            self._live_events += self._active_events
            self._open_active(self._live[-1])
        else:
            used = [_segment_number(n) for n in self._compacted] or [0]
            self._start_segment(max(used) + 1)

    def _quick_count(self, name: str) -> int:
        # Closed segments were fully committed when closed; count event lines without parsing.
        with open(os.path.join(self._segdir, name), "rb") as f:
            data = f.read()
        return data.count(b'\n{"user_id":') + data.startswith(b'{"user_id":')

    def _repair_tail(self, name: str) -> int:
        """Truncate an uncommitted tail (a write cut short by a crash); return the event count."""
        path = os.path.join(self._segdir, name)
        with open(path, "rb") as f:
            data = f.read()
        scan = _scan(data, name)
        if scan.committed_bytes < len(data):
            log.warning(
                "event log %s: truncated %d unacknowledged line(s) (%d bytes) at the end of %s "
                "left by an interrupted write",
                self,
                scan.torn_lines,
                len(data) - scan.committed_bytes,
                name,
            )
            with open(path, "r+b") as f:
                f.truncate(scan.committed_bytes)
                f.flush()
                os.fsync(f.fileno())
        self.truncated_lines = scan.torn_lines
        return len(scan.events)

    def _open_active(self, name: str) -> None:
        path = os.path.join(self._segdir, name)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._active_size = os.fstat(self._fd).st_size

    def _start_segment(self, number: int) -> None:
        name = _segment_name(number)
        self._open_active(name)
        self._live.append(name)  # before the fsync: a failed one leaves a consistent state
        self._active_events = 0
        if self.fsync:
            fsync_dir(self._segdir)

    def close(self) -> None:
        """Release the file and the process lock; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.close(self._lock_fd)  # releases the flock

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLog({self.directory!r})"

    def __str__(self) -> str:
        return self.directory

    # ----------------------------------------------------------------- writing

    def append(self, events: Sequence[Event]) -> int:
        """Validate, write, flush and fsync one batch; return its size once it is durable.

        All-or-nothing: an invalid event rejects the whole batch (:class:`InputError` naming
        its index and field) and nothing is written.
        """
        if not events:
            return 0
        now = time.time()
        for i, event in enumerate(events):
            check_event(event, now=now, max_future_s=self.max_future_s, where=f"event {i}, ")
        if self._pseudonymizer is not None:
            pseudo = self._pseudonymizer.pseudonymize
            events = [dataclasses.replace(e, user_id=pseudo(e.user_id)) for e in events]
        payload = _batch_bytes(events)
        with self._lock:
            self._check_writable()
            try:
                if self._active_events >= self.segment_max_events:
                    self._rotate_locked()
                self._write_locked(payload)
            except OSError as exc:
                self._broken = True  # whichever step failed, the next write heals first
                raise self._failed(exc) from None
            self._active_events += len(events)
            self._live_events += len(events)
            self._failure = self._failed_since = None  # a write got through: healthy
        return len(events)

    def _check_writable(self) -> None:
        if self._closed:
            raise ArtifactError(f"event log {self} is closed")
        if self._broken or self._fd is None:
            try:
                self._heal_locked()
            except OSError as exc:
                raise self._failed(exc) from None

    def _failed(self, exc: OSError) -> LogWriteFailed:
        """Remember a write failure (``status``, ``/readyz``) and describe it for the client."""
        disk_full = exc.errno in _NO_SPACE
        if self._failure is None:
            self._failed_since = time.time()
            log.error("event log %s: write failed (%s); refusing events until it heals", self, exc)
        self._failure = exc
        what = "the disk is full" if disk_full else f"an I/O error ({exc.strerror or exc})"
        return LogWriteFailed(
            f"events not recorded: {what}; nothing of this batch was kept, retry "
            + ("once space is freed" if disk_full else "shortly"),
            disk_full=disk_full,
        )

    def status(self) -> dict[str, Any]:
        """``ok`` until a write fails, then the error (``disk_full``?) and since when."""
        with self._lock:
            exc = self._failure
            return {
                "ok": exc is None,
                "error": None if exc is None else (exc.strerror or str(exc)),
                "disk_full": exc is not None and exc.errno in _NO_SPACE,
                "since": self._failed_since,
            }

    def heal(self) -> bool:
        """After a failed write, check the disk again (what ``/readyz`` calls): reopen the active
        segment, drop any unacknowledged bytes, and write a probe page. True once healthy."""
        with self._lock:
            if self._closed:
                return False
            if self._failure is None and not self._broken:
                return True
            try:
                self._heal_locked()
            except OSError as exc:
                self._failed(exc)
                return False
            log.warning("event log %s: writable again after a failed write", self)
            self._failure = self._failed_since = None
            return True

    def _heal_locked(self) -> None:
        # After a failed fsync the kernel may have dropped dirty pages, so what the file holds
        # past the last acknowledged batch is unknown: reopen it and cut it back to that size.
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        fd = os.open(os.path.join(self._segdir, self._live[-1]), os.O_WRONLY | os.O_APPEND)
        try:
            os.ftruncate(fd, self._active_size)
            if self.fsync:
                os.fsync(fd)
                fsync_dir(self._segdir)
            self._probe()
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._broken = False

    def _probe(self) -> None:
        """Write, sync and remove a page beside the log: fails as the next append would."""
        path = os.path.join(self.directory, _PROBE)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, b"\0" * _PROBE_BYTES)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
            os.remove(path)

    def _write_locked(self, payload: bytes) -> None:
        assert self._fd is not None
        try:
            _write_all(self._fd, payload)
        except OSError:  # e.g. disk full: roll back the partial batch and stay usable
            self._rollback()
            raise
        if self.fsync:
            try:
                os.fsync(self._fd)
            except OSError:
                # What is on disk is unknown now: no write until _heal_locked cut it back.
                self._broken = True
                raise
        self._active_size += len(payload)

    def _rollback(self) -> None:
        # The next batch must not land after an uncommitted fragment.
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._active_size)
        except OSError:
            self._broken = True
            log.exception("event log %s: could not roll back a failed write", self)

    def _rotate_locked(self) -> None:
        assert self._fd is not None
        os.close(self._fd)  # every batch in it is already fsynced
        self._fd = None  # if the next segment cannot be opened, healing reopens this one
        self._start_segment(_segment_number(self._live[-1]) + 1)

    # ----------------------------------------------------------------- reading

    def count(self) -> int:
        """Events held: in live segments plus those compacted into Parquet."""
        with self._lock:
            return self._live_events + sum(c["events"] for c in self._compacted.values())

    def replay(self) -> Iterator[Event]:
        """Committed events of the live (not yet compacted) segments, oldest first.

        Compacted events live in the dataset :meth:`compact` wrote. Meant for rebuilding
        state at start-up; a compaction running meanwhile moves segments out of its way.
        """
        with self._lock:
            names = list(self._live)
        for name in names:
            try:
                with open(os.path.join(self._segdir, name), "rb") as f:
                    data = f.read()
            except FileNotFoundError:  # compacted since the snapshot: its events are in Parquet
                continue
            yield from _scan(data, name).events

    # ----------------------------------------------------------------- compaction

    def compact(self, dataset_dir: str, *, include_active: bool = False) -> int:
        """Roll closed segments into ``dataset_dir/interactions/part-events-*.parquet``.

        Order makes a crash anywhere safe: Parquet parts (named after their segment, so a
        rerun overwrites) → dataset manifest → ``compacted.json`` (the commit point; replay
        skips listed segments) → segment deletion (finished on the next open). Returns the
        number of events compacted. ``include_active`` first closes the active segment.
        """
        dataset = resolve(dataset_dir)
        with self._maintenance:
            with self._lock:
                self._check_writable()
                if include_active and self._active_events:
                    self._rotate_locked()
                closed = self._live[:-1]
            if not closed:
                return 0
            if str(dataset) not in self._datasets:
                # Record the target first, so erase_user also finds parts of an interrupted run.
                self._datasets.append(str(dataset))
                self._save_compacted()
            done = {name: self._compact_segment(name, dataset) for name in closed}
            refresh_manifest(dataset)
            with self._lock:
                self._compacted.update(done)
                self._save_compacted()
                self._live = [n for n in self._live if n not in done]
                moved = sum(entry["events"] for entry in done.values())
                self._live_events -= moved
            for name in closed:
                os.remove(os.path.join(self._segdir, name))
            fsync_dir(self._segdir)
        log.info("event log %s: compacted %d events into %s", self, moved, dataset)
        return moved

    def _compact_segment(self, name: str, dataset: Location) -> dict[str, Any]:
        with open(os.path.join(self._segdir, name), "rb") as f:
            events = _scan(f.read(), name).events
        part = None
        if events:
            part = f"interactions/{PART_PREFIX}{self.log_id}-{_segment_number(name):06d}.parquet"
            _write_parquet(dataset.join(part), _to_table(events))
        return {"dataset": str(dataset), "part": part, "events": len(events)}

    def _load_log_id(self) -> str:
        path = os.path.join(self.directory, LOG_INFO)
        if not os.path.exists(path):
            body = json.dumps({"version": 1, "log_id": uuid.uuid4().hex[:12]}).encode()
            replace_file(path, body, fsync=True)
        try:
            with open(path, "rb") as f:
                log_id = json.loads(f.read())["log_id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{path}: unreadable ({exc})") from None
        if not isinstance(log_id, str) or not re.fullmatch(r"[0-9a-f]{1,32}", log_id):
            raise ArtifactError(f"{path}: log_id must be lowercase hex")
        return log_id

    def _load_compacted(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        path = os.path.join(self.directory, COMPACTED)
        if not os.path.exists(path):
            return {}, []
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
            return dict(data["segments"]), list(data["datasets"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{path}: unreadable ({exc})") from None

    def _save_compacted(self) -> None:
        data = {"version": 1, "datasets": self._datasets, "segments": self._compacted}
        body = json.dumps(data, indent=1, sort_keys=True).encode()
        replace_file(os.path.join(self.directory, COMPACTED), body, fsync=True)

    # ----------------------------------------------------------------- erasure

    def erase_user(self, user_id: str) -> int:
        """Remove every event of ``user_id`` from segments and compacted Parquet (GDPR).

        Each file is rewritten atomically. Returns how many events were removed. Pass the
        raw id: it is pseudonymised here when the log stores pseudonyms. Appends wait only
        while the active segment is rewritten.
        """
        return self.erase_stored(self.stored_id(user_id))

    def stored_id(self, user_id: str) -> str:
        """The id as this log stores it (the pseudonym when pseudonymisation is on)."""
        return self._pseudonymizer.pseudonymize(user_id) if self._pseudonymizer else user_id

    def erase_stored(self, stored: str) -> int:
        """:meth:`erase_user` by the stored id (erasure requests relayed between replicas)."""
        return self.erase_matching(lambda ids: {stored} & set(ids))

    def erase_matching(self, hits: Hits) -> int:
        """Remove the events of every user ``hits`` picks (from each file's distinct ids).

        What the erasure ledger uses: it holds keyed hashes, not ids, so a log is matched by
        hashing the ids it holds. Each file is rewritten atomically, only if it changes.
        """
        with self._maintenance:
            with self._lock:
                self._check_writable()
                closed = self._live[:-1]
            # Closed segments never change under appends, so ingestion goes on meanwhile.
            removed = sum(self._erase_from_segment(name, hits) for name in closed)
            with self._lock:
                self._live_events -= removed
                for name in self._live[len(closed) :]:  # the active one (and any rotated since)
                    n = self._erase_from_segment(name, hits, active=name == self._live[-1])
                    self._live_events -= n
                    removed += n
            removed += self._erase_from_datasets(hits)
        log.info("event log %s: erased %d events", self, removed)  # ids never logged
        return removed

    def _erase_from_segment(self, name: str, hits: Hits, *, active: bool = False) -> int:
        path = os.path.join(self._segdir, name)
        with open(path, "rb") as f:
            events = _scan(f.read(), name).events
        gone = hits({e.user_id for e in events}) if events else set()
        if not gone:
            return 0
        keep = [e for e in events if e.user_id not in gone]
        if active and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            replace_file(path, _batch_bytes(keep), fsync=True)
        finally:
            if active:
                self._open_active(name)  # the old descriptor points at the replaced file
        if active:
            self._active_events = len(keep)
        return len(events) - len(keep)

    def _erase_from_datasets(self, hits: Hits) -> int:
        by_part = {
            (entry["dataset"], entry["part"]): name
            for name, entry in self._compacted.items()
            if entry["part"]
        }
        removed = 0
        for uri in self._datasets:
            dataset = resolve(uri)
            stale = False
            for part in _event_parts(dataset, self.log_id):
                before, after = erase_from_part(dataset.join("interactions", part), hits)
                stale = stale or after < before
                segment = by_part.get((uri, f"interactions/{part}"))
                if segment is None:
                    continue  # an orphan of a crashed compaction: its segment counts its events
                entry = self._compacted[segment]
                # Reconcile with the recorded count rather than subtracting: a rerun after a
                # crash between this rewrite and compacted.json then fixes count() too.
                if entry["events"] != after:
                    removed += entry["events"] - after
                    with self._lock:  # count() reads these
                        entry["events"] = after
                    stale = True
            if stale:
                refresh_manifest(dataset)
        if removed:
            self._save_compacted()
        return removed


def erase_from_part(loc: Location, hits: Hits, column: str = "user_id") -> tuple[int, int]:
    """Rewrite a Parquet file without the rows of the users ``hits`` picks; return its row
    counts before and after (unchanged files are not rewritten)."""
    with loc.fs.open_input_file(loc.path) as f:
        table = pq.read_table(f)
    if column not in table.column_names:
        return table.num_rows, table.num_rows
    values = table[column]
    gone = hits(v for v in pc.unique(values).to_pylist() if v is not None)
    if not gone:
        return table.num_rows, table.num_rows
    drop = pc.fill_null(pc.is_in(values, pa.array(sorted(gone), values.type)), False)
    keep = table.filter(pc.invert(drop))
    _write_parquet(loc, keep)
    return table.num_rows, keep.num_rows
