"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (keep-alive).

Lean on purpose: on a 2-core machine the client shares the CPU with the server, so a heavy
client (httpx, requests) would measure itself. Only for loopback targets.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def _worker(
    host: str,
    port: int,
    paths: list[str],
    headers: str,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
    seed: int,
) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            path = paths[rng.randrange(len(paths))]
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
            start = time.perf_counter()
            writer.write(request)
            # One read for the whole head, then the body: a read per header line cost the
            # client as much CPU as a cache hit costs the server.
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_content_length(head))
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


def _content_length(head: bytes) -> int:
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    start = at + len(b"\r\ncontent-length:")
    return int(head[start : head.index(b"\r\n", start)])


async def _run(
    host: str,
    ports: Sequence[int],
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
) -> LoadResult:
    header_text = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(
        *[
            _worker(
                host, ports[seed % len(ports)], paths, header_text, stop_at, latencies, errors, seed
            )
            for seed in range(concurrency)
        ]
    )
    elapsed = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000
    return LoadResult(
        concurrency,
        len(lat),
        len(errors),
        elapsed,
        float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        float(np.percentile(lat, 99)) if len(lat) else float("nan"),
    )


def run_load(
    host: str,
    port: int | Sequence[int],
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
) -> LoadResult:
    """``concurrency`` connections, each sending its next request when the last answered;
    several ports (replicas' direct-ingress ports) share the connections round-robin, as a
    layer-4 load balancer in front of them would."""
    if not host.startswith("127.") and host != "localhost":
        raise ValueError("load tests target loopback only")
    ports = [port] if isinstance(port, int) else list(port)
    # uvloop (Ray and uvicorn depend on it) where present: the client shares the server's cores.
    run = getattr(_uvloop(), "run", asyncio.run)
    return run(_run(host, ports, paths, headers, concurrency, seconds))


def _uvloop():
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a plain asyncio loop works too, only slower
        return None
    return uvloop
