"""A read-only or full artifact store, and a corrupt artifact, while the app serves.

The store really is read-only (a read-only bind mount) or full (a tiny tmpfs): the scenario
runs in a private mount namespace (``unshare -m``), so nothing outside the test sees either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.errors import ArtifactError
from entertainai.registry import Registry
from tests.deployments.conftest import ADMIN_KEY, KEYS_ENV, READ_KEY

REPO = Path(__file__).resolve().parents[2]
R = {"x-api-key": READ_KEY}

# Runs inside `unshare -m`: mounts here are private to this process.
SCENARIO = r"""
import json, os, subprocess, sys
from fastapi.testclient import TestClient
from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.errors import EntertainAIError
from entertainai.registry import Registry

root, work, mode = sys.argv[1], sys.argv[2], sys.argv[3]
R = {"x-api-key": os.environ["READ_KEY"]}
out = {}

def mount(*args):
    subprocess.run(["mount", *args], check=True)

def pages(path):
    return sum(-(-os.path.getsize(os.path.join(d, f)) // 4096) * 4096
               for d, _, files in os.walk(path) for f in files)

if mode == "full":
    # Room for what is there plus half a version: the next version cannot fit.
    store = os.path.join(work, "store")
    os.makedirs(store)
    size = pages(root) + pages(os.path.join(root, "hybrid", "1")) // 2 + 256 * 1024
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", store)
    subprocess.run(["cp", "-a", root + "/.", store], check=True)
    root = store

args = AppArgs(registry=root, event_dir=os.path.join(work, "events"), model="hybrid@production")
app = create_app(args.max_body_bytes)
state = GatewayState.build(args)
app.state.gateway = state
client = TestClient(app, raise_server_exceptions=False)
url = "/v1/users/u00001/recommendations?k=3&explain=false"
out["before"] = client.get(url, headers=R).status_code

if mode == "readonly":
    mount("--bind", root, root)
    mount("-o", "remount,ro,bind", root)
registry = Registry(root)
source = str(registry.local_path("hybrid@1"))
try:
    registry.register("hybrid", source, kind="hybrid")
    out["register"] = "ok"
except EntertainAIError as exc:
    out["register"] = f"{type(exc).__name__}: {exc}"
if mode == "full":  # and now truly full: not even an alias file fits
    try:
        with open(os.path.join(root, "filler"), "wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
    except OSError:
        pass
try:
    registry.set_alias("hybrid", "production", 2)
    out["promote"] = "ok"
except Exception as exc:  # recorded, so the test can say which error escaped
    out["promote"] = f"{type(exc).__name__}: {exc}"
cli = subprocess.run(
    [sys.executable, "-m", "entertainai.cli.main", "models", "promote", "hybrid", "2",
     "--registry", root],
    capture_output=True, text=True,
)
out["cli_rc"], out["cli_stderr"] = cli.returncode, cli.stderr
out["versions_after"] = [v.version for v in Registry(root).versions("hybrid")]
out["reloaded"] = state.reload_if_changed()
out["serving"] = state.serving_versions()
out["after"] = [client.get(url, headers=R).status_code for _ in range(5)]
print(json.dumps(out))
"""


def run_in_mount_namespace(root: Path, work: Path, mode: str) -> dict:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare (util-linux) for a private mount namespace")
    cmd = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-r", "-m"]
    probe = subprocess.run([*cmd, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces not permitted here: {probe.stderr.decode()[:200]}")
    env = {**os.environ, "ENTERTAINAI_API_KEYS": KEYS_ENV, "READ_KEY": READ_KEY}
    proc = subprocess.run(
        [*cmd, sys.executable, "-c", SCENARIO, str(root), str(work), mode],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture()
def registry_copy(served_registry: Path, tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    shutil.copytree(served_registry, root)
    return root


def scenario(mode: str, served_registry: Path, factory: pytest.TempPathFactory) -> dict:
    work = factory.mktemp(mode)
    root = work / "registry"
    shutil.copytree(served_registry, root)
    return run_in_mount_namespace(root, work, mode)


@pytest.fixture(scope="module")
def read_only(served_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return scenario("readonly", served_registry, tmp_path_factory)


@pytest.fixture(scope="module")
def full(served_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return scenario("full", served_registry, tmp_path_factory)


def check_still_serving(out: dict, message: str) -> None:
    assert out["before"] == 200
    assert message in out["register"] and out["register"].startswith("ArtifactError"), out
    assert out["reloaded"] is False and out["serving"]["model"] == 1
    assert out["after"] == [200] * 5  # the serving model keeps serving
    assert out["versions_after"] == [1, 2]  # nothing half-written became a version


def test_read_only_store_is_a_clear_error_and_serving_continues(read_only):
    check_still_serving(read_only, "Read-only file system")


def test_full_store_is_a_clear_error_and_serving_continues(full):
    check_still_serving(full, "No space left on device")


PROMOTE_BUG = (
    "Registry.set_alias lets the OSError of a read-only or full store escape (not an "
    "ArtifactError), so `entertainai models promote` prints a traceback"
)


@pytest.mark.parametrize("mode", ["read_only", "full"])
def test_promote_on_a_broken_store_is_one_clear_line(mode, request):
    out = request.getfixturevalue(mode)
    assert out["promote"].startswith("ArtifactError"), out["promote"]
    assert out["cli_rc"] == 2 and "Traceback" not in out["cli_stderr"], out["cli_stderr"]
    assert out["cli_stderr"].count("\n") == 1, out["cli_stderr"]


def test_corrupt_artifact_is_refused_at_load_and_never_served(
    registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ENTERTAINAI_API_KEYS", KEYS_ENV)
    args = AppArgs(registry=str(registry_copy), event_dir=str(tmp_path / "events"))
    app = create_app(args.max_body_bytes)
    state = GatewayState.build(args)
    app.state.gateway = state
    registry = Registry(str(registry_copy))
    new = registry.register("hybrid", str(registry.local_path("hybrid@1")), kind="hybrid")
    victim = next(p for p in sorted(Path(new.location.path).rglob("*")) if p.is_file())
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")  # one byte flipped on disk
    with pytest.raises(ArtifactError, match="sha256") as info:
        registry.local_path(new.ref)
    assert new.ref in str(info.value)
    registry.set_alias("hybrid", "production", new.version)  # someone promotes it anyway
    with TestClient(app, raise_server_exceptions=False) as client:
        assert state.reload_if_changed() is False  # refused at load
        r = client.get("/v1/users/u00001/recommendations?k=3", headers=R)
        assert r.status_code == 200 and r.json()["model"] == "hybrid@1"  # never served
        assert (
            'entertainai_model_reloads_total{outcome="failed"}'
            in client.get("/metrics", headers={"x-api-key": ADMIN_KEY}).text
        )
    # A fresh replica refuses to start on it with a message naming the artifact.
    fresh = args.model_copy(update={"event_dir": str(tmp_path / "events-2")})
    with pytest.raises(ArtifactError, match=new.ref):
        GatewayState.build(fresh)
