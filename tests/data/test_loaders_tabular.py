"""Generic CSV / Parquet interaction logs: column maps, timestamp kinds, errors, skipping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from entertainai.data.dataset import Dataset
from entertainai.data.loaders import load
from entertainai.errors import InputError

UTC = dt.UTC
COLUMN_MAP = {
    "user_id": "uid",
    "item_id": "movie",
    "value": "stars",
    "timestamp": "ts",
    "event_type": "action",
}
T0 = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows(ds: Dataset) -> list[tuple[str, str, str, float | None, dt.datetime]]:
    t = ds.interactions.sort_by([("timestamp", "ascending"), ("user_id", "ascending")])
    return [
        (r["user_id"], r["item_id"], r["event_type"], r["value"], r["timestamp"])
        for r in t.to_pylist()
    ]


def epoch_csv(path: Path, n: int = 6) -> Path:
    """uid,movie,stars,ts,action (+ an unused column) with epoch seconds."""
    lines = ["uid,movie,stars,ts,action,extra"]
    for i in range(n):
        ts = int(T0.timestamp()) + i
        lines.append(f'u{i % 3},m{i % 4},{i % 5}.5,{ts},{"play" if i % 2 else "view"},"x, y"')
    return write_csv(path, lines)


def test_csv_with_column_map_and_epoch_seconds(tmp_path: Path) -> None:
    src = epoch_csv(tmp_path / "log.csv")
    manifest = load(f"csv:{src}", str(tmp_path / "out"), column_map=COLUMN_MAP)
    assert manifest.counts == {"items": 4, "users": 3, "interactions": 6, "texts": 0}
    assert manifest.info["format"] == "csv-log"
    ds = Dataset.open(str(tmp_path / "out"))
    got = rows(ds)
    assert got[0] == ("u0", "m0", "view", 0.5, T0)
    assert got[5] == ("u2", "m1", "play", 0.5, T0 + dt.timedelta(seconds=5))
    assert ds.users.column("user_id").to_pylist() == ["u0", "u1", "u2"]
    assert all(a == [] for a in ds.users.column("attributes").to_pylist())
    items = ds.items.to_pylist()
    assert [i["item_id"] for i in items] == ["m0", "m1", "m2", "m3"]
    assert {i["title"] for i in items} == {None}


def test_csv_iso_timestamps_and_defaults(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "log.csv",
        [
            "user_id,item_id,timestamp",
            "a,x,2024-03-01T12:00:00Z",
            "b,x,2024-03-01T14:00:00+02:00",  # the same instant
            "c,y,2024-03-01 12:00:01",  # no offset: UTC
            "d,y,2024-03-01T12:00:02.5",
        ],
    )
    load(f"csv:{src}", str(tmp_path / "out"), event_type="view")
    got = rows(Dataset.open(str(tmp_path / "out")))
    assert [r[4] for r in got] == [
        T0,
        T0,
        T0 + dt.timedelta(seconds=1),
        T0 + dt.timedelta(seconds=2.5),
    ]
    assert {(r[2], r[3]) for r in got} == {("view", 1.0)}  # event_type argument, value 1.0


@pytest.mark.parametrize(
    "stamps",
    [
        ["2024-03-01T12:00:00", "2024-03-01 12:00:01"],  # all naive: one vectorised cast
        ["2024-03-01T12:00:00Z", "2024-03-01T13:00:01+01:00"],  # all with offsets
        ["1709294400", "2024-03-01T12:00:01Z"],  # epochs and ISO mixed: row by row
    ],
)
def test_csv_timestamp_forms(tmp_path: Path, stamps: list[str]) -> None:
    lines = ["user_id,item_id,timestamp"] + [f"a,x{i},{t}" for i, t in enumerate(stamps)]
    load(f"csv:{write_csv(tmp_path / 'log.csv', lines)}", str(tmp_path / "out"))
    got = [r[4] for r in rows(Dataset.open(str(tmp_path / "out")))]
    assert got == [T0, T0 + dt.timedelta(seconds=1)]


def test_csv_epoch_milliseconds(tmp_path: Path) -> None:
    ms = int(T0.timestamp() * 1000) + 250
    src = write_csv(tmp_path / "log.csv", ["user_id,item_id,timestamp", f"a,x,{ms}"])
    load(f"csv:{src}", str(tmp_path / "out"), timestamp_unit="ms")
    assert rows(Dataset.open(str(tmp_path / "out")))[0][4] == T0 + dt.timedelta(milliseconds=250)


def test_csv_empty_value_is_null(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "log.csv", ["user_id,item_id,timestamp,value", "a,x,1,", "a,y,2,0.5"]
    )
    load(f"csv:{src}", str(tmp_path / "out"))
    assert [r[3] for r in rows(Dataset.open(str(tmp_path / "out")))] == [None, 0.5]


def test_missing_mapped_column_names_it_and_lists_columns(tmp_path: Path) -> None:
    src = epoch_csv(tmp_path / "log.csv")
    with pytest.raises(InputError) as err:
        load(f"csv:{src}", str(tmp_path / "out"), column_map={**COLUMN_MAP, "value": "rating"})
    message = str(err.value)
    assert "no column 'rating' for 'value'" in message
    assert "['uid', 'movie', 'stars', 'ts', 'action', 'extra']" in message
    assert message.startswith("log.csv:")
    assert not (tmp_path / "out").exists()


def test_missing_required_column_suggests_a_map(tmp_path: Path) -> None:
    src = epoch_csv(tmp_path / "log.csv")
    with pytest.raises(InputError, match=r"no column 'user_id' for 'user_id' \(map 'user_id'"):
        load(f"csv:{src}", str(tmp_path / "out"))


def test_bad_csv_value_reports_row_index_plus_two(tmp_path: Path) -> None:
    lines = epoch_csv(tmp_path / "log.csv").read_text().splitlines()
    lines[4] = "u1,m1,lots,1709294400,view,"  # data row index 3 -> line 5
    src = write_csv(tmp_path / "log.csv", lines)
    with pytest.raises(InputError, match=r"^log\.csv:5: field 'stars': 'lots' is not a number$"):
        load(f"csv:{src}", str(tmp_path / "out"), column_map=COLUMN_MAP)


def test_bad_timestamp_and_skipping(tmp_path: Path) -> None:
    lines = epoch_csv(tmp_path / "log.csv").read_text().splitlines()
    lines[2] = "u1,m1,1,last tuesday,view,"
    lines[3] = "u1,m1,1"  # too few fields
    src = write_csv(tmp_path / "log.csv", lines)
    with pytest.raises(
        InputError, match=r"^log\.csv:3: field 'ts': 'last tuesday' is not an epoch"
    ):
        load(f"csv:{src}", str(tmp_path / "out"), column_map=COLUMN_MAP)
    assert not (tmp_path / "out").exists()
    manifest = load(f"csv:{src}", str(tmp_path / "out"), column_map=COLUMN_MAP, skip_bad_rows=True)
    assert manifest.skipped_rows == {"log.csv": 2}
    assert manifest.counts["interactions"] == 4


def test_empty_id_is_a_bad_row(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "log.csv", ["user_id,item_id,timestamp", "a,x,1", ",x,2"])
    with pytest.raises(InputError, match=r"^log\.csv:3: field 'user_id' is empty$"):
        load(f"csv:{src}", str(tmp_path / "out"))


def test_directory_of_csv_files(tmp_path: Path) -> None:
    (tmp_path / "logs" / "day=2").mkdir(parents=True)
    epoch_csv(tmp_path / "logs" / "a.csv", n=4)
    epoch_csv(tmp_path / "logs" / "day=2" / "b.csv", n=3)
    (tmp_path / "logs" / "_SUCCESS").write_text("")
    (tmp_path / "logs" / "notes.txt").write_text("not a log")
    manifest = load(f"csv:{tmp_path / 'logs'}", str(tmp_path / "out"), column_map=COLUMN_MAP)
    assert manifest.counts["interactions"] == 7


def test_bad_row_in_a_nested_file_is_named_by_its_relative_path(tmp_path: Path) -> None:
    (tmp_path / "logs" / "day=2").mkdir(parents=True)
    write_csv(tmp_path / "logs" / "day=2" / "b.csv", ["user_id,item_id,timestamp", "a,x,soon"])
    with pytest.raises(InputError, match=r"^day=2/b\.csv:2: field 'timestamp'"):
        load(f"csv:{tmp_path / 'logs'}", str(tmp_path / "out"))


def test_options_are_checked(tmp_path: Path) -> None:
    src = epoch_csv(tmp_path / "log.csv")
    with pytest.raises(InputError, match="timestamp_unit"):
        load(f"csv:{src}", str(tmp_path / "out"), timestamp_unit="us")
    with pytest.raises(InputError, match=r"unknown fields \['rating'\]"):
        load(f"csv:{src}", str(tmp_path / "out"), column_map={"rating": "stars"})
    with pytest.raises(InputError, match="no such file"):
        load(f"csv:{tmp_path / 'nope.csv'}", str(tmp_path / "out"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .csv"):
        load(f"csv:{tmp_path / 'empty'}", str(tmp_path / "out"))


# --------------------------------------------------------------------------- Parquet


def parquet_log(path: Path, ts: pa.Array, n: int = 5) -> Path:
    pq.write_table(
        pa.table(
            {
                "uid": pa.array(range(n), pa.int64()),  # integer ids become strings
                "movie": [f"m{i % 2}" for i in range(n)],
                "stars": pa.array([float(i) for i in range(n)], pa.float32()),
                "ts": ts,
            }
        ),
        path,
    )
    return path


def test_parquet_with_column_map_and_epoch_ms(tmp_path: Path) -> None:
    base = int(T0.timestamp() * 1000)
    src = parquet_log(tmp_path / "log.parquet", pa.array([base + i for i in range(5)], pa.int64()))
    column_map = {"user_id": "uid", "item_id": "movie", "value": "stars", "timestamp": "ts"}
    manifest = load(
        f"parquet:{src}",
        str(tmp_path / "out"),
        column_map=column_map,
        timestamp_unit="ms",
        event_type="play",
    )
    assert manifest.counts == {"items": 2, "users": 5, "interactions": 5, "texts": 0}
    got = rows(Dataset.open(str(tmp_path / "out")))
    assert got[1] == ("1", "m1", "play", 1.0, T0 + dt.timedelta(milliseconds=1))


def test_parquet_arrow_timestamps_and_iso_strings(tmp_path: Path) -> None:
    naive = pa.array(
        [dt.datetime(2024, 3, 1, 12, 0, i) for i in range(5)],  # noqa: DTZ001 - naive on purpose
        pa.timestamp("us"),
    )
    src = parquet_log(tmp_path / "a.parquet", naive)
    iso = pa.array([f"2024-03-01T13:00:0{i}+01:00" for i in range(5)])
    parquet_log(tmp_path / "b.parquet", iso)
    column_map = {"user_id": "uid", "item_id": "movie", "timestamp": "ts"}
    load(f"parquet:{src}", str(tmp_path / "a"), column_map=column_map)
    load(f"parquet:{tmp_path / 'b.parquet'}", str(tmp_path / "b"), column_map=column_map)
    a, b = rows(Dataset.open(str(tmp_path / "a"))), rows(Dataset.open(str(tmp_path / "b")))
    assert (
        [r[4] for r in a] == [r[4] for r in b] == [T0 + dt.timedelta(seconds=i) for i in range(5)]
    )


def test_parquet_bad_row_is_named_by_row(tmp_path: Path) -> None:
    src = parquet_log(tmp_path / "log.parquet", pa.array(["1", "2", "x", "4", "5"]))
    column_map = {"user_id": "uid", "item_id": "movie", "timestamp": "ts"}
    with pytest.raises(InputError, match=r"^log\.parquet:row 3: field 'ts': 'x' is not an epoch"):
        load(f"parquet:{src}", str(tmp_path / "out"), column_map=column_map)
    manifest = load(
        f"parquet:{src}", str(tmp_path / "out"), column_map=column_map, skip_bad_rows=True
    )
    assert manifest.skipped_rows == {"log.parquet": 1}
    assert manifest.counts["interactions"] == 4


def test_parquet_null_ids_are_bad_rows(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"user_id": ["a", None], "item_id": ["x", "y"], "timestamp": [1, 2]}),
        tmp_path / "log.parquet",
    )
    with pytest.raises(InputError, match=r"^log\.parquet:row 2: field 'user_id' is empty$"):
        load(f"parquet:{tmp_path / 'log.parquet'}", str(tmp_path / "out"))


def test_parquet_missing_column(tmp_path: Path) -> None:
    src = parquet_log(tmp_path / "log.parquet", pa.array([1, 2, 3, 4, 5]))
    with pytest.raises(InputError, match=r"no column 'when' for 'timestamp'.*'uid', 'movie'"):
        load(
            f"parquet:{src}",
            str(tmp_path / "out"),
            column_map={"user_id": "uid", "item_id": "movie", "timestamp": "when"},
        )


def test_directory_of_parquet_files(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    for name in ("part-0.parquet", "part-1.parquet"):
        parquet_log(tmp_path / "logs" / name, pa.array([1, 2, 3, 4, 5]))
    column_map = {"user_id": "uid", "item_id": "movie", "timestamp": "ts"}
    manifest = load(f"parquet:{tmp_path / 'logs'}", str(tmp_path / "out"), column_map=column_map)
    assert manifest.counts == {"items": 2, "users": 5, "interactions": 10, "texts": 0}
