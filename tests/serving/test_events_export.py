"""Event logs → a new dataset: read-only over live logs, deduplicated, erasure-aware, idempotent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest

from entertainai.data import schemas
from entertainai.data.dataset import Dataset, DatasetWriter
from entertainai.errors import InputError, NotFoundError
from entertainai.serving.additions import CatalogueAdditions
from entertainai.serving.erasure import ErasureLedger
from entertainai.serving.event_log import EventLog, _to_table, read_committed
from entertainai.serving.event_validation import Event
from entertainai.serving.export import event_ids, export_events, find_logs
from entertainai.serving.pseudonyms import Pseudonymizer

T0 = 1_700_000_000.0


def ev(k: int, user: str | None = None, **kw: object) -> Event:
    fields: dict = {
        "user_id": user or f"u{k % 3}",
        "item_id": f"i{k}",
        "event_type": "play",
        "value": 1.0 if k % 2 else None,
        "timestamp": T0 + k + 0.25,
        "device": "tv" if k % 2 else None,
    }
    return Event(**{**fields, **kw})


def open_log(directory: Path, **kw: object) -> EventLog:
    kw.setdefault("fsync", False)
    return EventLog(directory, **kw)  # type: ignore[arg-type]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "LOCK"
    }


def items_of(uri: str | Path) -> list[str]:
    return sorted(Dataset.open(str(uri)).interactions.column("item_id").to_pylist())


def test_replicas_and_nodes_are_merged_and_live_logs_are_left_untouched(tmp_path: Path) -> None:
    root, registry = tmp_path / "events", str(tmp_path / "reg")
    with (
        open_log(root / "gateway-a", segment_max_events=2) as a,
        open_log(root / "node-2" / "gateway-b") as b,
    ):
        a.append([ev(0), ev(1)])
        a.append([ev(2)])  # a closed segment and the active one
        b.append([ev(10), ev(11)])
        before = tree_digest(root)
        assert [Path(str(loc)).name for loc in find_logs(str(root))] == ["gateway-a", "gateway-b"]
        result = export_events(str(tmp_path / "out"), str(root), registry=registry)
        assert tree_digest(root) == before  # read-only: no lock taken, no byte changed
        assert result.logs == 2 and result.added == 5 and result.duplicates == 0
        a.append([ev(3)])  # the replicas carry on as if nothing happened
        assert a.count() == 4 and len(list(a.replay())) == 4
    ds = Dataset.open(str(tmp_path / "out"))
    ds.verify()
    assert ds.manifest.source == "events-export" and ds.manifest.counts["interactions"] == 5
    assert ds.interactions.schema.equals(schemas.INTERACTIONS)
    assert items_of(tmp_path / "out") == ["i0", "i1", "i10", "i11", "i2"]
    row = next(r for r in ds.interactions.to_pylist() if r["item_id"] == "i1")
    assert row["user_id"] == "u1" and row["value"] == 1.0 and row["device"] == "tv"
    assert row["timestamp"].timestamp() == pytest.approx(T0 + 1.25)


def test_only_committed_batches_are_read_and_a_torn_tail_is_not_repaired(tmp_path: Path) -> None:
    log_dir = tmp_path / "events" / "r1"
    with open_log(log_dir) as log:
        log.append([ev(0), ev(1)])
    segment = next((log_dir / "segments").glob("seg-*.jsonl"))
    torn = segment.read_bytes() + b'{"user_id":"u9","item_id":"i9","event_type":"play","val'
    segment.write_bytes(torn)  # a batch being written (or cut short): never acknowledged
    assert read_committed(log_dir).column("item_id").to_pylist() == ["i0", "i1"]
    export_events(str(tmp_path / "out"), str(tmp_path / "events"), registry=str(tmp_path))
    assert segment.read_bytes() == torn  # the owner repairs its log, never the exporter


def test_duplicates_by_event_id_count_once(tmp_path: Path) -> None:
    root = tmp_path / "events"
    with open_log(root / "a", segment_max_events=2) as a, open_log(root / "b") as b:
        a.append([ev(0), ev(1)])
        a.append([ev(2)])
        first = root / "a" / "segments" / "seg-000001.jsonl"
        kept = first.read_bytes()
        a.compact(str(tmp_path / "compacted"))  # ev(0), ev(1) now live in a Parquet part
        first.write_bytes(kept)  # as if the compaction died before deleting the segment
        b.append([ev(1), ev(2), ev(5)])  # the same events again (e.g. a restored backup)
        b.append([ev(5, device="phone")])  # differs in one field: another event
    result = export_events(str(tmp_path / "out"), str(root), registry=str(tmp_path / "reg"))
    assert result.events_read == 9 and result.duplicates == 4 and result.added == 5
    assert items_of(tmp_path / "out") == ["i0", "i1", "i2", "i5", "i5"]


def test_event_ids_are_unambiguous() -> None:
    a = _to_table([Event("u:1", "i", "play", None, T0)])
    b = _to_table([Event("u", ":1i", "play", None, T0)])
    c = _to_table([Event("u:1", "i", "play", 0.0, T0)])
    ids = [event_ids(t)[0].as_py() for t in (a, b, c)]
    assert len(set(ids)) == 3
    assert event_ids(a)[0] == event_ids(_to_table([Event("u:1", "i", "play", None, T0)]))[0]


def test_erased_users_are_left_out_of_events_and_base(tmp_path: Path) -> None:
    registry = str(tmp_path / "reg")
    base = tmp_path / "base"
    with DatasetWriter(str(base), source="import") as w:
        w.write("interactions", _to_table([ev(100, user="alice"), ev(101, user="bob")]))
        w.write("users", pa.table({"user_id": ["alice", "bob"]}))
        w.write(
            "texts",
            pa.table({"text_id": ["t1", "t2"], "user_id": ["alice", "bob"], "text": ["a", "b"]}),
        )
    with open_log(tmp_path / "events" / "r1") as log:
        log.append([ev(0, user="alice"), ev(1, user="bob"), ev(2, user="carol")])
    ErasureLedger(registry).record("alice")  # what DELETE /v1/users/alice leaves behind
    result = export_events(
        str(tmp_path / "out"), str(tmp_path / "events"), registry=registry, base=str(base)
    )
    ds = Dataset.open(str(tmp_path / "out"))
    assert "alice" not in ds.interactions.column("user_id").to_pylist()
    assert ds.users.column("user_id").to_pylist() == ["bob"]
    assert ds.texts.column("user_id").to_pylist() == ["bob"]
    assert result.erased == 4 and result.added == 2  # alice's event, base row, user, text


def test_pseudonymised_logs_are_erased_by_the_stored_id(tmp_path: Path) -> None:
    pseudo = Pseudonymizer(b"0123456789abcdef-secret")
    with open_log(tmp_path / "events" / "r1", pseudonymizer=pseudo) as log:
        log.append([ev(0, user="alice"), ev(1, user="bob")])
        ErasureLedger(str(tmp_path)).record(log.stored_id("alice"))  # as the Gateway records it
    export_events(str(tmp_path / "out"), str(tmp_path / "events"), registry=str(tmp_path))
    users = Dataset.open(str(tmp_path / "out")).interactions.column("user_id").to_pylist()
    assert users == [pseudo.pseudonymize("bob")]  # no raw id reached the dataset


def test_export_is_idempotent(tmp_path: Path) -> None:
    registry, root = str(tmp_path / "reg"), str(tmp_path / "events")
    base = tmp_path / "base"
    with DatasetWriter(str(base), source="import") as w:
        w.write("interactions", _to_table([ev(100), ev(101)]))
        w.write("items", pa.table({"item_id": ["i100", "i101"], "title": ["A", "B"]}))
        w.write_extra("ground_truth/config.json", b"{}")
    with open_log(tmp_path / "events" / "b") as b, open_log(tmp_path / "events" / "a") as a:
        a.append([ev(3), ev(1)])
        b.append([ev(2), ev(1)])
        first = export_events(str(tmp_path / "e1"), root, registry=registry, base=str(base))
        again = export_events(str(tmp_path / "e2"), root, registry=registry, base=str(base))
        assert again.content_hash == first.content_hash  # same events: same content
        # The previous export as the base: nothing new, and the very same dataset.
        chained = export_events(str(tmp_path / "e3"), root, registry=registry, base=first.dataset)
        assert chained.added == 0 and chained.already_in_base == 3
        assert chained.content_hash == first.content_hash
        # Rerun into the same place: left as it is.
        same = export_events(str(tmp_path / "e1"), root, registry=registry, base=str(base))
        assert same.unchanged and same.content_hash == first.content_hash
        a.append([ev(4)])
        with pytest.raises(InputError, match="different dataset"):
            export_events(str(tmp_path / "e1"), root, registry=registry, base=str(base))
        newer = export_events(
            str(tmp_path / "e1"), root, registry=registry, base=str(base), overwrite=True
        )
    assert newer.added == 4 and newer.content_hash != first.content_hash
    assert not [p for p in tmp_path.iterdir() if ".probe-" in p.name]  # no probe left behind
    ds = Dataset.open(newer.dataset)
    ds.verify()
    assert ds.extra("ground_truth/config.json") == b"{}"
    assert ds.interactions.column("item_id").to_pylist()[:2] == ["i100", "i101"]  # base first


def test_new_catalogue_items_join_the_items_table(tmp_path: Path) -> None:
    with open_log(tmp_path / "events" / "r1") as log:
        log.append([ev(0, item_id="new-1")])
    CatalogueAdditions(str(tmp_path / "reg")).record(
        pa.table({"item_id": ["new-1"], "title": ["Fresh"], "genres": [["Drama"]]})
    )
    export_events(str(tmp_path / "out"), str(tmp_path / "events"), registry=str(tmp_path / "reg"))
    items = Dataset.open(str(tmp_path / "out")).items.to_pylist()
    assert [(i["item_id"], i["title"], i["genres"]) for i in items] == [
        ("new-1", "Fresh", ["Drama"])
    ]


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such event log directory"):
        export_events(str(tmp_path / "out"), str(tmp_path / "nope"), registry=str(tmp_path))
