"""The fast entrance end to end: a fresh local Ray with direct ingress, as `entertainai serve`
starts it, answers on the Gateway replica's own port with the shipped config's hints."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from deployments.launch import load_config
from entertainai.model import load_model
from entertainai.recommend.filters import Filters
from entertainai.registry import Registry
from tests.cluster.cluster import stop
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

USERS = ["u00003", "u00004", "nobody-yet"]


def answers(http: httpx.Client) -> tuple[str, list[list[str]], list[list[str]]]:
    """(model ref, GET lists, POST lists) for USERS."""
    got, refs = [], set()
    for user in USERS:
        body = http.get(
            f"/v1/users/{user}/recommendations?k=4", headers={"x-api-key": READ_KEY}
        ).json()
        refs.add(body["model"])
        got.append([i["item_id"] for i in body["items"]])
    posted = http.post(
        "/v1/recommendations", json={"user_ids": USERS, "k": 4}, headers={"x-api-key": READ_KEY}
    ).json()["results"]
    refs |= {r["model"] for r in posted}
    return ",".join(sorted(refs)), got, [[i["item_id"] for i in r["items"]] for r in posted]


def offline_lists(root: Path, ref: str) -> tuple[str, list[list[str]], list[list[str]]]:
    model = load_model(Registry(str(root)).local_path(ref))
    recs = model.recommend(USERS, k=4, filters=Filters())
    lists = [[i for i, _ in recs.row(r)] for r in range(len(USERS))]
    return ref, lists, lists


def seconds_until_served(http: httpx.Client, ref: str, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit and answers(http)[0] != ref:
        time.sleep(0.25)
    return time.monotonic() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds_until_gone(http: httpx.Client, url: str, item: str, limit: float = 5) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        items = http.get(url, headers={"x-api-key": READ_KEY}).json()["items"]
        if item not in [i["item_id"] for i in items]:
            break
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.slow
def test_direct_ingress_serves_the_hot_path_and_falls_through(served_registry: Path, tmp_path):
    registry_root = tmp_path / "registry"  # a copy: this test promotes and rolls back
    shutil.copytree(served_registry, registry_root)
    first_port = 32000 + free_port() % 2000  # away from a benchmark's 30000+
    keys = (
        f"reader:read:plain={READ_KEY},writer:read+write-events:plain={WRITE_KEY},"
        f"ops:admin:plain={ADMIN_KEY}"  # /metrics needs the metrics scope (admin has all)
    )
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(first_port),
        "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(first_port + 100),  # Serve needs min <= max
        "ENTERTAINAI_API_KEYS": keys,
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0",  # shutdown: no clients to drain
    }
    env.pop("RAY_ADDRESS", None)
    # The shipped config (the Gateway's hints included) without the capability deployments,
    # which take most of the start-up here and have their own tests.
    config = load_config()
    config["applications"][0]["args"]["capabilities"] = []
    gateway = next(d for d in config["applications"][0]["deployments"] if d["name"] == "Gateway")
    gateway["autoscaling_config"]["min_replicas"] = 2  # events must reach the other replica
    (tmp_path / "serve.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "deployments.launch", "--registry", str(registry_root)]
    cmd += ["--port", str(free_port()), "--config", str(tmp_path / "serve.yaml")]
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, start_new_session=True, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        direct, proxy, said = None, None, []
        deadline = time.monotonic() + 240
        for line in proc.stdout:  # the launcher prints both entrances
            said.append(line)
            if line.startswith("EntertainAI is serving on "):
                proxy = line.split()[4]
            if line.startswith("fast entrance"):
                direct = [url.strip() for url in line.split(": ", 1)[1].split(",")]
                break
            assert time.monotonic() < deadline, "no fast entrance announced"
        assert direct, "".join(said[-30:])
        assert len(direct) == 2 and all(u.startswith("http://127.0.0.1:") for u in direct)
        assert int(direct[0].rsplit(":", 1)[1]) >= first_port
        # The proxy entrance (:8000 by default) balances over the same replicas.
        with httpx.Client(base_url=proxy, timeout=30) as through_proxy:
            assert through_proxy.get("/healthz").json() == {"status": "ok"}
            assert through_proxy.get("/v1/trending").status_code == 401
            r = through_proxy.get(
                "/v1/users/u00002/recommendations?k=2", headers={"x-api-key": READ_KEY}
            )
            assert r.status_code == 200 and len(r.json()["items"]) == 2
        other = httpx.Client(base_url=direct[1], timeout=30)
        with httpx.Client(base_url=direct[0], timeout=30) as http, other:
            url = "/v1/users/u00001/recommendations?k=3"
            r = http.get(url, headers={"x-api-key": READ_KEY, "x-request-id": "r-1"})
            assert r.status_code == 200 and len(r.json()["items"]) == 3
            assert r.headers.get_list("x-request-id") == ["r-1"]  # echoed once, by Serve
            denied = http.get(url)
            assert denied.status_code == 401 and denied.json()["error"] == "unauthenticated"
            assert len(denied.headers.get_list("x-request-id")) == 1  # and made up once
            assert http.get(url.replace("k=3", "k=0"), headers={"x-api-key": READ_KEY}).json()[
                "error"
            ] == ("invalid_input")
            first = r.json()["items"][0]["item_id"]
            event = {"user_id": "u00001", "item_id": first, "event_type": "play"}
            posted = http.post(
                "/v1/events", json={"events": [event]}, headers={"x-api-key": WRITE_KEY}
            )
            assert posted.status_code == 202
            again = http.get(url, headers={"x-api-key": READ_KEY}).json()["items"]
            assert first not in [i["item_id"] for i in again]
            # The other replica (and the batch deployment) replay it from the live feed.
            assert seconds_until_gone(other, url, first) < 1.0
            time.sleep(0.5)  # the batch deployment replays it on its own
            batch = {"user_ids": ["u00001"], "k": 3}
            many = other.post("/v1/recommendations", json=batch, headers={"x-api-key": READ_KEY})
            assert first not in [i["item_id"] for i in many.json()["results"][0]["items"]]
            assert http.get("/v1/trending", headers={"x-api-key": READ_KEY}).status_code == 200
            assert http.get("/docs").status_code == 200
            metrics = http.get("/metrics", headers={"x-api-key": ADMIN_KEY}).text
            assert 'route="/v1/users/{user_id}/recommendations",status="200"' in metrics
            # Promote, then roll back: GET (Gateway) and POST (BatchRecommender) follow within
            # the reload interval, and both answer what the offline pipeline ranks.
            registry = Registry(str(registry_root))
            for version in (2, 1):
                registry.set_alias("hybrid", "production", version)
                waited = seconds_until_served(http, f"hybrid@{version}", limit=15)
                assert waited < 12, f"hybrid@{version} not served by GET and POST"
                assert answers(http) == offline_lists(registry_root, f"hybrid@{version}")
    finally:
        stop(proc)  # the process group: SIGTERM, then SIGKILL after 60 s
