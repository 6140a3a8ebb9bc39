"""A bounded soak: moderate load on the Serve graph, memory of every Ray process and latency over time.

    python -m benchmarks.soak [--minutes 10] [--clients 2] [--think-ms 10] [--out runs/bench/soak]

Runs the shipped Serve config on a private local Ray. Every ``--sample-s`` seconds it records
the RSS of every Ray process (replicas, proxy, controller, raylet, GCS; identified by command
line) and the latency of the requests finished in that window. The verdict compares the start
with the end: the baseline is the first sampled window after warm-up, and memory "grows
without bound" when the total RSS trend over the second half exceeds ``--max-growth-mb-per-h``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.loadgen import KEY, Load, failed, local_graph, stop_local_graph

log = logging.getLogger("benchmarks.soak")


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, RSS MB) from /proc (no psutil in the pins)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
            with open(f"/proc/{entry}/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        table[int(entry)] = (ppid, cmd, rss)
    return table


def ray_processes() -> dict[str, float]:
    """RSS in MB of every Ray process under this driver, keyed by role and pid."""
    table = _proc_table()
    mine, frontier = set(), {os.getpid()}
    while frontier:  # descendants of this process: the private Ray's GCS, raylet, workers
        frontier = {pid for pid, (ppid, _, _) in table.items() if ppid in frontier} - mine
        mine |= frontier
    return {f"{role_of(table[p][1])}:{p}": round(table[p][2], 1) for p in sorted(mine)}


def role_of(cmd: str) -> str:
    for marker, role in (
        ("ServeReplica:entertainai:Gateway", "gateway"),
        ("ServeReplica:entertainai:BatchRecommender", "batch"),
        ("ProxyActor", "proxy"),
        ("ServeController", "controller"),
        ("gcs_server", "gcs"),
        ("raylet", "raylet"),
        ("dashboard", "dashboard"),
        ("log_monitor", "log_monitor"),
        ("ray::", "worker"),
    ):
        if marker in cmd:
            return role
    return cmd.split(" ", 1)[0].rsplit("/", 1)[-1] or "?"


def slope_per_hour(t: list[float], y: list[float]) -> float:
    if len(t) < 3:
        return float("nan")
    return float(np.polyfit(np.array(t) / 3600, np.array(y), 1)[0])


def soak(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        port, paths = local_graph(tmp, n_users=args.users)
        load = Load(
            "127.0.0.1",
            port,
            paths,
            {"x-api-key": KEY},
            concurrency=args.clients,
            think_s=args.think_ms / 1000,
            max_seconds=args.minutes * 60 + 5,
            # Bounded by time only: the default request cap ended a 55-minute soak's load
            # after 32 minutes (200,000 requests at ~100/s), and the rest measured nothing.
            max_requests=sys.maxsize,
        ).start()
        rows: list[dict[str, Any]] = []
        seen = 0
        end = time.monotonic() + args.minutes * 60
        try:
            while time.monotonic() < end:
                time.sleep(args.sample_s)
                samples = load.samples[seen:]
                seen += len(samples)
                lat = np.array([s.latency_s for s in samples]) * 1000 if samples else np.zeros(1)
                rss = ray_processes()
                row = {
                    "t_s": round(load.elapsed(), 1),
                    "requests": len(samples),
                    "rps": round(len(samples) / args.sample_s, 1),
                    "p50_ms": round(float(np.percentile(lat, 50)), 2),
                    "p99_ms": round(float(np.percentile(lat, 99)), 2),
                    "failed": failed(samples),
                    "rss_total_mb": round(sum(rss.values()), 1),
                    "rss_mb": rss,
                }
                rows.append(row)
                log.info(
                    "t=%5.0fs rps=%6.1f p50=%6.2fms p99=%6.2fms rss=%7.1fMB failed=%d",
                    row["t_s"],
                    row["rps"],
                    row["p50_ms"],
                    row["p99_ms"],
                    row["rss_total_mb"],
                    row["failed"],
                )
        finally:
            load.stop()
            stop_local_graph()
    return verdict(rows, args)


def verdict(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    warm = rows[1:] if len(rows) > 2 else rows  # the first window includes model loading
    half = warm[len(warm) // 2 :]
    t = [r["t_s"] for r in half]
    growth = slope_per_hour(t, [r["rss_total_mb"] for r in half])
    per_role: dict[str, float] = {}
    for key in half[0]["rss_mb"] if half else []:
        ys = [r["rss_mb"].get(key) for r in half]
        if all(y is not None for y in ys):
            per_role[key] = round(slope_per_hour(t, ys), 1)
    first, last = warm[0], warm[-1]
    return {
        "minutes": args.minutes,
        "clients": args.clients,
        "think_ms": args.think_ms,
        "windows": rows,
        "baseline_window": {
            k: first[k] for k in ("t_s", "rps", "p50_ms", "p99_ms", "rss_total_mb")
        },
        "final_window": {k: last[k] for k in ("t_s", "rps", "p50_ms", "p99_ms", "rss_total_mb")},
        "p50_ratio_end_vs_start": round(last["p50_ms"] / max(first["p50_ms"], 1e-9), 2),
        "rss_ratio_end_vs_start": round(last["rss_total_mb"] / max(first["rss_total_mb"], 1e-9), 3),
        "rss_growth_mb_per_h_second_half": round(growth, 1),
        "rss_growth_mb_per_h_by_process": per_role,
        "failed": sum(r["failed"] for r in rows),
        "requests": sum(r["requests"] for r in rows),
        # Windows after warm-up in which nothing was answered: the load was not held.
        "idle_windows": sum(1 for r in warm if r["requests"] == 0),
        "memory_bounded": bool(growth <= args.max_growth_mb_per_h),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2, help="closed-loop clients")
    parser.add_argument("--think-ms", type=float, default=10, help="pause between requests")
    parser.add_argument("--sample-s", type=float, default=15)
    parser.add_argument("--users", type=int, default=2000, help="demo users (the served data)")
    parser.add_argument(
        "--max-growth-mb-per-h",
        type=float,
        default=200,
        help="total RSS trend over the second half above this fails the soak (exit 1)",
    )
    parser.add_argument("--out", default="runs/bench/soak")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = soak(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    shown = {k: v for k, v in result.items() if k != "windows"}
    print(json.dumps(shown, indent=2))
    held = result["failed"] == 0 and result["idle_windows"] == 0
    return 0 if result["memory_bounded"] and held else 1


if __name__ == "__main__":
    raise SystemExit(main())
