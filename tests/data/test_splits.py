from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from entertainai.data.splits import split
from entertainai.errors import InputError


def table() -> pa.Table:
    rng = np.random.default_rng(1)
    n = 2000
    users = rng.integers(0, 50, n)
    items = rng.integers(0, 80, n)
    ts = rng.integers(0, 10**9, n)
    return pa.table(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in items],
            "event_type": ["view"] * n,
            "value": pa.array(np.ones(n), pa.float32()),
            "timestamp": pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        }
    )


def pairs(t: pa.Table) -> set[tuple[str, str]]:
    return set(zip(t.column("user_id").to_pylist(), t.column("item_id").to_pylist(), strict=True))


@pytest.mark.parametrize("spec", ["random:0.25:7", "temporal:0.2", "last:2"])
def test_no_pair_in_both_sides(spec):
    s = split(table(), spec)
    assert s.train.num_rows + s.test.num_rows <= table().num_rows
    assert not pairs(s.train) & pairs(s.test)
    assert s.test.num_rows > 0


def test_random_split_share_and_determinism():
    a, b = split(table(), "random:0.25:7"), split(table(), "random:0.25:7")
    assert pairs(a.test) == pairs(b.test)
    share = len(pairs(a.test)) / len(pairs(table()))
    assert 0.2 < share < 0.3
    assert pairs(split(table(), "random:0.25:8").test) != pairs(a.test)


def test_temporal_split_is_after_cutoff():
    s = split(table(), "temporal:0.2")
    assert (
        s.train.column("timestamp").to_numpy().max() < s.test.column("timestamp").to_numpy().min()
    )


def test_leave_last_takes_newest_items():
    t = table()
    s = split(t, "last:1")
    assert len(set(s.test.column("user_id").to_pylist())) == len(
        set(t.column("user_id").to_pylist())
    )


@pytest.mark.parametrize("spec", ["random:2", "bogus", "temporal:yesterday", "last:0"])
def test_bad_specs(spec):
    with pytest.raises(InputError):
        split(table(), spec)
