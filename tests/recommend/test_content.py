"""Content model: new items are recommendable at once; stated preferences make a profile."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from entertainai.errors import InputError
from entertainai.model import load_arrays, load_model
from entertainai.recommend import Filters, InteractionData
from entertainai.recommend.content import Content

GROUP_A = [f"u{u}" for u in range(30)]  # conftest: they watch Sci-Fi (even items)


def new_items(**overrides: list) -> pa.Table:
    columns = {
        "item_id": ["new-scifi"],
        "title": ["Space odyssey"],
        "description": ["rocket galaxy alien ship"],
        "genres": [["Sci-Fi"]],
    }
    columns.update(overrides)
    return pa.table(columns)


@pytest.fixture
def content(data: InteractionData) -> Content:
    return Content().fit(data)


def rank_of(model: Content, users: list[str], item: str) -> np.ndarray:
    scores = model.user_scores(users)
    column = scores[:, model.item_indices([item])[0]]
    return (scores > column[:, None]).sum(axis=1)


def test_new_item_is_recommendable_to_its_genre_at_once(content):
    n = len(content.item_ids_)
    content.add_items(new_items())
    assert len(content.item_ids_) == n + 1 and content.items_.shape[0] == n + 1
    recs = content.recommend(GROUP_A, k=10)
    share = np.mean(["new-scifi" in row for row in recs.item_ids])
    assert share > 0.9
    # ...and ranked low for the Romance viewers.
    assert rank_of(content, ["u40", "u45"], "new-scifi").min() >= 15


def test_new_genre_and_metadata_refresh(content):
    content.add_items(
        new_items(
            item_id=["doc-1", "i0"],
            title=["Nature", "Love story 0"],
            description=["penguins ice", "romance kiss wedding heart"],
            genres=[["Documentary"], ["Romance"]],
        )
    )
    assert "Documentary" in content.catalogue_.genre_names
    recs = content.recommend(["u0"], k=3, filters=Filters(include_genres=("documentary",)))
    assert recs.row(0)[0][0] == "doc-1"
    # i0 keeps its index but now reads as Romance: its neighbours are Romance items.
    assert content.item_indices(["i0"])[0] == 0
    sims = content.similar_items(["i0"], k=5).item_ids[0]
    assert all(int(i[1:]) % 2 == 1 for i in sims if i.startswith("i"))


def test_preference_profile(content):
    profile = content.profile_from_preferences(["Romance"])
    scores = content.profile_scores(profile)[0]
    top = content.item_ids_[np.argsort(-scores)[:10]]
    assert all(int(i[1:]) % 2 == 1 for i in top)
    liked = content.profile_scores(content.profile_from_preferences([], ["i2"]))[0]
    assert int(content.item_ids_[np.argsort(-liked)[1]][1:]) % 2 == 0
    with pytest.raises(InputError):
        content.profile_from_preferences([], [])
    with pytest.raises(InputError):
        content.profile_from_preferences(["Romance"], ["no-such-item"])


def test_state_is_plain_arrays_and_survives_add_items(content, tmp_path):
    content.add_items(new_items())
    path = content.save(tmp_path / "c")
    arrays = load_arrays(path / "state.npz")  # allow_pickle=False would refuse object arrays
    assert arrays["terms"].dtype.kind == "U" and "rocket" in arrays["terms"]
    loaded = load_model(path)
    np.testing.assert_allclose(
        loaded.user_scores(["u0", "u40"]), content.user_scores(["u0", "u40"]), rtol=1e-6
    )
    assert (loaded.vectorize(["galaxy romance"]) != content.vectorize(["galaxy romance"])).nnz == 0
