"""The live feed's log: order, a reader's own updates skipped, retention and restarts."""

from __future__ import annotations

import pytest

from entertainai.errors import InputError
from entertainai.serving.feed import EVENTS, ITEMS, LiveFeed


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
