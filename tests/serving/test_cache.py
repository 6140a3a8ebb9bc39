"""The per-user response micro-cache: expiry, invalidation and the compute/ingest race."""

from __future__ import annotations

from entertainai.serving.cache import ResponseCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl():
    clock = Clock()
    cache = ResponseCache(ttl_s=1.0, clock=clock)
    cache.put("u1", b"k=10", b"body", cache.version("u1"))
    assert cache.get("u1", b"k=10") == b"body" and cache.get("u1", b"k=5") is None
    clock.now += 1.01
    assert cache.get("u1", b"k=10") is None


def test_invalidate_forgets_one_user_and_refuses_a_stale_put():
    cache = ResponseCache(ttl_s=10.0)
    for user in ("u1", "u2"):
        cache.put(user, b"q", user.encode(), cache.version(user))
    version = cache.version("u1")  # a request starts computing u1's answer ...
    cache.invalidate(["u1"])  # ... an event for u1 lands meanwhile
    cache.put("u1", b"q", b"stale", version)
    assert cache.get("u1", b"q") is None and cache.get("u2", b"q") == b"u2"


def test_clear_drops_everything_and_in_flight_answers():
    cache = ResponseCache(ttl_s=10.0)
    version = cache.version("u1")
    cache.put("u2", b"q", b"x", cache.version("u2"))
    cache.clear()  # a model swap
    cache.put("u1", b"q", b"old model", version)
    assert cache.get("u1", b"q") is None and cache.get("u2", b"q") is None


def test_disabled_cache_stores_nothing_and_size_is_bounded():
    off = ResponseCache(ttl_s=0.0)
    off.put("u1", b"q", b"x", off.version("u1"))
    assert off.get("u1", b"q") is None
    small = ResponseCache(ttl_s=10.0, max_users=3)
    for n in range(10):
        small.put(f"u{n}", b"q", b"x", small.version(f"u{n}"))
    assert sum(small.get(f"u{n}", b"q") is not None for n in range(10)) <= 3
