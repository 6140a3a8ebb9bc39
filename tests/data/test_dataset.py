from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from entertainai.data.dataset import Dataset, DatasetWriter
from entertainai.errors import InputError, NotFoundError


def interactions(n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "user_id": [f"u{i % 7}" for i in range(offset, offset + n)],
            "item_id": [f"i{i % 5}" for i in range(offset, offset + n)],
            "event_type": ["view"] * n,
            "timestamp": pa.array(range(offset, offset + n), pa.int64()).cast(
                pa.timestamp("ms", tz="UTC")
            ),
        }
    )


def test_streamed_parts_roundtrip(tmp_path: Path):
    with DatasetWriter(str(tmp_path / "ds"), source="test") as w:
        w.write("interactions", interactions(10))
        w.write("interactions", interactions(5, offset=10))
        w.write_extra("ground_truth/x.json", b"{}")
        w.skip("log.csv", 2)
    ds = Dataset.open(str(tmp_path / "ds"))
    assert ds.manifest.counts == {"items": 0, "users": 0, "interactions": 15, "texts": 0}
    assert ds.manifest.skipped_rows == {"log.csv": 2}
    assert ds.interactions.num_rows == 15 and ds.interactions.column("value").null_count == 15
    assert sum(b.num_rows for b in ds.iter_batches("interactions", batch_size=4)) == 15
    assert ds.extra("ground_truth/x.json") == b"{}"
    ds.verify()


def test_failure_leaves_nothing(tmp_path: Path):
    with pytest.raises(RuntimeError), DatasetWriter(str(tmp_path / "ds"), source="t") as w:
        w.write("interactions", interactions(3))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NotFoundError):
        Dataset.open(str(tmp_path / "ds"))


def test_missing_required_column_names_it(tmp_path: Path):
    with pytest.raises(InputError, match="interactions.timestamp"):
        with DatasetWriter(str(tmp_path / "ds"), source="t") as w:
            w.write("interactions", interactions(3).drop_columns(["timestamp"]))


def test_refuses_to_overwrite_unless_asked(tmp_path: Path):
    with DatasetWriter(str(tmp_path / "ds"), source="a") as w:
        w.write("interactions", interactions(3))
    with pytest.raises(InputError, match="already exists"):
        DatasetWriter(str(tmp_path / "ds"), source="b").__enter__()
    with DatasetWriter(str(tmp_path / "ds"), source="b", overwrite=True) as w:
        w.write("interactions", interactions(4))
    assert Dataset.open(str(tmp_path / "ds")).manifest.counts["interactions"] == 4


def test_tampering_is_detected(tmp_path: Path):
    with DatasetWriter(str(tmp_path / "ds"), source="a") as w:
        w.write("interactions", interactions(3))
    part = next((tmp_path / "ds" / "interactions").glob("*.parquet"))
    part.write_bytes(part.read_bytes() + b"x")
    with pytest.raises(InputError, match="content hash"):
        Dataset.open(str(tmp_path / "ds")).verify()


def test_newer_schema_is_refused(tmp_path: Path):
    with DatasetWriter(str(tmp_path / "ds"), source="a"):
        pass
    manifest = tmp_path / "ds" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = 999
    manifest.write_text(json.dumps(data))
    with pytest.raises(InputError, match="newer"):
        Dataset.open(str(tmp_path / "ds"))
