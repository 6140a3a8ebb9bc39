from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from entertainai.errors import ArtifactError, InputError, NotFoundError
from entertainai.registry import Registry, parse_ref


def model_dir(tmp_path: Path, payload: str = "weights") -> Path:
    d = tmp_path / f"src-{payload}"
    (d / "sub").mkdir(parents=True)
    (d / "model.json").write_text(json.dumps({"kind": "popularity", "config": {}}))
    (d / "sub" / "w.bin").write_text(payload)
    return d


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(str(tmp_path / "artifacts"), cache_dir=str(tmp_path / "cache"))


def test_register_versions_and_latest(registry, tmp_path):
    a = registry.register("pop", model_dir(tmp_path, "a"), kind="popularity", metrics={"ndcg": 0.1})
    b = registry.register("pop", model_dir(tmp_path, "b"), kind="popularity", dataset_hash="abc")
    assert (a.version, b.version) == (1, 2)
    assert registry.get("pop").version == 2 == registry.get("pop@latest").version
    assert registry.get("pop@1").metrics == {"ndcg": 0.1}
    assert registry.get("pop@2").metadata["dataset_hash"] == "abc"
    assert registry.names() == ["pop"]
    assert (registry.local_path("pop@1") / "sub" / "w.bin").read_text() == "a"


def test_aliases_promote_and_rollback(registry, tmp_path):
    for p in "abc":
        registry.register("m", model_dir(tmp_path, p), kind="popularity")
    registry.set_alias("m", "production", 2)
    assert registry.get("m@production").version == 2
    registry.set_alias("m", "production", 3)
    registry.set_alias("m", "production", 2)  # rollback
    history = registry.alias_history("m")
    assert [h["version"] for h in history] == [2, 3, 2] and history[-1]["previous"] == 3
    with pytest.raises(InputError):
        registry.set_alias("m", "latest", 1)
    with pytest.raises(NotFoundError):
        registry.set_alias("m", "production", 9)
    with pytest.raises(InputError, match="aliased"):
        registry.delete("m", 2)
    registry.delete("m", 1)
    assert [v.version for v in registry.versions("m")] == [2, 3]


def test_directory_path_is_a_reference(registry, tmp_path):
    src = model_dir(tmp_path)
    assert registry.local_path(str(src)) == src


@pytest.mark.parametrize("ref", ["Bad Name", "x@", "x@!!", "../etc"])
def test_bad_refs_are_refused(ref):
    if ref == "x@":
        assert parse_ref(ref) == ("x", "latest")
        return
    with pytest.raises(InputError):
        parse_ref(ref)


def test_missing_model_and_alias(registry, tmp_path):
    with pytest.raises(NotFoundError, match="no model named"):
        registry.get("nothing")
    registry.register("m", model_dir(tmp_path), kind="popularity")
    with pytest.raises(NotFoundError, match="no alias"):
        registry.get("m@production")


def test_corrupt_artifact_is_refused(registry, tmp_path):
    mv = registry.register("m", model_dir(tmp_path), kind="popularity")
    Path(mv.location.path, "sub", "w.bin").write_text("tampered")
    with pytest.raises(ArtifactError, match="sha256"):
        registry.local_path("m@1")
    os.remove(Path(mv.location.path, "sub", "w.bin"))
    with pytest.raises(ArtifactError, match="missing"):
        registry.local_path("m@1")


CRASH_SCRIPT = """
import os, sys
from entertainai import registry as r
orig = r.Registry._upload
def crash(self, source, staging, files):
    orig(self, source, staging, files)
    os._exit(9)  # the process dies after copying files, before metadata and rename
r.Registry._upload = crash
r.Registry(sys.argv[1]).register("m", sys.argv[2], kind="popularity")
"""


def test_crash_mid_write_leaves_nothing_that_loads(registry, tmp_path):
    registry.register("m", model_dir(tmp_path, "good"), kind="popularity")
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, registry.root.path, str(model_dir(tmp_path, "new"))],
        capture_output=True,
    )
    assert proc.returncode == 9
    assert [v.version for v in registry.versions("m")] == [1]
    assert registry.get("m").version == 1
    assert (registry.local_path("m") / "sub" / "w.bin").read_text() == "good"
    # The next write still works and takes the next number.
    assert registry.register("m", model_dir(tmp_path, "next"), kind="popularity").version == 2


def test_remote_filesystem_via_uri(tmp_path):
    """A pyarrow URI (file:// here; s3:// and gs:// go the same way) works end to end."""
    reg = Registry(f"file://{tmp_path}/remote", cache_dir=str(tmp_path / "cache"))
    reg.register("m", model_dir(tmp_path), kind="popularity")
    assert (reg.local_path("m") / "sub" / "w.bin").read_text() == "weights"
