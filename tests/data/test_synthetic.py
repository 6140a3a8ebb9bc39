"""The demo generator: determinism, chunk independence, and its planted structure.

Every structural check is a model-free statistic on the dataset as written and read back,
compared with the ground truth stored beside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from entertainai.data import Dataset, schemas
from entertainai.data.synthetic import (
    EMOTIONS,
    GENRE_WORDS,
    GENRES,
    INSULT_WORDS,
    SPAM_WORDS,
    DemoConfig,
    generate,
)
from entertainai.errors import InputError

SMALL = DemoConfig(
    n_users=400,
    n_items=500,
    interactions_per_user=25,
    seed=1,
    review_fraction=0.3,
    chunk_users=100,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("demo") / "ds"
    generate(str(out), SMALL)
    return Dataset.open(str(out))


def truth(ds: Dataset, name: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(ds.extra(f"ground_truth/{name}")))


def truth_json(ds: Dataset, name: str) -> Any:
    return json.loads(ds.extra(f"ground_truth/{name}"))


def codes(column: pa.ChunkedArray, values: pa.Array) -> np.ndarray:
    return pc.index_in(column, value_set=values).to_numpy(zero_copy_only=False)


def words(text: str) -> list[str]:
    return text.lower().split()


def ms(column: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(column, pa.int64()).to_numpy()


# -- The dataset as a whole -------------------------------------------------------------------


def test_tables_follow_the_schemas_and_manifest(demo: Dataset) -> None:
    counts = demo.manifest.counts
    for name, schema in schemas.TABLES.items():
        table = demo.table(name)
        assert table.schema.equals(schema), name
        assert table.num_rows == counts[name] > 0, name
    assert counts["users"] == SMALL.n_users and counts["items"] == SMALL.n_items
    # Repeats are dropped, so a few heavy users end below their draw; most of the volume stays.
    assert 0.8 * SMALL.n_users * SMALL.interactions_per_user < counts["interactions"]
    assert demo.manifest.info["demo"]["config"]["seed"] == SMALL.seed
    demo.verify()


def test_interactions_are_consistent(demo: Dataset) -> None:
    inter = demo.interactions
    pairs = pc.binary_join_element_wise(inter["user_id"], inter["item_id"], "|")
    assert pc.count_distinct(pairs).as_py() == inter.num_rows  # each pair once
    assert pc.all(pc.is_in(inter["item_id"], demo.items["item_id"])).as_py()
    assert pc.all(pc.is_in(inter["user_id"], demo.users["user_id"])).as_py()
    ts = ms(inter["timestamp"])
    start = SMALL.start_ms
    assert ts.min() >= start and ts.max() < start + SMALL.days * 86_400_000
    event = inter["event_type"].to_numpy(zero_copy_only=False)
    value = inter["value"].to_numpy()
    assert set(event) == {"rating", "view", "play", "like"}
    assert set(np.unique(value[event == "rating"])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    watched = value[(event == "view") | (event == "play")]
    assert watched.min() >= 0.0 and watched.max() <= 1.0
    assert np.all(value[event == "like"] == 1.0)


def test_same_config_gives_same_bytes(tmp_path: Path, demo: Dataset) -> None:
    again = generate(str(tmp_path / "again"), SMALL)
    assert again.content_hash == demo.manifest.content_hash
    other = generate(str(tmp_path / "other"), DemoConfig(n_users=50, n_items=100, seed=2))
    assert other.content_hash != demo.manifest.content_hash


def test_chunk_size_does_not_change_the_content(tmp_path: Path, demo: Dataset) -> None:
    whole = DemoConfig(**{**SMALL.__dict__, "chunk_users": 20_000})
    generate(str(tmp_path / "whole"), whole)
    one = Dataset.open(str(tmp_path / "whole"))
    assert one.manifest.counts == demo.manifest.counts
    # 400 users in parts of 100 rounded up to whole 250-user blocks: 250 + 150.
    assert len(demo.root.join("interactions").listdir()) == 2
    assert len(one.root.join("interactions").listdir()) == 1
    for name in schemas.TABLES:
        assert one.table(name).equals(demo.table(name)), name
    for name in ("users.parquet", "texts.parquet", "items.parquet"):
        assert truth(one, name).equals(truth(demo, name)), name


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    tiny = DemoConfig(n_users=20, n_items=30, n_bursts=2)
    generate(str(tmp_path / "d"), tiny)
    with pytest.raises(InputError, match="already exists"):
        generate(str(tmp_path / "d"), tiny)
    generate(str(tmp_path / "d"), tiny, overwrite=True, progress=True)


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_users", 0),
        ("n_users", 2.5),
        ("days", 0),
        ("toxic_fraction", 1.5),
        ("seed", -1),
        ("start", "soon"),
        ("n_bursts", 1000),
    ],
)
def test_bad_config_fails_early(field: str, value: object) -> None:
    with pytest.raises(InputError, match=field):
        DemoConfig(**{field: value})  # type: ignore[arg-type]


# -- Planted structure -----------------------------------------------------------------------


def test_segment_genre_shares_follow_the_prototypes(demo: Dataset) -> None:
    users, items = truth(demo, "users.parquet"), truth(demo, "items.parquet")
    inter = demo.interactions
    segment = users["segment"].to_numpy()[
        codes(inter["user_id"], users["user_id"].combine_chunks())
    ]
    weights = np.array(items["genre_weights"].to_pylist())
    genre = weights[codes(inter["item_id"], items["item_id"].combine_chunks())]
    segments = truth_json(demo, "segments.json")
    assert len(segments) == SMALL.n_segments
    for seg in segments:
        shares = genre[segment == seg["segment"]].mean(axis=0)
        prototype = np.array([seg["prototype"][g] for g in GENRES])
        assert np.corrcoef(shares, prototype)[0, 1] > 0.8, seg["name"]


def test_user_tastes_sit_near_their_segment(demo: Dataset) -> None:
    users = truth(demo, "users.parquet")
    taste = np.array(users["taste"].to_pylist())
    segment = users["segment"].to_numpy()
    prototypes = np.array(
        [[s["prototype"][g] for g in GENRES] for s in truth_json(demo, "segments.json")]
    )
    nearest = np.argmin(((taste[:, None, :] - prototypes[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == segment).mean() > 0.9


def test_popularity_is_heavy_tailed(demo: Dataset) -> None:
    counts = np.sort(pc.value_counts(demo.interactions["item_id"]).field("counts").to_numpy())
    counts = np.concatenate([np.zeros(SMALL.n_items - len(counts)), counts])[::-1]
    top = counts[: SMALL.n_items // 10].sum() / counts.sum()
    assert top > 0.4
    items = truth(demo, "items.parquet")
    observed = codes(demo.interactions["item_id"], items["item_id"].combine_chunks())
    per_item = np.bincount(observed, minlength=SMALL.n_items)
    rank = items["popularity_rank"].to_numpy()
    assert per_item[rank <= 10].mean() > 5 * per_item[rank > SMALL.n_items // 2].mean()


def test_bursts_lift_their_items_inside_the_window(demo: Dataset) -> None:
    inter = demo.interactions
    ts, item = ms(inter["timestamp"]), inter["item_id"].to_numpy(zero_copy_only=False)
    bursts = truth_json(demo, "bursts.json")
    assert len(bursts) == SMALL.n_bursts
    observed, expected, ratios = 0, 0.0, []
    for b in bursts:
        assert b["end_ms"] - b["start_ms"] == SMALL.burst_hours * 3_600_000
        inside = (ts >= b["start_ms"]) & (ts < b["end_ms"])
        is_item = item == b["item_id"]
        hits_in, hits_out = is_item[inside].sum(), is_item[~inside].sum()
        usual = max(hits_out, 1) / (~inside).sum()
        observed, expected = observed + hits_in, expected + usual * inside.sum()
        ratios.append(hits_in / (usual * inside.sum()))
    # Few events per window in a small dataset: judge the bursts pooled, and loosely one by one.
    assert observed > 3 * expected
    assert np.median(ratios) > 2


def test_timestamps_show_daily_and_weekly_seasonality(demo: Dataset) -> None:
    ts = ms(demo.interactions["timestamp"])
    hours = np.bincount((ts // 3_600_000) % 24, minlength=24)
    assert 19 <= hours.argmax() <= 22
    assert hours[18:24].sum() > 3 * hours[2:8].sum()
    day = (ts - SMALL.start_ms) // 86_400_000
    per_day = np.bincount(day, minlength=SMALL.days)
    weekday = (np.arange(SMALL.days) + 3) % 7  # 2026-01-01 is a Thursday (Monday = 0)
    assert per_day[weekday >= 5].mean() > 1.25 * per_day[weekday < 5].mean()


def test_ratings_rise_with_affinity(demo: Dataset) -> None:
    users, items = truth(demo, "users.parquet"), truth(demo, "items.parquet")
    ratings = demo.interactions.filter(pc.equal(demo.interactions["event_type"], "rating"))
    taste = np.array(users["taste"].to_pylist())[
        codes(ratings["user_id"], users["user_id"].combine_chunks())
    ]
    weights = np.array(items["genre_weights"].to_pylist())[
        codes(ratings["item_id"], items["item_id"].combine_chunks())
    ]
    affinity = (taste * weights).sum(axis=1)
    value = ratings["value"].to_numpy()
    low, high = np.quantile(affinity, [0.25, 0.75])
    assert value[affinity >= high].mean() > value[affinity <= low].mean() + 0.7
    assert 3.0 < value.mean() < 4.0 and np.all(np.bincount(value.astype(int))[1:] > 0)


def test_text_sentiment_and_emotions_follow_the_rating(demo: Dataset) -> None:
    texts = demo.texts
    rating = texts["rating"].to_numpy(zero_copy_only=False)
    sentiment = texts["sentiment"].to_numpy(zero_copy_only=False)
    mean = {s: np.nanmean(rating[sentiment == s]) for s in ("negative", "neutral", "positive")}
    assert mean["positive"] > mean["neutral"] + 0.5 > mean["negative"] + 1.0
    emotions = [set(e) for e in texts["emotions"].to_pylist()]
    assert set().union(*emotions) == set(EMOTIONS)

    def fit(label: str, allowed: set[str]) -> float:
        """Share of texts labelled ``label`` whose emotions are non-empty and all allowed."""
        chosen = [e for e, s in zip(emotions, sentiment, strict=True) if s == label]
        return float(np.mean([bool(e) and e <= allowed for e in chosen]))

    assert fit("negative", {"anger", "sadness", "disgust"}) > 0.95
    assert fit("positive", {"joy", "surprise"}) > 0.95
    assert not any(e for e, s in zip(emotions, sentiment, strict=True) if s == "neutral")


def test_reviews_repeat_the_rating_of_their_event(demo: Dataset) -> None:
    texts, inter = demo.texts, demo.interactions
    assert set(texts["kind"].to_pylist()) == {"review", "comment"}
    # Spam carries no rating (null), whatever its possibly noisy spam label says.
    reviews = texts.filter(pc.and_(pc.equal(texts["kind"], "review"), pc.is_valid(texts["rating"])))
    reviews = reviews.select(["user_id", "item_id", "rating", "timestamp"])
    joined = reviews.join(inter, ["user_id", "item_id"], right_suffix="_event")
    assert joined.num_rows == reviews.num_rows
    assert set(joined["event_type"].to_pylist()) == {"rating"}
    assert joined["rating"].equals(joined["value"])
    assert pc.all(pc.greater(joined["timestamp"], joined["timestamp_event"])).as_py()


def test_toxic_and_spam_texts_carry_their_words(demo: Dataset) -> None:
    texts = demo.texts
    toxic = texts["toxic"].to_numpy(zero_copy_only=False)
    spam = texts["spam"].to_numpy(zero_copy_only=False)
    bags = [set(words(t)) for t in texts["text"].to_pylist()]
    insult = np.array([bool(b & set(INSULT_WORDS)) for b in bags])
    promo = np.array([bool(b & set(SPAM_WORDS)) or any("." in w for w in b) for b in bags])
    assert 0.02 < toxic.mean() < 0.1 and 0.01 < spam.mean() < 0.07
    assert insult[toxic].mean() > 0.8 and insult[~toxic].mean() < 0.15
    assert promo[spam].mean() > 0.8 and promo[~spam].mean() < 0.1
    assert np.isnan(texts["rating"].to_numpy(zero_copy_only=False)[spam & promo]).mean() > 0.8


def test_labels_are_noisy_but_mostly_right(demo: Dataset) -> None:
    texts, true = demo.texts, truth(demo, "texts.parquet")
    assert texts["text_id"].equals(true["text_id"])
    agree = np.mean(
        np.array(texts["sentiment"].to_pylist()) == np.array(true["sentiment"].to_pylist())
    )
    assert 0.9 < agree < 1.0
    flips = pc.sum(pc.not_equal(texts["toxic"], true["toxic"])).as_py() / texts.num_rows
    assert 0.0 < flips < 0.03


def test_descriptions_name_the_primary_genre(demo: Dataset) -> None:
    items = demo.items
    vocab = {w: g for g, ws in GENRE_WORDS.items() for w in ws}
    hits = 0
    for text, genres in zip(
        items["description"].to_pylist(), items["genres"].to_pylist(), strict=True
    ):
        counts = np.zeros(len(GENRES))
        for w in words(text):
            if w in vocab:
                counts[GENRES.index(vocab[w])] += 1
        hits += GENRES[int(counts.argmax())] == genres[0]
    assert hits / items.num_rows > 0.9
    assert truth(demo, "items.parquet")["primary_genre"].to_pylist() == [
        g[0] for g in items["genres"].to_pylist()
    ]


def test_catalogue_shape_and_maturity_follow_genre(demo: Dataset) -> None:
    items = demo.items
    genres = items["genres"].to_pylist()
    assert all(1 <= len(g) <= 3 and len(set(g)) == len(g) for g in genres)
    assert all(r in schemas.MATURITY_RATINGS for r in items["maturity_rating"].to_pylist())
    assert 0.85 < np.mean(items["available"].to_pylist()) < 1.0
    primary = np.array([g[0] for g in genres])
    adult = np.isin(items["maturity_rating"].to_numpy(zero_copy_only=False), ["R", "NC-17"])
    dark = np.isin(primary, ["Horror", "Thriller", "Crime"])
    light = np.isin(primary, ["Animation", "Family"])
    assert adult[dark].mean() > 0.3 and adult[light].mean() < 0.1
    assert all(re.fullmatch(r"i\d{5}", i) for i in items["item_id"].to_pylist())


def test_users_carry_demographics_and_devices(demo: Dataset) -> None:
    attributes = [dict(a) for a in demo.users["attributes"].to_pylist()]
    assert all(set(a) == {"age_band", "country", "device", "plan"} for a in attributes)
    preferred = dict(
        zip(demo.users["user_id"].to_pylist(), (a["device"] for a in attributes), strict=True)
    )
    inter = demo.interactions
    same = [
        preferred[u] == d
        for u, d in zip(inter["user_id"].to_pylist(), inter["device"].to_pylist(), strict=True)
    ]
    assert np.mean(same) > 0.7
