"""Explanations: the closest watched item, trending, new arrivals, and the fallback."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from entertainai.recommend import InteractionData, create
from entertainai.recommend.explain import (
    NEW,
    POPULAR,
    TRENDING,
    WATCHED,
    explain,
    histories_from_seen,
)


def test_because_you_watched_points_at_the_closest_history_item(data: InteractionData):
    model = create("content").fit(data)
    items = model.item_indices(["i4", "i5"])[None, :]
    history = [model.item_indices(["i2", "i7"])]  # a Sci-Fi and a Romance title
    out = explain(items, history, model.catalogue_, model.items_)
    assert out.reasons[0].tolist() == [WATCHED, WATCHED]
    assert out.anchors[0].tolist() == ["i2", "i7"]
    assert out.texts[0, 0] == "Because you watched Space story 2"


def test_trending_new_and_fallback(data: InteractionData):
    catalogue = data.catalogue
    trending = np.zeros(len(catalogue))
    trending[[6, 8]] = [5.0, 3.0]
    new = np.zeros(len(catalogue), bool)
    new[9] = True
    items = np.array([[6, 9, 11, -1], [8, 13, -1, -1]])
    no_history = [np.array([], np.int64)] * 2
    out = explain(items, no_history, catalogue, trending=trending, new=new, trending_top=2)
    assert out.reasons.tolist() == [[TRENDING, NEW, POPULAR, ""], [TRENDING, POPULAR, "", ""]]
    assert out.texts[0, 0] == "Trending in Sci-Fi" and out.texts[0, 1] == "New in Romance"
    assert out.texts[0, 2] == "Popular with viewers like you"
    assert out.row(1) == [
        (TRENDING, "Trending in Sci-Fi"),
        (POPULAR, "Popular with viewers like you"),
    ]


def test_weak_similarity_does_not_explain(data: InteractionData):
    # Genre vectors by default: a Romance watch says nothing about a Sci-Fi pick.
    out = explain(np.array([[0]]), [np.array([1, 3])], data.catalogue)
    assert out.reasons[0, 0] == POPULAR and out.anchors[0, 0] == ""


def test_histories_from_a_models_seen_matrix(data: InteractionData):
    model = create("popularity").fit(data)
    users = model.user_indices(["u0", "nobody"])
    histories = histories_from_seen(model.seen_, users)
    assert set(model.item_ids_[histories[0]]) == set(
        data.item_ids[data.matrix[data.user_index()["u0"]].indices]
    )
    assert len(histories[1]) == 0


def test_items_without_genre_get_generic_texts():
    from entertainai.recommend.catalogue import Catalogue

    catalogue = Catalogue.from_table(pa.table({"item_id": ["a", "b"], "title": ["A", "B"]}))
    out = explain(
        np.array([[0, 1]]),
        [np.array([], np.int64)],
        catalogue,
        trending=np.array([1.0, 0.0]),
        new=np.array([False, True]),
    )
    assert out.texts[0].tolist() == ["Trending now", "Just added"]
