"""Trending counters: bursts show at once, decay with time, differ per window; recent history."""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.model import load_model
from entertainai.recommend import InteractionData
from entertainai.recommend.history import RecentHistory
from entertainai.recommend.trending import Trending, TrendingConfig, window_hours, window_name

HOUR = 3600.0


@pytest.fixture
def trending(data: InteractionData) -> Trending:
    return Trending().fit(data)


def burst(model: Trending, item: str, n: int, at: float) -> None:
    model.update([(f"v{j}", item, at, 1.0) for j in range(n)])


def test_burst_tops_the_hour_window_at_once(trending):
    assert "i39" not in dict(trending.trending(40, "1h"))  # never watched in the fit data
    burst(trending, "i39", 10, trending.clock_ + 60)
    assert trending.trending(1, "1h")[0][0] == "i39"
    # The week still belongs to the steady favourites: windows differ.
    assert trending.trending(1, "7d")[0][0] != "i39"
    assert trending.recommend(["u0"], k=1, filters=None).item_ids[0, 0] != "i39"  # default 1d


def test_default_window_drives_recommend(data):
    model = Trending(TrendingConfig(default_window="1h")).fit(data)
    burst(model, "i39", 10, model.clock_ + 60)
    assert model.recommend(["u0", "nobody"], k=1).item_ids[:, 0].tolist() == ["i39", "i39"]


def test_scores_decay_with_time(trending):
    now = trending.clock_
    hour, week = trending.scores("1h", now), trending.scores("7d", now)
    later_hour = trending.scores("1h", now + 2 * HOUR)
    later_week = trending.scores("7d", now + 2 * HOUR)
    np.testing.assert_allclose(later_hour, hour * np.exp(-2.0), rtol=1e-9)
    np.testing.assert_allclose(later_week, week * np.exp(-2.0 / 168), rtol=1e-9)
    first = trending.trending(3, "1h", now=now)
    assert [s for _, s in trending.trending(3, "1h", now=now + HOUR)] < [s for _, s in first]


def test_new_item_in_events_extends_the_index(trending, tmp_path):
    n = len(trending.item_ids_)
    burst(trending, "brand-new", 30, trending.clock_ + 1)
    assert len(trending.item_ids_) == n + 1 and trending.seen_.shape[1] == n + 1
    assert trending.trending(1, "1d")[0][0] == "brand-new"
    loaded = load_model(trending.save(tmp_path / "t"))
    assert loaded.trending(3, "1h") == trending.trending(3, "1h")


def test_batch_equals_one_by_one_in_any_order(data):
    events = [("a", f"i{i % 7}", 1_700_100_000.0 + 97 * i, 1.0 + i % 3) for i in range(50)]
    batched, single = Trending().fit(data), Trending().fit(data)
    batched.update(events)
    for e in reversed(events):
        single.update([e])
    np.testing.assert_allclose(batched.counts_, single.counts_, rtol=1e-9)


def test_far_future_events_rebase_without_overflow(trending):
    far = trending.clock_ + 10_000 * HOUR
    burst(trending, "i3", 2, far)
    assert trending.ref_time_ == far
    assert np.isfinite(trending.counts_).all()
    assert trending.trending(1, "1h")[0][0] == "i3"
    assert trending.scores("1h")[trending.item_indices(["i3"])[0]] == pytest.approx(2.0)


def test_genre_filter(trending):
    top = trending.trending(5, "7d", genre="Romance")
    assert len(top) == 5 and all(int(i[1:]) % 2 == 1 for i, _ in top)
    assert trending.trending(5, genre="no-such-genre") == []


def test_windows_and_errors(trending):
    assert trending.windows == ["1h", "1d", "7d"]
    assert window_hours("7d") == 168 and window_hours("2w") == 336 and window_name(24) == "1d"
    with pytest.raises(InputError):
        trending.trending(5, "3d")
    with pytest.raises(InputError):
        TrendingConfig(default_window="2h")
    with pytest.raises(InputError):
        trending.update([("u", "i1", "yesterday", 1.0)])


def test_recent_history():
    history = RecentHistory(maxlen=3)
    history.update([("u", "a", 3.0, 1.0), ("u", "b", 1.0, 1.0), ("u", "c", 2.0, 1.0)])
    assert history.items("u") == ["a", "c", "b"]  # newest first, whatever the batch order
    history.add("u", "b")
    history.add("u", "d")
    assert history.items("u") == ["d", "b", "a"]  # re-watch moves up, maxlen drops the oldest
    assert history.items("stranger") == []

    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    scores = np.zeros((2, 4), np.float32)
    history.exclude(scores, ["u", "stranger"], lambda ids: np.array([index[i] for i in ids]))
    assert np.isinf(scores[0, [0, 1, 3]]).all() and scores[0, 2] == 0 and (scores[1] == 0).all()


def test_recent_history_bounds_users_and_seeds_from_data(data):
    history = RecentHistory(maxlen=2, max_users=2)
    for u in ("x", "y", "z"):
        history.add(u, "i1")
    assert len(history) == 2 and history.items("x") == []
    seeded = RecentHistory.from_interactions(data, maxlen=3)
    row = data.last_seen[data.user_index()["u0"]].toarray().ravel()
    newest = data.item_ids[np.argsort(-row, kind="stable")[:3]].tolist()
    assert seeded.items("u0") == newest
