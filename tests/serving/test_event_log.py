from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from entertainai.data import schemas
from entertainai.data.dataset import Dataset
from entertainai.errors import ArtifactError, InputError, Unavailable
from entertainai.serving import event_log as events_module
from entertainai.serving.event_log import COMPACTED, EventLog, LogWriteFailed
from entertainai.serving.event_validation import Event
from entertainai.serving.pseudonyms import Pseudonymizer

T0 = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[2]


def ev(k: int, user: str | None = None, **kw: object) -> Event:
    fields: dict = {
        "user_id": user or f"u{k % 3}",
        "item_id": f"i{k}",
        "event_type": "rating",
        "value": float(k % 5) + 0.5,
        "timestamp": T0 + k + 0.25,
        "device": "tv" if k % 2 else None,
    }
    return Event(**{**fields, **kw})


def segments(directory: Path) -> list[Path]:
    return sorted((directory / "segments").glob("seg-*.jsonl"))


def open_log(directory: Path, **kw: object) -> EventLog:
    kw.setdefault("fsync", False)  # survives process crashes; power loss is not tested here
    return EventLog(directory, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- append / replay


def test_append_fsyncs_then_replays_after_reopen(tmp_path: Path) -> None:
    batches = [[ev(0), ev(1)], [ev(2)], [ev(3), ev(4), ev(5)]]
    with EventLog(tmp_path, segment_max_events=3, fsync=True) as log:
        assert [log.append(b) for b in batches] == [2, 1, 3]
        assert log.append([]) == 0
        assert log.count() == 6
    with open_log(tmp_path, segment_max_events=3) as log:
        assert list(log.replay()) == [e for b in batches for e in b]
        assert log.count() == 6 and log.truncated_lines == 0
    # A batch stays in one segment; rotation happens between batches.
    assert [p.name for p in segments(tmp_path)] == ["seg-000001.jsonl", "seg-000002.jsonl"]
    lines = segments(tmp_path)[0].read_text().splitlines()
    assert json.loads(lines[0])["item_id"] == "i0" and lines[2] == '{"commit":2}'


def test_append_rejects_whole_batch_naming_index_and_field(tmp_path: Path) -> None:
    with open_log(tmp_path) as log:
        with pytest.raises(InputError, match=r"event 1, field 'event_type'"):
            log.append([ev(0), ev(1, event_type="bogus")])
        assert log.count() == 0 and list(log.replay()) == []


def test_second_writer_is_refused_and_closed_log_refuses_appends(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    with pytest.raises(InputError, match="already open"):
        open_log(tmp_path)
    log.close()
    log.close()  # idempotent
    with pytest.raises(ArtifactError, match="closed"):
        log.append([ev(0)])
    open_log(tmp_path).close()  # the lock was released


def test_concurrent_appends_from_threads(tmp_path: Path) -> None:
    with open_log(tmp_path, segment_max_events=25) as log:

        def worker(w: int) -> None:
            for b in range(20):
                log.append([ev(1000 * w + 10 * b + i, user=f"w{w}") for i in range(3)])

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        replayed = list(log.replay())
    assert log.count() == len(replayed) == 6 * 20 * 3
    assert len({e.item_id for e in replayed}) == len(replayed)
    for w in range(6):  # each writer's events stay in its own order
        mine = [int(e.item_id[1:]) for e in replayed if e.user_id == f"w{w}"]
        assert mine == sorted(mine)


# --------------------------------------------------------------------------- crash safety


@pytest.mark.parametrize(
    "tail",
    [
        b'{"user_id":"u9","item_id":"i',  # a line cut mid-write
        (json.dumps({"user_id": "u9", "item_id": "i9"}) + "\n").encode()[:-1],
        b'{"user_id":"u1","item_id":"i7","event_type":"view","value":null,'
        b'"timestamp":1700000000.0,"device":null}\n{"user_id":"u1","it',  # batch without commit
        b"\x00\x00\x00\x00\n\x00\x00",  # unwritten blocks after power loss
    ],
)
def test_torn_tail_is_truncated_and_every_committed_event_survives(
    tmp_path: Path, tail: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    written = [[ev(0), ev(1)], [ev(2)]]
    with open_log(tmp_path) as log:
        for batch in written:
            log.append(batch)
    segment = segments(tmp_path)[-1]
    good_size = segment.stat().st_size
    with open(segment, "ab") as f:
        f.write(tail)

    with caplog.at_level(logging.WARNING, logger="entertainai.serving.event_log"):
        log = open_log(tmp_path)
    assert "truncated" in caplog.text and log.truncated_lines >= 1
    assert segment.stat().st_size == good_size
    assert list(log.replay()) == [e for b in written for e in b] and log.count() == 3
    log.append([ev(3)])  # appends continue cleanly after the repaired tail
    log.close()
    with open_log(tmp_path) as log:
        assert [e.item_id for e in log.replay()] == ["i0", "i1", "i2", "i3"]
        assert log.truncated_lines == 0


def test_damage_inside_a_committed_batch_is_an_error_not_silently_dropped(
    tmp_path: Path,
) -> None:
    with open_log(tmp_path) as log:
        log.append([ev(0), ev(1)])
        log.append([ev(2)])
    segment = segments(tmp_path)[0]
    lines = segment.read_bytes().split(b"\n")
    lines[1] = b"garbage"
    segment.write_bytes(b"\n".join(lines))
    with pytest.raises(ArtifactError, match=r"seg-000001.jsonl:2"):
        open_log(tmp_path)


_CHILD = """
import sys
from entertainai.serving.event_log import EventLog
from entertainai.serving.event_validation import Event

log = EventLog(sys.argv[1], segment_max_events=45, fsync=True)
n = 0
while True:
    batch = [
        Event(f"u{(n + i) % 7}", f"i{n + i}", "play", 1.0, 1_700_000_000.0 + n + i, None)
        for i in range(10)
    ]
    log.append(batch)
    n += len(batch)
    sys.stdout.write(f"{n}\\n")
    sys.stdout.flush()
"""


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    acked = 0
    deadline = time.monotonic() + 30
    try:
        while acked < 400:  # several segments; then kill in the middle of the next append
            line = proc.stdout.readline()
            assert line, f"child died: {proc.stderr.read().decode() if proc.stderr else ''}"
            acked = int(line)
            assert time.monotonic() < deadline, "child too slow"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # Acks printed before the kill still sit in the pipe.
        for line in proc.stdout.read().splitlines():
            acked = int(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with open_log(tmp_path) as log:
        replayed = [e.item_id for e in log.replay()]
    # Every acknowledged event survives, in order; at most the in-flight batch was also
    # completed, and no batch survives half-written.
    assert replayed[:acked] == [f"i{k}" for k in range(acked)]
    assert replayed == [f"i{k}" for k in range(len(replayed))]
    assert len(replayed) in (acked, acked + 10)


# --------------------------------------------------------------------------- compaction


def fill(log: EventLog, n: int, start: int = 0) -> list[Event]:
    written = [ev(k) for k in range(start, start + n)]
    for event in written:
        log.append([event])
    return written


def test_compact_writes_conforming_parquet_dataset(tmp_path: Path) -> None:
    ds_dir = tmp_path / "ds"
    with open_log(tmp_path / "log", segment_max_events=3) as log:
        written = fill(log, 10)  # segments of 3, 3, 3 and the active one with 1
        assert log.compact(str(ds_dir)) == 9
        assert list(log.replay()) == written[9:] and log.count() == 10
        assert log.compact(str(ds_dir)) == 0  # nothing closed left
        assert len(segments(tmp_path / "log")) == 1

        parts = sorted((ds_dir / "interactions").glob("part-*.parquet"))
        expected = [f"part-events-{log.log_id}-00000{i}.parquet" for i in (1, 2, 3)]
        assert [p.name for p in parts] == expected
        table = pq.read_table(parts[0])
        assert table.schema.equals(schemas.INTERACTIONS)

        ds = Dataset.open(str(ds_dir))
        ds.verify()
        assert ds.manifest.counts["interactions"] == 9
        rows = ds.interactions.to_pylist()
        assert [r["item_id"] for r in rows] == [e.item_id for e in written[:9]]
        assert rows[1]["value"] == pytest.approx(written[1].value)
        assert rows[1]["timestamp"].timestamp() == pytest.approx(written[1].timestamp)
        assert rows[1]["device"] == "tv" and rows[0]["device"] is None

        assert log.compact(str(ds_dir), include_active=True) == 1
        assert list(log.replay()) == [] and log.count() == 10
        log.append([ev(10)])  # a fresh segment number, never one listed as compacted
    with open_log(tmp_path / "log") as log:
        assert [e.item_id for e in log.replay()] == ["i10"] and log.count() == 11
    assert Dataset.open(str(ds_dir)).interactions.num_rows == 10


def test_compaction_crash_before_commit_neither_loses_nor_doubles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds_dir, log_dir = tmp_path / "ds", tmp_path / "log"
    real_refresh = events_module.refresh_manifest

    def crash_after_parquet(dataset: object) -> None:
        real_refresh(dataset)  # type: ignore[arg-type]
        raise KeyboardInterrupt("simulated crash after the Parquet write")

    log = open_log(log_dir, segment_max_events=3)
    written = fill(log, 10)
    monkeypatch.setattr(events_module, "refresh_manifest", crash_after_parquet)
    with pytest.raises(KeyboardInterrupt):
        log.compact(str(ds_dir))
    log.close()  # the process is gone; its flock with it
    monkeypatch.undo()

    assert Dataset.open(str(ds_dir)).interactions.num_rows == 9  # orphan parts exist
    with open_log(log_dir, segment_max_events=3) as log:
        assert list(log.replay()) == written and log.count() == 10  # nothing lost
        assert log.compact(str(ds_dir)) == 9
        assert log.count() == 10
    assert Dataset.open(str(ds_dir)).interactions.num_rows == 9  # overwritten, not doubled


def test_compaction_crash_before_segment_deletion_is_finished_on_open(tmp_path: Path) -> None:
    ds_dir, log_dir = tmp_path / "ds", tmp_path / "log"
    with open_log(log_dir, segment_max_events=3) as log:
        written = fill(log, 10)
        kept = {p.name: p.read_bytes() for p in segments(log_dir)}
        log.compact(str(ds_dir))
    for name, data in kept.items():  # as if deletion never happened
        (log_dir / "segments" / name).write_bytes(data)
    assert "seg-000001.jsonl" in json.loads((log_dir / COMPACTED).read_text())["segments"]

    with open_log(log_dir, segment_max_events=3) as log:
        assert list(log.replay()) == written[9:]  # listed segments are never replayed
        assert log.count() == 10
        assert len(segments(log_dir)) == 1  # recovery finished the deletion
        assert log.compact(str(ds_dir)) == 0
    assert Dataset.open(str(ds_dir)).interactions.num_rows == 9


def test_compact_into_an_existing_dataset_keeps_its_tables(tmp_path: Path) -> None:
    from entertainai.data.dataset import DatasetWriter

    ds_dir = tmp_path / "ds"
    with DatasetWriter(str(ds_dir), source="import") as w:
        w.write("interactions", events_module._to_table([ev(100, user="old")]))
    with open_log(tmp_path / "log", segment_max_events=2) as log:
        fill(log, 3)
        log.compact(str(ds_dir))
    ds = Dataset.open(str(ds_dir))
    ds.verify()
    assert ds.manifest.source == "import" and ds.manifest.counts["interactions"] == 3


def test_logs_of_two_replicas_share_a_dataset_without_clobbering(tmp_path: Path) -> None:
    ds_dir = str(tmp_path / "ds")
    with open_log(tmp_path / "a") as a, open_log(tmp_path / "b") as b:
        assert a.log_id != b.log_id
        fill(a, 2)
        fill(b, 3, start=10)
        assert a.compact(ds_dir, include_active=True) == 2
        assert b.compact(ds_dir, include_active=True) == 3
        assert b.erase_user("u1") == 1  # i10; a's i1 belongs to a
        a_id = a.log_id
    with open_log(tmp_path / "a") as a:
        assert a.log_id == a_id  # persisted
    ds = Dataset.open(ds_dir)
    ds.verify()
    assert sorted(ds.interactions.column("item_id").to_pylist()) == ["i0", "i1", "i11", "i12"]


# --------------------------------------------------------------------------- erasure


def test_erase_user_from_segments_and_parquet(tmp_path: Path) -> None:
    ds_dir, log_dir = tmp_path / "ds", tmp_path / "log"
    with open_log(log_dir, segment_max_events=3) as log:
        written = fill(log, 14)  # u0/u1/u2 round-robin
        log.compact(str(ds_dir))  # 12 compacted, 2 live
        fill(log, 4, start=14)  # closed and active live segments hold some too
        victims = sum(e.user_id == "u1" for e in written) + 1  # i16 is u1 as well
        assert log.erase_user("u1") == victims
        assert log.erase_user("u1") == 0
        assert log.count() == 18 - victims
        assert all(e.user_id != "u1" for e in log.replay())
        log.append([ev(19, user="u1")])  # the active segment was reopened after its rewrite
    ds = Dataset.open(str(ds_dir))
    ds.verify()
    users = ds.interactions.column("user_id").to_pylist()
    assert "u1" not in users and len(users) == ds.manifest.counts["interactions"] == 8
    with open_log(log_dir) as log:
        assert [e.item_id for e in log.replay() if e.user_id == "u1"] == ["i19"]
        assert log.count() == 18 - victims + 1


def test_erase_user_reaches_parts_of_an_interrupted_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds_dir, log_dir = tmp_path / "ds", tmp_path / "log"
    log = open_log(log_dir, segment_max_events=3)
    fill(log, 7)
    monkeypatch.setattr(
        events_module, "refresh_manifest", lambda _: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        log.compact(str(ds_dir))
    log.close()
    monkeypatch.undo()
    with open_log(log_dir) as log:
        assert log.erase_user("u0") == 3  # counted once, from the segments
    remaining = pq.read_table(ds_dir / "interactions").column("user_id").to_pylist()
    assert "u0" not in remaining and len(remaining) == 4


def test_erase_interrupted_after_a_part_rewrite_is_completed_by_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds_dir, log_dir = tmp_path / "ds", tmp_path / "log"
    with open_log(log_dir, segment_max_events=3) as log:
        fill(log, 7)
        log.compact(str(ds_dir))  # 6 events in Parquet, 2 of them u0's
    log = open_log(log_dir)
    monkeypatch.setattr(
        events_module, "refresh_manifest", lambda _: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):  # parts rewritten; manifest and counts not yet
        log.erase_user("u0")
    log.close()
    monkeypatch.undo()
    with open_log(log_dir) as log:
        # i6 left the segment in the first attempt; the 2 Parquet rows are reconciled now.
        assert log.erase_user("u0") == 2
        assert log.count() == 4
    ds = Dataset.open(str(ds_dir))
    ds.verify()
    assert ds.manifest.counts["interactions"] == 4


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonymised_ids_at_rest(tmp_path: Path) -> None:
    pseudo = Pseudonymizer(b"s" * 32)
    with open_log(tmp_path / "log", pseudonymizer=pseudo, segment_max_events=2) as log:
        log.append([ev(0, user="alice@example.com"), ev(1, user="bob")])
        log.append([ev(2, user="alice@example.com")])
        log.compact(str(tmp_path / "ds"))
        stored = [e.user_id for e in log.replay()]
        assert stored == [pseudo.pseudonymize("alice@example.com")]
        assert log.erase_user("alice@example.com") == 2  # the raw id is accepted
        assert log.count() == 1
    on_disk = b"".join(p.read_bytes() for p in (tmp_path).rglob("*") if p.is_file())
    assert b"alice" not in on_disk and b"bob" not in on_disk
    token = pseudo.pseudonymize("bob")
    assert len(token) == 32 and int(token, 16) >= 0
    assert token == Pseudonymizer(b"s" * 32).pseudonymize("bob")  # stable across restarts
    assert token != Pseudonymizer(b"t" * 32).pseudonymize("bob")  # keyed
    assert "sss" not in repr(pseudo)
    with pytest.raises(InputError, match="secret"):
        Pseudonymizer(b"short")


def test_events_survive_compaction_roundtrip_exactly(tmp_path: Path) -> None:
    # Rebuilding state from replay and from Parquet must agree on the same events.
    with open_log(tmp_path / "log", segment_max_events=1) as log:
        written = fill(log, 4)
        before = list(log.replay())
        log.compact(str(tmp_path / "ds"), include_active=True)
    assert before == written
    rows = Dataset.open(str(tmp_path / "ds")).interactions.to_pylist()
    assert [r["user_id"] for r in rows] == [e.user_id for e in written]


# --------------------------------------------------------------------------- failures that heal


def failing(exc_errno: int, after: int = 0):  # noqa: ANN201 - an os.write/os.fsync stand-in
    """Raise ``OSError(exc_errno)``; a write first lets ``after`` bytes through (a torn write)."""
    real_write = os.write

    def fail(fd: int, data: object = b"") -> int:
        if after and isinstance(data, memoryview | bytes) and len(data) > after:
            real_write(fd, bytes(data[:after]))
        raise OSError(exc_errno, os.strerror(exc_errno))

    return fail


@pytest.mark.parametrize("torn", [0, 7])
def test_a_full_disk_refuses_the_batch_then_heals_on_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, torn: int
) -> None:
    log = open_log(tmp_path)
    log.append([ev(0)])
    monkeypatch.setattr(os, "write", failing(errno.ENOSPC, after=torn))
    with pytest.raises(LogWriteFailed, match="disk is full") as info:
        log.append([ev(1), ev(2)])
    monkeypatch.undo()
    assert info.value.disk_full and isinstance(info.value, Unavailable)
    assert not log.status()["ok"] and log.status()["disk_full"]
    assert log.append([ev(3)]) == 1  # space is back: no restart needed
    assert log.status() == {"ok": True, "error": None, "disk_full": False, "since": None}
    assert [e.item_id for e in log.replay()] == ["i0", "i3"]  # the refused batch left nothing
    log.close()
    with open_log(tmp_path) as again:
        assert again.truncated_lines == 0 and [e.item_id for e in again.replay()] == ["i0", "i3"]


def test_a_failed_fsync_stops_writes_until_the_log_heals_without_a_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(tmp_path, fsync=True)
    log.append([ev(0)])
    monkeypatch.setattr(os, "fsync", failing(errno.EIO))
    with pytest.raises(LogWriteFailed, match="I/O error") as info:
        log.append([ev(1)])
    assert not info.value.disk_full
    assert log.heal() is False  # the disk still fails: still refusing, still saying so
    with pytest.raises(LogWriteFailed):
        log.append([ev(2)])
    assert log.status()["error"] and not log.status()["ok"]
    monkeypatch.undo()
    assert log.heal() is True and log.status()["ok"]
    log.append([ev(3)])
    # The unacknowledged batch written before the failed fsync was dropped when healing.
    assert [e.item_id for e in log.replay()] == ["i0", "i3"]
    log.close()
    with open_log(tmp_path) as again:
        assert [e.item_id for e in again.replay()] == ["i0", "i3"]


def test_a_rotation_that_fails_heals_into_a_new_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(tmp_path, segment_max_events=1, fsync=True)
    log.append([ev(0)])
    monkeypatch.setattr(os, "fsync", failing(errno.ENOSPC))
    with pytest.raises(LogWriteFailed):
        log.append([ev(1)])
    monkeypatch.undo()
    log.append([ev(2)])
    log.append([ev(3)])
    assert [e.item_id for e in log.replay()] == ["i0", "i2", "i3"] and log.count() == 3
    log.close()
    with open_log(tmp_path) as again:
        assert [e.item_id for e in again.replay()] == ["i0", "i2", "i3"]
