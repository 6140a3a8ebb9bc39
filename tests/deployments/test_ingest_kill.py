"""``kill -9`` the HTTP app while clients post events: every acknowledged event is on disk."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from entertainai.serving.event_log import open_slot
from tests.cluster.cluster import free_port, record_figure
from tests.deployments.conftest import KEYS_ENV, WRITE_KEY

REPO = Path(__file__).resolve().parents[2]

SERVER = """
import sys, uvicorn
from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
args = AppArgs(registry=sys.argv[1], event_dir=sys.argv[2], rate_limit_per_s=1e6,
               rate_limit_burst=10**6)
app = create_app(args.max_body_bytes)
app.state.gateway = GatewayState.build(args)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""
BATCH = 10


def post_until_refused(port: int, client: int, acked: list[str], stop: threading.Event) -> None:
    """Post batches of uniquely named events; remember a batch only once it got its 202."""
    n = 0
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        ids = [f"c{client}-{n + i}" for i in range(BATCH)]
        body = {"events": [{"user_id": u, "item_id": "i00001", "event_type": "play"} for u in ids]}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                "/v1/events",
                json.dumps(body),
                {"x-api-key": WRITE_KEY, "content-type": "application/json"},
            )
            status = conn.getresponse().status
            conn.close()
        except OSError:
            if stop.is_set():
                return
            time.sleep(0.2)  # not up yet, or just killed
            continue
        assert status == 202, status
        acked.extend(ids)
        n += BATCH


def test_kill_9_during_http_ingestion_loses_no_acknowledged_event(
    served_registry: Path, tmp_path: Path
):
    port = free_port()
    events = tmp_path / "events"
    env = {**os.environ, "ENTERTAINAI_API_KEYS": KEYS_ENV}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(served_registry), str(events), str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    acked: list[list[str]] = [[], []]
    stop = threading.Event()
    clients = [
        threading.Thread(target=post_until_refused, args=(port, i, acked[i], stop), daemon=True)
        for i in range(2)
    ]
    try:
        for c in clients:
            c.start()
        deadline = time.monotonic() + 90
        while sum(map(len, acked)) < 300:  # ingestion in full swing, then kill mid-request
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "server too slow to ingest"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait()
        for c in clients:
            c.join(timeout=20)
    assert server.returncode == -signal.SIGKILL

    # "restart": the next replica on this host takes the freed slot and recovers the log.
    with open_slot(str(events)) as log:
        stored = [e.user_id for e in log.replay()]
        truncated = log.truncated_lines
    acknowledged = [u for batch in acked for u in batch]
    missing = set(acknowledged) - set(stored)
    figure = {
        "acknowledged": len(acknowledged),
        "on_disk_after_restart": len(stored),
        "acknowledged_missing": len(missing),
        "in_flight_completed": len(set(stored) - set(acknowledged)),
        "torn_lines_dropped": truncated,
    }
    record_figure("kill9_ingestion", figure)
    assert not missing, figure
    assert len(stored) == len(set(stored))  # nothing doubled
    assert len(stored) - len(acknowledged) in range(0, 2 * BATCH + 1)  # only in-flight batches
