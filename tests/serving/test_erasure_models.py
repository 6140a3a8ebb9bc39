"""Erasure reaches trained state: served models, registry versions and datasets forget a user."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from entertainai.analytics.segments import Segments, SegmentsConfig, UserFeatures
from entertainai.data.dataset import Dataset, DatasetWriter
from entertainai.model import load_model
from entertainai.recommend import InteractionData, create
from entertainai.recommend.explain import WATCHED
from entertainai.recommend.pipeline import LiveContext, Query, run
from entertainai.registry import Registry
from entertainai.serving.erasure import ErasureLedger, UserMatcher
from entertainai.serving.event_log import EventLog
from entertainai.serving.event_validation import Event
from entertainai.serving.export import export_events, exported_datasets
from entertainai.serving.forget import erase_from_dataset
from entertainai.serving.forget import main as forget_main
from tests.recommend.conftest import make_tables

KINDS = (
    "popularity",
    "ease",
    "item_knn",
    "als",
    "bpr",
    "two_tower",
    "content",
    "trending",
    "hybrid",
)
FACTORS = {"als": "user_factors_", "bpr": "user_factors_", "two_tower": "user_vectors_"}
TINY = {"bpr": {"epochs": 2}, "two_tower": {"epochs": 1}, "als": {"iterations": 2}}


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return InteractionData.from_tables(*make_tables())


def reasons(model, user: str) -> set[str]:
    ranked = run(model, [user], Query(k=10, explain=True), LiveContext())
    return set(ranked.explanations.reason_rows[0])


@pytest.mark.parametrize("kind", KINDS)
def test_a_forgotten_user_is_unknown_and_stays_so_after_save_and_load(kind, data, tmp_path):
    model = create(kind, **TINY.get(kind, {})).fit(data)
    before = model.recommend(["u3"], k=5)
    row = model.user_indices(["u3"])[0]
    assert model.forget_users(["u3", "not-a-user"]) == 1
    if kind in FACTORS:  # the learned vector goes with the id and the history
        assert not np.any(getattr(model, FACTORS[kind])[row])
        assert np.any(getattr(model, FACTORS[kind])[model.user_indices(["u4"])[0]])
    assert model.user_indices(["u3"])[0] == -1 and "u3" not in model.user_ids_.tolist()
    cold = model.recommend(["someone-new"], k=5)
    assert model.recommend(["u3"], k=5).row(0) == cold.row(0)  # a cold-start list
    if kind not in ("popularity", "trending"):
        assert model.recommend(["u3"], k=5).row(0) != before.row(0)
    assert model.recommend(["u4"], k=5).row(0)  # everybody else is served as before
    assert model.forget_users(["u3"]) == 0
    loaded = load_model(model.save(tmp_path / kind))
    assert loaded.user_indices(["u3"])[0] == -1 and "u3" not in loaded.user_ids_.tolist()
    again, served = loaded.recommend(["u4"], k=5), model.recommend(["u4"], k=5)
    assert again.item_ids.tolist() == served.item_ids.tolist()
    np.testing.assert_allclose(again.scores, served.scores, rtol=1e-5)
    for part in tmp_path.rglob("*.npz"):
        with np.load(part, allow_pickle=False) as arrays:
            assert not any(
                "u3" in arrays[k].tolist() for k in arrays.files if arrays[k].dtype.kind == "U"
            )


def test_no_because_you_watched_from_a_forgotten_users_training_history(data):
    model = create("hybrid").fit(data)
    assert WATCHED in reasons(model, "u3")
    model.forget_users(["u3"])
    assert WATCHED not in reasons(model, "u3")
    assert all(c.user_indices(["u3"])[0] == -1 for c in model.components_)


def test_segments_forget_a_user():
    rng = np.random.default_rng(0)
    ids = np.array([f"u{i}" for i in range(40)])
    features = UserFeatures(ids, rng.random((40, 3)), ("a:x", "a:y", "b:z"))
    model = Segments(SegmentsConfig(k=2)).fit(features)
    assert model.forget_users(["u7"]) == 1 and "u7" not in model.user_ids_.tolist()
    assert len(model.labels_) == 39
    with pytest.raises(Exception, match="unknown user"):
        model.segment_of("u7")


def test_registry_rewrites_every_version_that_holds_the_user(data, tmp_path: Path):
    registry = Registry(str(tmp_path / "registry"))
    first = registry.register_model(create("ease").fit(data), "ease")
    second = registry.register_model(create("popularity").fit(data), "ease")
    rewritten = registry.erase_user(match=UserMatcher.exact(["u3"]).hits)
    assert sorted(rewritten) == [first.ref, second.ref]
    for ref in (first.ref, second.ref):
        mv = registry.get(ref)
        assert mv.metadata["erased_users"] == 1 and "u3" not in json.dumps(mv.metadata)
        model = load_model(registry.local_path(ref))  # verifies the new sha256s
        assert model.user_indices(["u3"])[0] == -1 and model.user_indices(["u4"])[0] >= 0
    assert registry.erase_user(match=UserMatcher.exact(["u3"]).hits) == []  # nothing left
    assert not list((tmp_path / "registry").rglob("*.tmp-*"))  # no staging left behind


def test_exports_are_indexed_and_datasets_are_rewritten(tmp_path: Path):
    registry = str(tmp_path / "registry")
    base = tmp_path / "base"
    with DatasetWriter(str(base), source="import") as w:
        w.write("users", pa.table({"user_id": ["alice", "bob"]}))
        w.write(
            "texts",
            pa.table({"text_id": ["t1", "t2"], "user_id": ["alice", "bob"], "text": ["a", "b"]}),
        )
        truth = pa.BufferOutputStream()
        pq.write_table(pa.table({"user_id": ["alice", "bob"], "segment": [0, 1]}), truth)
        w.write_extra("ground_truth/users.parquet", truth.getvalue().to_pybytes())
    now = time.time()
    with EventLog(tmp_path / "events" / "r1", fsync=False) as log:
        log.append([Event("alice", "i1", "play", None, now), Event("bob", "i2", "play", None, now)])
    out = str(tmp_path / "exports" / "v1")
    export_events(out, str(tmp_path / "events"), registry=registry, base=str(base))
    assert exported_datasets(registry) == [os.path.abspath(out)]

    ErasureLedger(registry).record("alice")
    assert erase_from_dataset(out, ErasureLedger(registry).matcher().hits) == 4
    ds = Dataset.open(out)
    ds.verify()  # the manifest's content hash was refreshed
    assert ds.manifest.counts["interactions"] == 1 and ds.manifest.counts["users"] == 1
    for path in Path(out).rglob("*.parquet"):
        table = pq.read_table(path)
        if "user_id" in table.column_names:
            assert "alice" not in table.column("user_id").to_pylist()
    assert erase_from_dataset(out, ErasureLedger(registry).matcher().hits) == 0


def test_the_offline_command_erases_a_dataset_no_deployment_knows(tmp_path: Path, capsys):
    base = tmp_path / "import"
    with DatasetWriter(str(base), source="import") as w:
        w.write("users", pa.table({"user_id": ["alice", "bob"]}))
    registry, events = str(tmp_path / "registry"), str(tmp_path / "events")
    with EventLog(tmp_path / "events" / "gone-0", fsync=False) as log:  # a replica gone
        log.append([Event("alice", "i1", "play", None, time.time())])
    args = ["--registry", registry, "--events", events, "--dataset", str(base), "--user", "alice"]
    assert forget_main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events_removed"] == 1 and summary["rows"] == 1
    assert Dataset.open(str(base)).users.column("user_id").to_pylist() == ["bob"]
    assert ErasureLedger(registry).requests() == []  # applied everywhere it was listed: pruned
