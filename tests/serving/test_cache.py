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


def test_one_users_flood_of_query_strings_stays_within_its_bounds():
    """Issue 17: one read key varying ``diversity=`` grew a replica without bound."""
    clock = Clock()
    cache = ResponseCache(ttl_s=1.0, clock=clock, max_bytes=2_000_000, max_per_user=8)
    body = b"x" * 40_000  # a k=200 answer with explanations
    for n in range(2_000):
        key = b"k=200&diversity=0.%06d" % n
        cache.put("u1", key, body, cache.version("u1"))
        clock.now += 0.0001  # all within one TTL: time alone bounds nothing
    assert len(cache) <= 8 and cache.nbytes <= 2_000_000
    assert cache.get("u1", b"k=200&diversity=0.%06d" % 1_999) == body  # the newest stays


def test_the_byte_bound_holds_across_users_and_evicts_the_least_recent():
    cache = ResponseCache(ttl_s=60.0, max_bytes=1_000_000)
    body = b"x" * 10_000
    for n in range(1_000):
        cache.put(f"u{n}", b"k=10", body, cache.version(f"u{n}"))
    assert cache.nbytes <= 1_000_000 and len(cache) < 100
    assert cache.get("u999", b"k=10") == body and cache.get("u0", b"k=10") is None


def test_expired_answers_leave_the_cache():
    clock = Clock()
    cache = ResponseCache(ttl_s=1.0, clock=clock)
    for n in range(500):
        cache.put(f"u{n}", b"k=10", b"x" * 1000, cache.version(f"u{n}"))
    clock.now += 2.0
    cache.put("late", b"k=10", b"y", cache.version("late"))  # any write drops what expired
    assert cache.users() == ["late"] and len(cache) == 1 and cache.nbytes < 2_000


def test_an_answer_too_large_for_the_cache_is_not_kept():
    cache = ResponseCache(ttl_s=10.0, max_bytes=10_000)
    cache.put("u1", b"k=10", b"x" * 20_000, cache.version("u1"))
    assert cache.get("u1", b"k=10") is None and cache.nbytes == 0


def test_equivalent_query_strings_share_an_entry():
    cache = ResponseCache(ttl_s=10.0)
    cache.put("u1", b"k=5&explain=false&include_genres=A", b"a", cache.version("u1"))
    for same in (b"explain=false&include_genres=A&k=5", b"include_genres=A&&k=5&explain=false"):
        assert cache.get("u1", same) == b"a", same
    # Order that changes the answer is kept: the last scalar wins, a list keeps its order.
    cache.put("u1", b"k=5&k=10", b"ten", cache.version("u1"))
    assert cache.get("u1", b"k=10&k=5") is None
    cache.put("u1", b"include_genres=A&include_genres=B", b"AB", cache.version("u1"))
    assert cache.get("u1", b"include_genres=B&include_genres=A") is None
    # An encoded name is not moved: it might decode to a name it would then pass.
    cache.put("u1", b"%6B=5&k=10", b"k10", cache.version("u1"))
    assert cache.get("u1", b"k=10&%6B=5") is None
