"""A real multi-node Ray cluster on 127.0.0.1 for tests: ``ray start`` head + worker processes.

Each node is its own ``ray start --block`` process group with its own CPUs, labels and agent
ports, so several clusters (the test session's own Ray, other engineers' tests) run side by
side. Token authentication is on. Nodes are stopped by killing their process groups: never
``ray stop``, which would kill every Ray on the machine.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RAY = str(BIN / "ray")
SERVE = str(BIN / "serve")

# Fast failure detection and autoscaling metrics, so the fault and ramp tests take seconds.
FAST_CONTROL = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
}


def record_figure(name: str, payload: dict[str, Any]) -> Path:
    """Keep a test's measured figure (runs/figures/NAME.json) and print it (pytest -s shows it)."""
    out = REPO / "runs" / "figures" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
    print(f"FIGURE {name}: {json.dumps(payload)}")
    return out


def free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def token_env(token: str | None = None) -> dict[str, str]:
    """The environment of a token-authenticated cluster and of its clients."""
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token or secrets.token_hex(16),
        "RAY_USAGE_STATS_ENABLED": "0",
        # Jobs' `python` must be this environment's, as it is for a user with the venv active.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        # Replicas and job drivers import the project from this checkout.
        "PYTHONPATH": str(REPO),
    }
    env.pop("RAY_ADDRESS", None)
    return env


def agent_ports() -> list[str]:
    """Ports of a node's own agents: without them a second Ray on this machine collides."""
    return [
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]


def start_head(
    env: dict[str, str], *, num_cpus: float = 2, labels: str = "", temp_dir: str | None = None
) -> tuple[subprocess.Popen, int, int, str]:
    """``ray start --head`` in its own process group: (process, gcs port, dashboard port, tmp)."""
    gcs, dashboard = free_port(), free_port(8265)
    # Short path: Ray's unix sockets live under it (108-byte limit).
    temp_dir = temp_dir or tempfile.mkdtemp(prefix="ray", dir="/tmp")
    args = [
        RAY,
        "start",
        "--head",
        "--block",
        f"--port={gcs}",
        f"--num-cpus={num_cpus}",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        "--include-dashboard=true",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        f"--ray-client-server-port={free_port()}",
        *agent_ports(),
        *([f"--labels={labels}"] if labels else []),
    ]
    return _spawn(args, env), gcs, dashboard, temp_dir


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: raylet, agents and workers die with it
    )


def stop(proc: subprocess.Popen, sig: int | None = signal.SIGTERM, timeout: float = 60) -> None:
    """Stop one node (its process group) and only it (``sig=None``: already signalled)."""
    try:
        if sig is not None:
            os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def wait_for(address: str, timeout: float) -> None:
    """Until the dashboard answers (401 counts: auth is on and it is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{address}/api/version", timeout=2)  # nosec B310: http://127.0.0.1
            return
        except OSError as exc:
            if getattr(exc, "code", None) in (401, 403):
                return
        time.sleep(1)
    raise TimeoutError(f"Ray dashboard at {address} did not come up in {timeout}s")


def wait_for_job_agent(address: str, env: dict[str, str], timeout: float) -> None:
    """The dashboard answers before its job agent is ready ("No available agent"): wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = subprocess.run(
            [RAY, "job", "list", "--address", address],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if listing.returncode == 0:
            return
        time.sleep(2)
    raise TimeoutError(
        f"Ray job agent at {address} not ready in {timeout}s: {listing.stderr[-500:]}"
    )


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    num_cpus: float


@dataclass
class LocalCluster:
    """A head and worker nodes on 127.0.0.1, each a separate ``ray start`` process group."""

    env: dict[str, str] = field(default_factory=token_env)
    nodes: dict[str, Node] = field(default_factory=dict)
    gcs_port: int = 0
    dashboard_port: int = 0
    temp_dir: str = ""

    def __post_init__(self) -> None:
        self.env.update(FAST_CONTROL)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def token(self) -> str:
        return self.env["RAY_AUTH_TOKEN"]

    def start(self, *, head_cpus: float = 1, timeout: float = 180) -> LocalCluster:
        proc, self.gcs_port, self.dashboard_port, self.temp_dir = start_head(
            self.env, num_cpus=head_cpus, labels="entertainai/node=head"
        )
        self.nodes["head"] = Node("head", proc, head_cpus)
        wait_for(self.address, timeout=timeout)
        return self

    def add_worker(self, name: str, *, num_cpus: float = 1, timeout: float = 120) -> Node:
        """``ray start --address`` a worker node and wait until the cluster counts it."""
        args = [
            RAY,
            "start",
            "--block",
            f"--address=127.0.0.1:{self.gcs_port}",
            f"--num-cpus={num_cpus}",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir}",
            f"--labels=entertainai/node={name}",
            *agent_ports(),
        ]
        node = Node(name, _spawn(args, self.env), num_cpus)
        self.nodes[name] = node
        self.wait(lambda: name in self.node_names().values(), timeout, f"worker {name} to join")
        return node

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """A hard node failure: SIGKILL to the node's raylet, agents and workers at once."""
        stop(self.nodes.pop(name).proc, sig)

    def shutdown(self) -> None:
        """Signal every node at once (workers first), then wait: their shutdowns overlap."""
        names = [n for n in self.nodes if n != "head"] + [n for n in self.nodes if n == "head"]
        procs = [self.nodes.pop(name).proc for name in names]
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in procs:
            stop(proc, sig=None)  # waits, and kills what does not stop in time

    # -------------------------------------------------------------- clients

    def run(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout)

    def submit(self, entrypoint: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        """``ray job submit`` and wait; the job's logs come back as stdout, rc 0 on SUCCEEDED.

        A job still running at ``timeout`` is stopped, so it cannot hold resources that the
        next test needs.
        """
        job_id = self.submit_no_wait(entrypoint)
        deadline = time.monotonic() + timeout
        status = self.job_status(job_id)
        while status not in ("SUCCEEDED", "FAILED", "STOPPED") and time.monotonic() < deadline:
            time.sleep(2)
            status = self.job_status(job_id)
        if status not in ("SUCCEEDED", "FAILED", "STOPPED"):
            self.run([RAY, "job", "stop", "--address", self.address, job_id], 120)
        logs = self.job_logs(job_id)
        return subprocess.CompletedProcess(
            entrypoint, 0 if status == "SUCCEEDED" else 1, logs, f"job {job_id}: {status}"
        )

    def submit_no_wait(self, entrypoint: list[str]) -> str:
        cmd = [RAY, "job", "submit", "--no-wait", "--address", self.address, "--", *entrypoint]
        deadline = time.monotonic() + 120
        while True:  # the head's job agent can take a minute to register on a busy machine
            out = self.run(cmd, 120)
            if "No available agent" not in out.stderr or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert out.returncode == 0, out.stderr[-2000:]
        for word in (out.stdout + out.stderr).split():
            word = word.strip("'\".,")  # printed as: Job 'raysubmit_...' submitted successfully
            if word.startswith("raysubmit_"):
                return word
        raise AssertionError(f"no submission id in {out.stdout[-1000:]}")

    def job_status(self, job_id: str) -> str:
        return self.get(f"/api/jobs/{job_id}")["status"]

    def job_logs(self, job_id: str) -> str:
        return self.get(f"/api/jobs/{job_id}/logs")["logs"]

    def get(self, path: str, timeout: float = 10) -> Any:
        """A dashboard REST call with the cluster's token."""
        request = urllib.request.Request(
            self.address + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            return json.loads(response.read())

    def alive_nodes(self) -> list[dict[str, Any]]:
        """Alive nodes from the state API: node_id, node_ip, labels, resources_total."""
        try:
            listed = self.get("/api/v0/nodes?limit=100")
        except (OSError, ValueError):
            return []
        return [n for n in listed["data"]["result"]["result"] if n["state"] == "ALIVE"]

    def node_names(self) -> dict[str, str]:
        """Ray node id -> our node name (the entertainai/node label)."""
        return {n["node_id"]: n["labels"].get("entertainai/node", "?") for n in self.alive_nodes()}

    def actors(self, class_name: str) -> list[dict[str, Any]]:
        """Actors of a class, alive or dead, with their node ids (``ray list actors``)."""
        listed = self.run(
            [
                RAY,
                "list",
                "actors",
                "--address",
                self.address,
                "--filter",
                f"class_name={class_name}",
                "--format",
                "json",
                "--detail",
                "--limit",
                "1000",
            ],
            120,
        )
        assert listed.returncode == 0, listed.stderr[-2000:]
        return json.loads(listed.stdout)

    def serve_replicas(self, app: str, deployment: str) -> list[dict[str, Any]]:
        try:
            details = self.get("/api/serve/applications/")
        except (OSError, urllib.error.URLError, ValueError):
            return []
        apps = details.get("applications") or {}
        deployments = (apps.get(app) or {}).get("deployments") or {}
        return (deployments.get(deployment) or {}).get("replicas") or []

    def wait(self, predicate: Any, timeout: float, what: str, every: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(every)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
