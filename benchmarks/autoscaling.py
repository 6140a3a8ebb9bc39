"""Autoscaling under a load ramp: replicas over time and latency, autoscaled vs a fixed replica.

    python -m benchmarks.autoscaling [--users 2000] [--peak 8] [--out runs/bench/autoscaling]

The same ramp (low, peak, idle) runs twice on a private local Ray: first against the Gateway
with one fixed replica (the baseline), then with the autoscaling config (short delays so the
run takes minutes, production delays are in serve_config.yaml). Prints replica counts over time,
p50/p95 latency per phase, and the ratio autoscaled / fixed. On a machine shared by other
processes the figures are under contention: compare within one run only.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.loadgen import (
    KEY,
    Load,
    failed,
    gateway_replicas,
    local_graph,
    percentile_ms,
    stop_local_graph,
)

log = logging.getLogger("benchmarks.autoscaling")

FIXED = {"autoscaling_config": {"min_replicas": 1, "max_replicas": 1}}
AUTOSCALED = {
    "autoscaling_config": {
        "min_replicas": 1,
        "max_replicas": 3,
        "target_ongoing_requests": 2,
        "upscale_delay_s": 2,
        "downscale_delay_s": 10,
        "look_back_period_s": 3,
    }
}


def ramp(port: int, paths: list[str], phases: list[tuple[str, float, int]]) -> dict[str, Any]:
    """Run ``phases`` (name, seconds, clients) back to back; sample replicas every second."""
    timeline: list[tuple[float, int]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            timeline.append((round(time.monotonic() - t0, 1), gateway_replicas()))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    results = []
    for name, seconds, clients in phases:
        if clients == 0:
            time.sleep(seconds)
            results.append({"phase": name, "clients": 0})
            continue
        load = Load(
            "127.0.0.1", port, paths, {"x-api-key": KEY}, concurrency=clients, max_seconds=seconds
        ).start()
        time.sleep(seconds)
        samples = load.stop()
        results.append(
            {
                "phase": name,
                "clients": clients,
                "requests": len(samples),
                "rps": round(len(samples) / seconds, 1),
                "p50_ms": round(percentile_ms(samples, 50), 1),
                "p95_ms": round(percentile_ms(samples, 95), 1),
                "failed": failed(samples),
            }
        )
    stop.set()
    sampler.join()
    return {"phases": results, "replicas_over_time": timeline}


def run(args: argparse.Namespace) -> dict[str, Any]:
    phases = [("low", args.low_s, 1), ("peak", args.peak_s, args.peak), ("idle", args.idle_s, 0)]
    out: dict[str, Any] = {"phases": phases}
    registry = None
    with tempfile.TemporaryDirectory(prefix="autoscaling-") as tmp:
        for name, options in (("fixed_1_replica", FIXED), ("autoscaled", AUTOSCALED)):
            port, paths = local_graph(
                f"{tmp}/{name}", n_users=args.users, gateway=options, registry=registry
            )
            registry = registry or f"{tmp}/{name}/registry"
            log.info("%s: ramp %s", name, phases)
            out[name] = ramp(port, paths, phases)
            stop_local_graph()
    return out


def summary(result: dict[str, Any]) -> str:
    lines = ["| run | phase | clients | req/s | p50 ms | p95 ms | failed |", "|---" * 7 + "|"]
    for run_name in ("fixed_1_replica", "autoscaled"):
        for p in result[run_name]["phases"]:
            if p["clients"]:
                lines.append(
                    f"| {run_name} | {p['phase']} | {p['clients']} | {p['rps']} | "
                    f"{p['p50_ms']} | {p['p95_ms']} | {p['failed']} |"
                )
    fixed = next(p for p in result["fixed_1_replica"]["phases"] if p["phase"] == "peak")
    auto = next(p for p in result["autoscaled"]["phases"] if p["phase"] == "peak")
    counts = result["autoscaled"]["replicas_over_time"]
    lines += [
        "",
        f"peak p95 autoscaled / fixed: {auto['p95_ms'] / max(fixed['p95_ms'], 1e-9):.2f}x; "
        f"throughput autoscaled / fixed: {auto['rps'] / max(fixed['rps'], 1e-9):.2f}x",
        "autoscaled replicas over time (s, n): "
        + " ".join(f"{t:g}:{n}" for t, n in counts[:: max(1, len(counts) // 40)]),
        f"max replicas {max(n for _, n in counts)}, final {counts[-1][1]}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000, help="demo users (the served data)")
    parser.add_argument("--peak", type=int, default=8, help="concurrent clients at the peak")
    parser.add_argument("--low-s", type=float, default=10)
    parser.add_argument("--peak-s", type=float, default=40)
    parser.add_argument("--idle-s", type=float, default=30, help="no load: time to scale down")
    parser.add_argument("--out", default="runs/bench/autoscaling")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    text = summary(result)
    (out / "results.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
