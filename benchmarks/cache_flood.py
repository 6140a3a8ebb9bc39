"""Memory under a flood of varying query strings: the bounded response cache vs the old one.

    python -m benchmarks.cache_flood [--seconds 60] [--flood-users 4] [--cache-ttl 1]
                                     [--registry DIR] [--variants bounded,unbounded]

One read key asks for recommendations with a query string that never repeats (``diversity=``
varying, as in issue 17), as fast as one replica answers, for ``--seconds``. Every request
goes through the app's own ASGI entrance in-process (the fast lane, the key check, the
service and its response cache are the real ones; no HTTP client shares the CPU). Each variant
runs in a fresh process, so its resident memory is its own: ``bounded`` is the cache as
shipped, ``unbounded`` the cache as it was before issue 17 (every answer kept under its raw
query string until the user's next event; expired ones never removed) as the baseline.
Prints the replica's RSS at the start and the end, and what the cache holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.common import machine, machine_line, markdown_table, write_results
from benchmarks.serve_load import KEY, app_args, prepare_registry, secrets_file


class UnboundedCache:
    """The response cache before issue 17 (commit 2a58fbf), kept for the baseline only:
    ``user -> {raw query -> (expiry, body)}``, bounded only in users."""

    def __init__(
        self,
        ttl_s: float = 1.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s, self.max_users, self._clock = ttl_s, max_users, clock
        self._entries: dict[str, dict[Hashable, tuple[float, Any]]] = {}
        self._versions: dict[str, int] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries.values())

    def users(self) -> list[str]:
        return list(self._entries)

    def get(self, user: str, key: Hashable) -> Any | None:
        entry = self._entries.get(user, {}).get(key)
        if entry is not None and entry[0] > self._clock():
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def version(self, user: str) -> tuple[int, int]:
        return self._generation, self._versions.get(user, 0)

    def put(self, user: str, key: Hashable, value: Any, version: tuple[int, int]) -> None:
        if not self.enabled:
            return
        with self._lock:
            if version != (self._generation, self._versions.get(user, 0)):
                return
            if user not in self._entries and len(self._entries) >= self.max_users:
                self._entries.clear()
            self._entries.setdefault(user, {})[key] = (self._clock() + self.ttl_s, value)

    def invalidate(self, users: Iterable[str]) -> None:
        with self._lock:
            for user in users:
                self._entries.pop(user, None)
                self._versions[user] = self._versions.get(user, 0) + 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._versions.clear()
            self._generation += 1


def rss_mb() -> float:
    """This process's resident set size (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def get(app: Any, path: str, query: bytes) -> int:
    """One GET through the app's ASGI entrance; returns the status."""
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"x-api-key", KEY.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    asyncio.run(app(scope, receive, send))
    return status


def child(variant: str, args: dict[str, Any], seconds: float, query: str, users: int) -> dict:
    from deployments.api import create_app
    from deployments.settings import AppArgs
    from deployments.state import GatewayState

    settings = AppArgs(**args)
    app = create_app(settings.max_body_bytes)
    app.state.gateway = state = GatewayState.build(settings)
    if variant == "unbounded":
        state.service.response_cache = UnboundedCache(ttl_s=settings.response_cache_ttl_s)
    cache = state.service.response_cache
    paths = [f"/v1/users/u{n:05d}/recommendations" for n in range(users)]
    for path in paths[:8]:  # warm-up: code paths, model pages (not the cache: few answers)
        get(app, path, query.encode())
    state.service.response_cache.clear()
    start_rss, samples = rss_mb(), []
    started = last = time.monotonic()
    n = failed = 0
    while (now := time.monotonic()) - started < seconds:
        status = get(app, paths[n % users], b"%s&diversity=0.%07d" % (query.encode(), n))
        failed += status != 200
        n += 1
        if now - last >= 10:
            last = now
            samples.append((round(now - started), round(rss_mb())))
            print(
                f"  [{variant}] {now - started:4.0f} s: {n} requests, RSS {rss_mb():.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    return {
        "variant": variant,
        "requests": n,
        "failed": failed,
        "req_per_s": round(n / (time.monotonic() - started), 1),
        "rss_start_mb": round(start_rss),
        "rss_end_mb": round(rss_mb()),
        "cache_entries": len(cache),
        "cache_users": len(cache.users()),
        "cache_estimated_mb": round(getattr(cache, "nbytes", 0) / 2**20, 1) or None,
        "rss_samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="flood length per variant")
    parser.add_argument(
        "--registry", help="existing registry with ease@production and trending@production"
    )
    parser.add_argument("--users", type=int, default=2000, help="demo users when building one")
    parser.add_argument(
        "--flood-users", type=int, default=4, help="read keys' users the flood cycles through"
    )
    parser.add_argument(
        "--query", default="k=200&explain=true", help="the fixed part of each query string"
    )
    parser.add_argument("--variants", default="bounded,unbounded", help="bounded, unbounded")
    parser.add_argument(
        "--cache-ttl",
        type=float,
        default=1.0,
        help="response_cache_ttl_s (the shipped 1 s; a long one leaves only the size bounds)",
    )
    parser.add_argument(
        "--out", default="runs/benchmarks/cache_flood", help="where results.json/.md go"
    )
    parser.add_argument("--smoke-test", action="store_true", help="5 s per variant, 300 users")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(
            args.child, json.loads(args.child_args), args.seconds, args.query, args.flood_users
        )
        print(json.dumps(result))
        return 0

    if args.smoke_test:
        args.seconds, args.users = min(args.seconds, 5.0), min(args.users, 300)
    facts = machine()
    root = Path(tempfile.mkdtemp(prefix="cache-flood-"))
    if args.registry:
        registry = Path(args.registry)
    else:
        print(f"training EASE and trending on demo data ({args.users} users) ...", flush=True)
        registry = prepare_registry(root, args.users)
    results = []
    for variant in args.variants.split(","):
        print(
            f"{variant}: flooding for {args.seconds:.0f} s (TTL {args.cache_ttl} s) ...", flush=True
        )
        events = root / f"events-{variant}"
        child_args = app_args(registry, secrets_file(root), events, args.cache_ttl)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.cache_flood",
                "--child",
                variant,
                "--child-args",
                json.dumps(child_args),
                "--seconds",
                str(args.seconds),
                "--query",
                args.query,
                "--flood-users",
                str(args.flood_users),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
        )  # fmt: skip  (the child's progress lines go straight to stderr)
        if proc.returncode != 0:
            return 1
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    header = ["cache", "requests", "req/s", "RSS start MB", "RSS end MB", "growth MB"]
    header += ["answers held", "cache est. MB"]
    rows = [
        [
            r["variant"],
            r["requests"],
            r["req_per_s"],
            r["rss_start_mb"],
            r["rss_end_mb"],
            r["rss_end_mb"] - r["rss_start_mb"],
            r["cache_entries"],
            r["cache_estimated_mb"] or "-",
        ]
        for r in results
    ]
    settings = (
        f"{args.seconds:.0f} s per variant, {args.flood_users} users, `{args.query}&diversity=...`"
        f" never repeating, response_cache_ttl_s={args.cache_ttl}"
    )
    markdown = f"{machine_line(facts)}\n\n{settings}\n\n{markdown_table(header, rows, 1)}"
    print("\n" + markdown)
    out = write_results(
        args.out, {"machine": facts, "args": vars(args), "results": results}, markdown
    )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
