"""After DELETE /v1/users/{id} no file under the event, dataset and registry roots holds the id,
and no answer draws on the user's history (in-process API over the real service and models)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.registry import Registry
from entertainai.serving.export import export_events
from tests.cluster.cluster import record_figure
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

R, W, A = ({"x-api-key": k} for k in (READ_KEY, WRITE_KEY, ADMIN_KEY))
USER = "u00007"


@pytest.fixture()
def roots(served_registry: Path, demo_dir: Path, tmp_path: Path) -> dict[str, Path]:
    out = {name: tmp_path / name for name in ("registry", "events", "datasets")}
    shutil.copytree(
        served_registry, out["registry"], ignore=shutil.ignore_patterns("_erasures", "_exports")
    )
    shutil.copytree(demo_dir, out["datasets"] / "demo")  # the curation dataset
    return out


@pytest.fixture()
def client(roots: dict[str, Path], api_keys) -> Iterator[TestClient]:
    args = AppArgs(
        registry=str(roots["registry"]),
        event_dir=str(roots["events"]),
        curation_dataset=str(roots["datasets"] / "demo"),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def mentions(root: Path, needle: str) -> list[str]:
    """Files under ``root`` whose bytes hold ``needle`` (-a: binary .npz/.parquet too)."""
    found = subprocess.run(
        ["grep", "-r", "-a", "-l", "-F", needle, str(root)], capture_output=True, text=True
    )
    assert found.returncode in (0, 1), found.stderr
    return found.stdout.split()


def held_values(path: Path) -> list[str]:
    """String values stored in a Parquet or .npz file (compressed bytes can hide from grep)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [
            str(v)
            for name in table.column_names
            if table.schema.field(name).type in ("string", "large_string")
            for v in table.column(name).to_pylist()
        ]
    with np.load(path, allow_pickle=False) as arrays:
        return [str(v) for k in arrays.files if arrays[k].dtype.kind in "US" for v in
                arrays[k].ravel().tolist()]  # fmt: skip


def traces(root: Path, needle: str) -> list[str]:
    """grep's hits, the files whose bytes hold the id as numpy stores text (UTF-32), and the
    Parquet/.npz files whose loaded values hold it."""
    wide = needle.encode("utf-32-le")
    files = [p for p in root.rglob("*") if p.is_file()]
    found = set(mentions(root, needle)) | {str(p) for p in files if wide in p.read_bytes()}
    found |= {
        str(p) for p in files if p.suffix in (".parquet", ".npz") and needle in held_values(p)
    }
    return sorted(found)


def reasons(client: TestClient, user: str) -> list[str]:
    r = client.get(f"/v1/users/{user}/recommendations?k=10", headers=R)
    assert r.status_code == 200, r.text
    return [f"{i['reason']}: {i['explanation']}" for i in r.json()["items"]]


def test_delete_leaves_no_trace_of_the_user(client: TestClient, roots: dict[str, Path]):
    state = client.app.state.gateway
    assert any("Because you watched" in r for r in reasons(client, USER))  # training history
    items = [str(i) for i in state.service.models.model.item_ids_[:3]]
    body = {"events": [{"user_id": USER, "item_id": i, "event_type": "play"} for i in items]}
    assert client.post("/v1/events", json=body, headers=W).status_code == 202
    assert state.service.events.compact(str(roots["datasets"] / "compacted"), include_active=True)
    client.post("/v1/events", json=body, headers=W)  # and some still in a live segment
    export_events(
        str(roots["datasets"] / "export-1"),
        str(roots["events"]),
        registry=str(roots["registry"]),
        base=str(roots["datasets"] / "demo"),
    )
    everywhere = [roots["events"], roots["datasets"], roots["registry"]]
    assert all(traces(root, USER) for root in everywhere)  # the test can see the id

    start = time.perf_counter()
    r = client.delete(f"/v1/users/{USER}", headers=A)
    took = time.perf_counter() - start
    assert r.status_code == 200, r.text

    files = [p for root in everywhere for p in root.rglob("*") if p.is_file()]
    left = [f for root in everywhere for f in traces(root, USER)]
    assert left == []
    assert not any(r.startswith("because_you_watched") for r in reasons(client, USER))
    # The rewritten versions load (their new sha256s verify) and know nobody of that name.
    fresh = GatewayState.build(state.args)
    assert fresh.service.models.model.user_indices([USER])[0] == -1
    assert Registry(str(roots["registry"])).get("hybrid@1").metadata["erased_users"] == 1
    record_figure(
        "erasure_completeness",
        {"files_scanned": len(files), "files_mentioning_user": len(left), "delete_s": took},
    )
