"""The soak's verdict: memory trend, and whether the load was really held throughout."""

from __future__ import annotations

import argparse

from benchmarks.soak import verdict

ARGS = argparse.Namespace(minutes=1.0, clients=2, think_ms=10, max_growth_mb_per_h=200)


def window(t: float, requests: int, rss: float) -> dict:
    return {
        "t_s": t,
        "requests": requests,
        "rps": requests / 15,
        "p50_ms": 8.0,
        "p99_ms": 18.0,
        "failed": 0,
        "rss_total_mb": rss,
        "rss_mb": {"replica": rss},
    }


def test_flat_memory_under_steady_load_passes():
    result = verdict([window(15 * i, 1500, 3000.0 + (i % 2)) for i in range(1, 9)], ARGS)
    assert result["memory_bounded"] and result["idle_windows"] == 0
    assert result["requests"] == 8 * 1500


def test_load_that_stopped_is_reported():
    rows = [window(15 * i, 1500 if i < 5 else 0, 3000.0) for i in range(1, 9)]
    assert verdict(rows, ARGS)["idle_windows"] == 4


def test_growing_memory_fails():
    rows = [window(15 * i, 1500, 3000.0 + 10 * i) for i in range(1, 9)]  # 2,400 MB/h
    assert not verdict(rows, ARGS)["memory_bounded"]
