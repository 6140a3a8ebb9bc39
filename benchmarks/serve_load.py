"""Serving speed: the Serve graph vs a single-process uvicorn app over the same model and code.

    python -m benchmarks.serve_load [--registry DIR] [--concurrency 1,16,64] [--seconds 5]

Runs, one after the other in fresh processes: (1) uvicorn serving ``deployments.api`` (the
baseline), (2) Ray Serve through its HTTP proxy, (3) Ray Serve with
``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` called on the ingress replica's direct port. Every target
has API-key checks and metrics on. Prints p50/p99/throughput per concurrency and the ratio to
uvicorn, then the event-to-recommendation lag.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.http_load import LoadResult, run_load

KEY = "bench-key-0123456789abcdef"
DIRECT_PORT = 30000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_registry(root: Path, n_users: int) -> Path:
    """Demo data, then EASE (the served model) and trending, both aliased production."""
    from entertainai.data.synthetic import DemoConfig, generate
    from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register
    from entertainai.registry import Registry

    data = root / "demo"
    generate(str(data), DemoConfig(n_users=n_users))
    registry = Registry(str(root / "registry"))
    prepared = prepare(str(data), "random:0.2:42")
    for kind in ("ease", "trending"):
        spec = TrainSpec(kind, eval_users=500)
        model, result = fit_and_evaluate(prepared, spec)
        registry.set_alias(
            kind, "production", register(registry, model, result, prepared, spec).version
        )
    return root / "registry"


def secrets_file(root: Path) -> Path:
    from entertainai.serving.security import hash_key

    path = root / "keys.json"
    path.write_text(json.dumps([{"name": "bench", "scopes": ["admin"], "sha256": hash_key(KEY)}]))
    return path


def app_args(
    registry: Path, keys: Path, events: Path, cache_ttl_s: float = 1.0
) -> dict[str, object]:
    return {
        "response_cache_ttl_s": cache_ttl_s,
        "registry": str(registry),
        "model": "ease@production",
        "trending": "trending@production",
        "event_dir": str(events),
        "api_keys_file": str(keys),
        "rate_limit_per_s": 1e9,
        "rate_limit_burst": 10**9,  # measure serving, not the limiter
    }


# ---- children ------------------------------------------------------------------------------


def child_uvicorn(args: dict[str, object], port: int) -> None:
    import uvicorn

    from deployments.api import create_app
    from deployments.settings import AppArgs
    from deployments.state import GatewayState

    settings = AppArgs(**args)
    app = create_app(settings.max_body_bytes, web_app=settings.web_app)
    app.state.gateway = GatewayState.build(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def child_serve(args: dict[str, object], port: int, gateway_replicas: int = 1) -> None:
    from deployments.launch import load_config, serve_forever, start
    from deployments.settings import AppArgs
    from train.common import init_ray

    config = load_config()
    for deployment in config["applications"][0]["deployments"]:
        if deployment["name"] == "Gateway":
            # A fixed count: the client only knows the ports it found at the start, and a
            # replica the autoscaler adds mid-run would load its models on the measured cores.
            scaling = deployment["autoscaling_config"]
            scaling["min_replicas"] = scaling["max_replicas"] = gateway_replicas
    init_ray(None, num_cpus=2)
    url = start(AppArgs(**args), config, port=port)
    print(f"serving {url}", flush=True)
    serve_forever(url)  # SIGTERM: serve.shutdown(), then this process's Ray exits with it
    import ray

    ray.shutdown()


# ---- driver --------------------------------------------------------------------------------


def wait_ready(port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/trending", headers={"x-api-key": KEY}
            )
            if urllib.request.urlopen(request, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port}")


def direct_ports(replicas: int = 1, timeout: float = 120) -> list[int]:
    """The Gateway replicas' direct-ingress ports (Serve takes free ones from DIRECT_PORT up)."""
    from deployments.launch import direct_ingress_urls

    os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] = str(DIRECT_PORT)
    deadline = time.monotonic() + timeout
    while len(urls := direct_ingress_urls()) < replicas:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(urls)} of {replicas} Gateway replicas on :{DIRECT_PORT}+")
        time.sleep(1)
    ports = [int(url.rsplit(":", 1)[1]) for url in urls]
    for port in ports:
        wait_ready(port)
    return ports


def start_child(
    kind: str, args: dict[str, object], port: int, env: dict[str, str], replicas: int = 1
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.serve_load",
            "--child",
            kind,
            "--child-port",
            str(port),
            "--child-args",
            json.dumps(args),
            "--gateway-replicas",
            str(replicas),
        ],
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_child(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def event_lag_ms(port: int, read_port: int | None = None, user: str = "u00007") -> float:
    """POST an event for a user, then GET their list (from ``read_port``, another replica,
    if given): ms until the item is excluded."""
    headers = {"x-api-key": KEY, "content-type": "application/json"}
    get = urllib.request.Request(
        f"http://127.0.0.1:{read_port or port}/v1/users/{user}/recommendations?k=5",
        headers=headers,
    )
    first = json.loads(urllib.request.urlopen(get).read())["items"][0]["item_id"]
    body = json.dumps(
        {"events": [{"user_id": user, "item_id": first, "event_type": "play"}]}
    ).encode()
    start = time.perf_counter()
    urllib.request.urlopen(
        urllib.request.Request(f"http://127.0.0.1:{port}/v1/events", data=body, headers=headers)
    )
    while first in [i["item_id"] for i in json.loads(urllib.request.urlopen(get).read())["items"]]:
        if time.perf_counter() - start > 5:
            return float("inf")
    return (time.perf_counter() - start) * 1000


def measure(
    name: str, port: int | list[int], paths: list[str], levels: list[int], seconds: float
) -> list[LoadResult]:
    headers = {"x-api-key": KEY}
    run_load("127.0.0.1", port, paths, headers, 4, 1.0)  # warm up
    results = []
    for c in levels:
        r = run_load("127.0.0.1", port, paths, headers, c, seconds)
        print(
            f"{name:<22} c={c:<3} {r.rps:>8.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:7.2f} ms  errors {r.errors}",
            flush=True,
        )
        results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--registry", help="existing registry with ease@production and trending@production"
    )
    parser.add_argument(
        "--users", type=int, default=2000, help="demo users when building a registry"
    )
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--query", default="k=10", help="query string of the recommendation request"
    )
    parser.add_argument("--targets", default="uvicorn,serve-proxy,serve-direct")
    parser.add_argument(
        "--cache-ttl",
        type=float,
        default=1.0,
        help="per-user response micro-cache TTL in seconds (0: every request runs the model)",
    )
    parser.add_argument(
        "--gateway-replicas",
        type=int,
        default=1,
        help="Gateway replicas for the Serve targets; serve-direct spreads its connections "
        "over their direct-ingress ports, as a layer-4 balancer would",
    )
    parser.add_argument(
        "--web",
        choices=("on", "off", "both"),
        default="on",
        help="the web app at / beside the API; 'both' runs every target with and without it "
        "and prints the hot path's ratio (what the web app costs the API)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "uvicorn":
            child_uvicorn(json.loads(args.child_args), args.child_port)
        else:
            child_serve(json.loads(args.child_args), args.child_port, args.gateway_replicas)
        return 0

    root = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    registry = Path(args.registry) if args.registry else prepare_registry(root, args.users)
    keys = secrets_file(root)
    levels = [int(c) for c in args.concurrency.split(",")]
    paths = [f"/v1/users/u{n:05d}/recommendations?{args.query}" for n in range(0, args.users, 7)]
    table: dict[str, list[LoadResult]] = {}
    lags: dict[str, float] = {}
    webs = {"on": [True], "off": [False], "both": [True, False]}[args.web]
    runs = [(t, w) for t in args.targets.split(",") for w in webs]
    for target, web_app in runs:
        name = target if args.web != "both" else f"{target} web {'on' if web_app else 'off'}"
        port = free_port()
        env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
        if target == "serve-direct":
            env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
            env["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] = str(DIRECT_PORT)
        events = root / f"events-{target}-{web_app}"
        proc = start_child(
            "uvicorn" if target == "uvicorn" else "serve",
            {**app_args(registry, keys, events, args.cache_ttl), "web_app": web_app},
            port,
            env,
            args.gateway_replicas,
        )
        try:
            wait_ready(port)
            ports = direct_ports(args.gateway_replicas) if target == "serve-direct" else [port]
            table[name] = measure(name, ports, paths, levels, args.seconds)
            lags[name] = event_lag_ms(ports[0])
            if len(ports) > 1:  # through the live feed: taken by one replica, read on another
                lags[f"{name} across replicas"] = event_lag_ms(ports[0], ports[1], "u00014")
        finally:
            stop_child(proc)
    print_summary(table, lags)
    if args.web == "both":
        print("\n| target | concurrency | req/s web on | req/s web off | on / off |")
        print("|---|---|---|---|---|")
        for target in args.targets.split(","):
            on, off = table[f"{target} web on"], table[f"{target} web off"]
            for a, b in zip(on, off, strict=True):
                print(
                    f"| {target} | {a.concurrency} | {a.rps:.0f} | {b.rps:.0f} | {a.rps / b.rps:.2f}x |"
                )
    return 0


def print_summary(table: dict[str, list[LoadResult]], lags: dict[str, float]) -> None:
    base = table.get("uvicorn")
    print("\n| target | concurrency | req/s | p50 ms | p99 ms | throughput vs uvicorn |")
    print("|---|---|---|---|---|---|")
    for target, results in table.items():
        for n, r in enumerate(results):
            ratio = f"{r.rps / base[n].rps:.2f}x" if base else "-"
            print(
                f"| {target} | {r.concurrency} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio} |"
            )
    print(
        "\nevent -> recommendation lag: " + ", ".join(f"{t} {ms:.1f} ms" for t, ms in lags.items())
    )


if __name__ == "__main__":
    sys.exit(main())
