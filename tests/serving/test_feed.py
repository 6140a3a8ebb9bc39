"""The live feed's log: order, a reader's own updates skipped, retention and restarts."""

from __future__ import annotations

import pyarrow as pa
import pytest

from entertainai.errors import InputError
from entertainai.serving.feed import EVENTS, ITEMS, LiveFeed, payload_bytes


def test_readers_page_through_in_order_without_their_own_updates():
    feed = LiveFeed()
    feed.publish("a", EVENTS, (("u1", "i1", 1.0, 1.0),))
    feed.publish("b", EVENTS, (("u2", "i2", 2.0, 1.0),))
    feed.publish("a", ITEMS, {"table": None, "blocked": []})
    page = feed.since(None, 0, "b")  # a new reader starts from what the feed holds
    assert [(u.seq, u.origin, u.kind) for u in page.updates] == [(0, "a", EVENTS), (2, "a", ITEMS)]
    assert page.next_seq == 3 and page.missed == 0
    assert feed.since(page.epoch, page.next_seq, "b").updates == ()
    feed.publish("c", EVENTS, ())
    assert [u.seq for u in feed.since(page.epoch, page.next_seq, "b").updates] == [3]


def test_a_reader_behind_the_retention_is_told_what_it_missed():
    feed = LiveFeed(retention=2)
    for n in range(5):
        feed.publish("a", EVENTS, (n,))
    page = feed.since(feed.epoch, 1, "b")
    assert [u.payload for u in page.updates] == [(3,), (4,)] and page.missed == 2


def test_a_restarted_feed_starts_its_readers_over():
    old, new = LiveFeed(), LiveFeed()
    new.publish("a", EVENTS, ("x",))
    page = new.since(old.epoch, 7, "b")  # a cursor from the old feed means nothing here
    assert [u.payload for u in page.updates] == [("x",)] and page.epoch == new.epoch


def test_unknown_kinds_and_retention_are_refused():
    with pytest.raises(InputError):
        LiveFeed().publish("a", "gossip", ())
    with pytest.raises(InputError):
        LiveFeed(retention=0)
    with pytest.raises(InputError):
        LiveFeed(max_bytes=0)


def rows(n: int, tag: str = "") -> tuple:
    return tuple((f"user-{tag}{i:06d}", f"item-{i:05d}", float(i), 1.0) for i in range(n))


def test_retention_is_bounded_in_bytes_not_only_in_updates():
    """Issue 17: 50,000 updates of up to 10,000 events each were all kept."""
    feed = LiveFeed(retention=50_000, max_bytes=5_000_000)
    for n in range(40):
        feed.publish("a", EVENTS, rows(1_000, str(n)))  # ~250 kB each
    assert feed.nbytes <= 5_000_000 and len(feed) < 40
    page = feed.since(feed.epoch, 0, "b", max_bytes=10**9)
    assert page.missed == 40 - len(feed) and page.updates[-1].seq == 39
    # One update larger than the whole bound is still delivered (alone), not lost.
    feed.publish("a", EVENTS, rows(30_000))
    assert len(feed) == 1 and feed.since(None, 0, "b").updates[0].seq == 40


def test_payload_estimates_grow_with_what_they_carry():
    assert 200 * 1_000 < payload_bytes(EVENTS, rows(1_000)) < 400 * 1_000
    table = pa.table({"item_id": [f"i{n}" for n in range(1_000)], "title": ["t" * 100] * 1_000})
    assert payload_bytes(ITEMS, {"table": table, "blocked": []}) >= table.nbytes > 100_000


def test_a_catch_up_comes_in_bounded_pages_until_there_is_no_more():
    feed = LiveFeed()
    for n in range(25):
        feed.publish("a" if n % 5 else "b", EVENTS, rows(10, str(n)))
    seen, calls, cursor, epoch = [], 0, 0, None
    while True:
        page = feed.since(epoch, cursor, "b", max_updates=4)
        calls += 1
        assert len(page.updates) <= 4
        seen += [u.seq for u in page.updates]
        epoch, cursor = page.epoch, page.next_seq
        if not page.more:
            break
    assert seen == [n for n in range(25) if n % 5] and calls == 5 and cursor == 25
    # A byte-sized page: as many updates as fit, and never none.
    one = feed.since(None, 0, "b", max_bytes=1)
    assert len(one.updates) == 1 and one.more
    sized = feed.since(None, 0, "b", max_bytes=3 * one.updates[0].nbytes)
    assert len(sized.updates) == 3 and sized.more
