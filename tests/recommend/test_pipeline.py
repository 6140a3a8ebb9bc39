"""The one recommendation pipeline: the same lists offline and with live state, each step
checked against a brute-force reference."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.params import parse_params
from entertainai.recommend import pipeline
from entertainai.recommend.base import create
from entertainai.recommend.filters import Filters
from entertainai.recommend.history import RecentHistory
from entertainai.recommend.hybrid import Preferences
from entertainai.recommend.interactions import InteractionData


@pytest.fixture(scope="module")
def ease(data: InteractionData):
    return create("ease").fit(data)


def brute_force(model, user: str, k: int, filters: Filters) -> tuple[list[float], set[str]]:
    """Sort every item by score, drop seen and filtered ones: the scores ranking must return
    (ties may come in any order) and the items it may choose from."""
    u = model.user_indices([user])[0]
    scores = model.user_scores([user])[0]
    allowed = filters.mask(model.catalogue_)
    seen = set(model.seen_[u].indices.tolist()) if u >= 0 else set()
    order = [i for i in np.argsort(-scores, kind="stable") if allowed[i] and i not in seen]
    return [float(scores[i]) for i in order[:k]], {str(model.item_ids_[i]) for i in order}


def test_recommend_is_the_pipeline_and_matches_brute_force(ease):
    users = ["u0", "u31", "nobody"]
    filters = Filters(include_genres=("Romance",))
    recs = ease.recommend(users, k=5, filters=filters)
    ranked = pipeline.run(ease, users, pipeline.Query(k=5, filters=filters))
    assert (recs.indices == ranked.indices).all()
    for row, user in enumerate(users):
        want_scores, allowed = brute_force(ease, user, 5, filters)
        assert [s for _, s in recs.row(row)] == pytest.approx(want_scores)
        assert {i for i, _ in recs.row(row)} <= allowed


def test_live_history_and_blocked_items_leave_the_list(ease):
    first = ease.recommend(["u0"], k=3).row(0)
    watched, blocked = first[0][0], first[1][0]
    history = RecentHistory()
    history.add("u0", watched)
    live = pipeline.LiveContext(
        history=history, blocked=np.isin(ease.item_ids_, [blocked])
    )
    ranked = pipeline.run(ease, ["u0"], pipeline.Query(k=3), live)
    ids = ranked.item_ids(ease)[0].tolist()
    assert watched not in ids and blocked not in ids and first[2][0] in ids


def test_diversity_reranks_within_the_deeper_list(ease):
    plain = pipeline.run(ease, ["u0"], pipeline.Query(k=6))
    capped = pipeline.run(ease, ["u0"], pipeline.Query(k=6, max_per_genre=2))
    genres = ease.catalogue_.genre_lists
    counts = {}
    for i in capped.indices[0][capped.indices[0] >= 0].tolist():
        for g in genres[i]:
            counts[g] = counts.get(g, 0) + 1
    assert max(counts.values()) <= 2
    assert plain.indices.shape == capped.indices.shape == (1, 6)


def test_explanations_name_the_history(ease):
    ranked = pipeline.run(ease, ["u0", "nobody"], pipeline.Query(k=4, explain=True))
    assert ranked.explanations is not None
    assert all(text for text in ranked.explanations.text_rows[0])


def test_a_short_catalogue_pads_to_k(ease):
    ranked = pipeline.run(ease, ["u0"], pipeline.Query(k=60, filters=Filters()))
    assert ranked.indices.shape == (1, 60) and (ranked.indices[0, -5:] == -1).all()
    assert not np.isfinite(ranked.scores[0, -1])


@pytest.mark.parametrize(
    "bad", [{"k": 0}, {"diversity": 1.5}, {"max_per_genre": 0}]
)
def test_bad_queries_are_refused(bad):
    with pytest.raises(InputError):
        pipeline.Query(**bad)


def test_stated_preferences_rank_cold_users_and_skip_liked_items(data):
    hybrid = create("hybrid", components=["popularity", "content"], weights=[1, 1]).fit(data)
    prefs = Preferences(genres=("Romance",), liked_item_ids=("i1",))
    ranked = pipeline.run(hybrid, ["new"], pipeline.Query(k=5, preferences=prefs))
    ids = ranked.item_ids(hybrid)[0].tolist()
    assert "i1" not in ids
    assert all(int(i[1:]) % 2 == 1 for i in ids)  # the Romance half


def test_hybrid_trains_on_interactions_without_catalogue_text(tables, caplog):
    interactions, _ = tables
    bare = InteractionData.from_tables(interactions)  # ids only: no titles, no descriptions
    with caplog.at_level(logging.WARNING):
        hybrid = create("hybrid", weights=[1, 1, 1]).fit(bare)
    assert "content" not in " ".join(hybrid.config.components)
    assert hybrid.config.weights == (1, 1) and "no text" in caplog.text
    assert len(hybrid.recommend(["u0"], k=3).row(0)) == 3
    with pytest.raises(InputError, match="no usable words"):
        create("content").fit(bare)


def test_list_parameters_accept_commas_and_json():
    parsed = parse_params(["weights=1,1,0.5", "components=[\"ease\",\"trending\"]", "x=a,b"])
    assert parsed == {"weights": [1, 1, 0.5], "components": ["ease", "trending"], "x": ["a", "b"]}
    assert parse_params(["name=plain", "n=3"]) == {"name": "plain", "n": 3}
    model = create("hybrid", **parse_params(["components=ease,trending", "weights=1,1"]))
    assert model.config.weights == (1, 1)

