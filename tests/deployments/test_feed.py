"""Two Gateway replicas share live updates through the feed: an event or a new item taken by
one shows in the other's answers after one poll (the feed and both apps are real; only the
handle is in-process)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.feed import FeedFollower, LiveFeedDeployment
from deployments.settings import AppArgs
from deployments.state import GatewayState
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY

R, W, A = ({"x-api-key": k} for k in (READ_KEY, WRITE_KEY, ADMIN_KEY))


@pytest.fixture()
def replicas(served_registry: Path, tmp_path: Path, api_keys) -> Iterator[list]:
    feed = InProcessHandle(LiveFeedDeployment.func_or_class(AppArgs().model_dump()))
    out, clients = [], []
    for name in ("a", "b"):
        args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / name))
        app = create_app(args.max_body_bytes)
        app.state.gateway = state = GatewayState.build(args, replica_id=name)
        state.feed = FeedFollower(feed, name, state.service)
        clients.append(TestClient(app, raise_server_exceptions=False))
        out.append((clients[-1], state))
    with clients[0], clients[1]:
        yield out


def top(client: TestClient, user: str, query: str = "k=5&explain=false") -> list[str]:
    r = client.get(f"/v1/users/{user}/recommendations?{query}", headers=R)
    assert r.status_code == 200
    return [i["item_id"] for i in r.json()["items"]]


def test_an_event_taken_by_one_replica_shows_on_the_other_after_a_poll(replicas):
    (a, state_a), (b, state_b) = replicas
    first = top(b, "u00011")[0]  # b has it cached now, too
    event = {"user_id": "u00011", "item_id": first, "event_type": "play"}
    assert a.post("/v1/events", json={"events": [event]}, headers=W).status_code == 202
    assert first not in top(a, "u00011")  # the receiving replica at once
    assert first in top(b, "u00011")  # the other one has not polled yet
    assert asyncio.run(state_b.feed.poll()) == 1
    assert first not in top(b, "u00011")  # its cache was invalidated by the replay
    assert asyncio.run(state_a.feed.poll()) == 0  # a never replays its own update
    # b's replay did not write to its own event log: only the receiving replica logs durably.
    assert state_a.service.events.count() == 1 and state_b.service.events.count() == 0


def test_a_new_item_posted_to_one_replica_is_recommendable_on_the_other(replicas):
    (a, _), (b, state_b) = replicas
    item = {
        "item_id": "fresh-horror",
        "title": "Haunted Scream House",
        "description": "haunted blood scream ghost night",
        "genres": ["Horror"],
        "year": 2026,
        "maturity_rating": "R",
    }
    assert a.post("/v1/items", json={"items": [item]}, headers=A).status_code == 201
    query = "k=5&include_genres=Horror&preferred_genres=Horror&explain=false"
    assert "fresh-horror" not in top(b, "cold-viewer", query)
    asyncio.run(state_b.feed.poll())
    assert "fresh-horror" in top(b, "cold-viewer", query)
    assert b.get("/v1/items/fresh-horror/similar?k=3", headers=R).status_code == 200
    asyncio.run(state_b.feed.poll())  # replaying nothing new changes nothing
    assert top(b, "cold-viewer", query).count("fresh-horror") == 1


def test_an_erasure_on_one_replica_is_forgotten_by_the_other_after_a_poll(replicas):
    (a, _), (b, state_b) = replicas
    first = top(b, "u00012")[0]
    event = {"user_id": "u00012", "item_id": first, "event_type": "play"}
    assert a.post("/v1/events", json={"events": [event]}, headers=W).status_code == 202
    asyncio.run(state_b.feed.poll())
    assert state_b.service.history.items("u00012") != []
    assert a.delete("/v1/users/u00012", headers=A).status_code == 200
    asyncio.run(state_b.feed.poll())
    assert state_b.service.history.items("u00012") == []
    assert "u00012" not in state_b.service.response_cache.users()


def test_followers_long_poll_and_wake_on_others_updates_only():
    feed = LiveFeedDeployment.func_or_class(AppArgs().model_dump())

    async def scenario() -> tuple:
        empty = await feed.since(None, 0, "b", wait_s=0.05)  # nothing: returns after the wait
        waiting = asyncio.create_task(feed.since(empty.epoch, empty.next_seq, "b", wait_s=5))
        await asyncio.sleep(0.05)
        await feed.publish("b", "events", ())  # its own update does not wake it
        await asyncio.sleep(0.05)
        own_only = waiting.done()
        started = asyncio.get_running_loop().time()
        await feed.publish("a", "events", (("u1", "i1", 1.0, 1.0),))
        page = await waiting
        return empty, own_only, page, asyncio.get_running_loop().time() - started

    empty, own_only, page, waited = asyncio.run(scenario())
    assert empty.updates == () and not own_only
    assert [u.origin for u in page.updates] == ["a"] and page.next_seq == 2
    assert waited < 0.5  # woken by the publish, not by the 5 s timeout


class Recorder:
    """A service stand-in that records what it applies and fails on chosen payloads."""

    def __init__(self, fail_on: object = None) -> None:
        self.applied: list = []
        self.fail_on = fail_on

    def apply_update(self, update) -> None:
        if update.payload == self.fail_on:
            raise ValueError("cannot apply this one")
        self.applied.append(update.payload)


class CountingHandle(InProcessHandle):
    def __init__(self, target) -> None:
        super().__init__(target)
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        self.calls.append(name)
        return super().__getattr__(name)


def test_a_new_replica_catches_up_in_bounded_pages():
    """Issue 17: a new replica pulled everything retained in one reply."""
    feed = LiveFeedDeployment.func_or_class(AppArgs().model_dump())
    for n in range(25):
        feed.feed.publish("a", "events", ((f"u{n}", "i1", 1.0, 1.0),))
    handle = CountingHandle(feed)
    service = Recorder()
    follower = FeedFollower(handle, "new", service, page_updates=10)
    assert asyncio.run(follower.poll(wait_s=0.01)) == 25
    assert [p[0][0] for p in service.applied] == [f"u{n}" for n in range(25)]
    assert handle.calls.count("since") == 3 and follower.seq == 25


def test_an_update_that_fails_to_apply_is_skipped_logged_and_counted(caplog):
    from deployments.feed import FEED_SKIPPED

    feed = LiveFeedDeployment.func_or_class(AppArgs().model_dump())
    bad = (("u-bad", "i1", 1.0, 1.0),)
    for payload in [(("u1", "i1", 1.0, 1.0),), bad, (("u2", "i1", 1.0, 1.0),)]:
        feed.feed.publish("a", "events", payload)
    service = Recorder(fail_on=bad)
    follower = FeedFollower(InProcessHandle(feed), "b", service)
    skipped = FEED_SKIPPED.labels("events")
    before = skipped._value.get()
    with caplog.at_level("WARNING", logger="deployments.feed"):
        assert asyncio.run(follower.poll()) == 2
    assert [p[0][0] for p in service.applied] == ["u1", "u2"] and follower.seq == 3
    assert skipped._value.get() == before + 1
    assert any(
        r.levelname == "WARNING" and "skipped live update 1" in r.message for r in caplog.records
    )
    assert asyncio.run(follower.poll()) == 0  # not retried forever: the cursor moved past it


def test_publish_gives_up_after_its_timeout():
    from deployments.observability import FEED_ERRORS

    class StuckFeed:
        async def publish(self, origin, kind, payload):
            await asyncio.sleep(30)

    follower = FeedFollower(InProcessHandle(StuckFeed()), "a", Recorder(), timeout_s=0.05)
    errors = FEED_ERRORS.labels("publish")
    before = errors._value.get()

    async def timed() -> float:
        started = asyncio.get_running_loop().time()
        await follower.publish("events", ())
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(timed()) < 1.0 and errors._value.get() == before + 1


def test_a_stuck_or_failing_feed_never_stalls_the_follower():
    """A poll that hangs is given up after its timeout, a failing one is retried, and the
    follower goes on to apply what comes next (commit 301618c's claims, end to end)."""
    from deployments.observability import FEED_ERRORS

    feed = LiveFeedDeployment.func_or_class(AppArgs().model_dump())
    feed.feed.publish("a", "events", (("u1", "i1", 1.0, 1.0),))

    class Flaky:
        calls = 0

        async def since(self, *args):
            Flaky.calls += 1
            if Flaky.calls == 1:
                await asyncio.sleep(30)  # stuck: the follower's timeout gives up on it
            if Flaky.calls == 2:
                raise ConnectionError("feed restarting")
            return await feed.since(*args)

    service = Recorder()
    follower = FeedFollower(InProcessHandle(Flaky()), "b", service, timeout_s=0.05)
    errors = FEED_ERRORS.labels("poll")
    before = errors._value.get()

    async def run() -> None:
        task = asyncio.create_task(follower.follow(retry_s=0.01, wait_s=0.0))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if service.applied:
                break
        task.cancel()

    asyncio.run(run())
    assert [p[0][0] for p in service.applied] == ["u1"] and errors._value.get() == before + 2
