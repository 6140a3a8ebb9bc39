"""``ray job submit`` against a real ``ray start --head`` with token authentication on."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from entertainai.registry import Registry
from tests.cluster.cluster import free_port, stop, wait_for, wait_for_job_agent

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


@pytest.mark.slow
def test_ray_job_submit_trains_and_registers(demo_dir: Path, tmp_path: Path):
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_USAGE_STATS_ENABLED": "0",
        # The job's `python` must be this environment's, as it is for a user with the venv active.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("RAY_ADDRESS", None)
    gcs, dashboard = free_port(), free_port(8265)
    head = subprocess.Popen(
        [
            RAY,
            "start",
            "--head",
            "--block",
            f"--port={gcs}",
            "--num-cpus=2",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}",
            "--include-dashboard=true",
            "--disable-usage-stats",
            # The test session's own Ray runs beside this one: without ports of its own, this
            # cluster's dashboard agent collides and jobs find "No available agent".
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            # Short path: Ray's unix sockets live under it (108-byte limit).
            f"--temp-dir={tempfile.mkdtemp(prefix='ray', dir='/tmp')}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        wait_for(address, timeout=90)
        # Without the token the job API refuses us: auth is really on.
        no_token = {k: v for k, v in env.items() if k not in ("RAY_AUTH_TOKEN",)}
        no_token["RAY_AUTH_TOKEN_PATH"] = str(tmp_path / "absent-token")
        refused = subprocess.run(
            [RAY, "job", "list", "--address", address],
            env=no_token,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode != 0

        wait_for_job_agent(address, env, timeout=120)
        registry = tmp_path / "registry"
        submit = [
            RAY,
            "job",
            "submit",
            "--address",
            address,
            "--working-dir",
            str(REPO),
            "--",
            "python",
            "-m",
            "train.recommender",
            "--data",
            str(demo_dir),
            "--model",
            "item_knn",
            "--registry",
            str(registry),
            "--smoke-test",
        ]
        deadline = time.monotonic() + 180
        while True:  # the head's job agent can take a minute to register on a busy machine
            job = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=300)
            if "No available agent" not in job.stderr or time.monotonic() > deadline:
                break
            time.sleep(5)
        assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
        assert "registered item_knn@1" in job.stdout
        assert Registry(str(registry)).get("item_knn").metrics["ndcg"] > 0
    finally:
        stop(head)  # the process group: SIGTERM, then SIGKILL after 60 s
