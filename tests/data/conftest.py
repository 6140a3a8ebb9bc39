"""Small MovieLens directories written in the exact published formats (never downloaded).

Each builder returns a :class:`MovieLensFixture` with the path and what was written, so tests
compare the loaded dataset with the truth rather than with magic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

GENRES_100K = (
    "unknown|Action|Adventure|Animation|Children's|Comedy|Crime|Documentary|Drama|Fantasy|"
    "Film-Noir|Horror|Musical|Mystery|Romance|Sci-Fi|Thriller|War|Western"
).split("|")

# Hand-written items the tests check one by one; the rest are generated "Movie N (YEAR)".
SPECIAL_100K = {
    1: ("Toy Story (1995)", "01-Jan-1995", ["Animation", "Children's", "Comedy"]),
    2: ("Café (1994)", "01-Jan-1994", ["Drama"]),  # latin-1 on disk
    3: ("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)", "01-Jan-1995", ["Drama"]),
    4: ("unknown", "", ["unknown"]),  # like ML-100K item 267: no date, no year
    5: ("Nadja", "15-Aug-1994", ["Drama", "Horror"]),  # no year in the title: the date's
}

SPECIAL_1M = {
    1: ("Toy Story (1995)", ["Animation", "Children's", "Comedy"]),
    2: ("Café (1994)", ["Drama"]),
    3: ("Star Wars: Episode IV - A New Hope (1977)", ["Action", "Adventure", "Fantasy", "Sci-Fi"]),
    4: ('"Great Performances" Cats (1998)', ["Musical"]),
}

SPECIAL_LATEST = {  # movieId: (CSV line after the id, title, year, genres)
    1: (
        "Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy",
        "Toy Story",
        1995,
        ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
    ),
    11: (
        '"American President, The (1995)",Comedy|Drama|Romance',
        "American President, The",
        1995,
        ["Comedy", "Drama", "Romance"],
    ),
    12: (
        '"""Great Performances"" Cats (1998)",Musical',
        '"Great Performances" Cats',
        1998,
        ["Musical"],
    ),
    13: (
        '"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance',
        "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
        2001,
        ["Comedy", "Romance"],
    ),
    14: ("Hyena Road,(no genres listed)", "Hyena Road", None, []),
    15: ('"Fawlty Towers (1975-1979)",Comedy', "Fawlty Towers", 1975, ["Comedy"]),
}
TAGS_LATEST = [  # userId, movieId, tag (CSV field), timestamp
    (2, 11, "politics", 1445714994),
    (2, 11, "Politics", 1445714995),  # same tag, other case: one tag
    (3, 11, '"funny, sort of"', 1445714996),
    (3, 1, "pixar", 1445714997),
    (4, 1, " Pixar ", 1445714998),
    (4, 99999, "not in movies.csv", 1445714999),
]


@dataclass
class MovieLensFixture:
    path: Path
    ratings: np.ndarray  # (n, 4) user, item, rating, unix seconds
    n_users: int
    n_items: int
    extra: dict[str, object] = field(default_factory=dict)


def _ratings(rng: np.random.Generator, n_users: int, n_items: int, n: int) -> np.ndarray:
    """``n`` distinct (user, item) pairs with ratings and times, every user and item 1-based."""
    pairs = rng.choice(n_users * n_items, size=n, replace=False)
    users, items = pairs // n_items + 1, pairs % n_items + 1
    stars = rng.integers(1, 6, size=n)
    times = rng.integers(874_724_710, 893_286_638, size=n)  # ML-100K's range
    return np.column_stack([users, items, stars, times]).astype(np.int64)


def _lines(rows: np.ndarray, sep: str) -> str:
    return "".join(sep.join(map(str, row)) + "\n" for row in rows.tolist())


def write_ml100k(
    root: Path, *, n_users: int = 50, n_items: int = 40, n_ratings: int = 300, seed: int = 0
) -> MovieLensFixture:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    ratings = _ratings(rng, n_users, n_items, n_ratings)
    (root / "u.data").write_text(_lines(ratings, "\t"), encoding="ascii")
    items = []
    flags = rng.random((n_items, len(GENRES_100K))) < 0.15
    for i in range(1, n_items + 1):
        title, date, genres = SPECIAL_100K.get(i, (f"Movie {i} ({1950 + i % 50})", "", None))
        row_flags = flags[i - 1] if genres is None else [g in genres for g in GENRES_100K]
        url = "" if title == "unknown" else f"http://us.imdb.com/M/title-exact?Movie%20{i}"
        items.append(
            "|".join([str(i), title, date, "", url, *("1" if f else "0" for f in row_flags)])
        )
    (root / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    occupations = ["technician", "writer", "other", "executive", "student"]
    users = [
        f"{u}|{rng.integers(7, 74)}|{'MF'[u % 2]}|{occupations[u % 5]}|{85700 + u:05d}"
        for u in range(1, n_users + 1)
    ]
    (root / "u.user").write_text("\n".join(users) + "\n", encoding="ascii")
    (root / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES_100K)) + "\n")
    (root / "u.info").write_text(f"{n_users} users\n{n_items} items\n{n_ratings} ratings\n")
    return MovieLensFixture(root, ratings, n_users, n_items, {"flags": flags})


def write_ml1m(
    root: Path, *, n_users: int = 30, n_items: int = 25, n_ratings: int = 200, seed: int = 1
) -> MovieLensFixture:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    ratings = _ratings(rng, n_users, n_items, n_ratings)
    ratings[:, 3] += 978_300_760 - 874_724_710
    (root / "ratings.dat").write_text(_lines(ratings, "::"), encoding="ascii")
    movies = []
    for i in range(1, n_items + 1):
        title, genres = SPECIAL_1M.get(i, (f"Movie {i} ({1950 + i % 50})", ["Drama", "War"]))
        movies.append(f"{i}::{title}::{'|'.join(genres)}")
    (root / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode("latin-1"))
    ages = [1, 18, 25, 35, 45, 50, 56]
    users = [
        f"{u}::{'MF'[u % 2]}::{ages[u % 7]}::{u % 21}::{48000 + u}" for u in range(1, n_users + 1)
    ]
    (root / "users.dat").write_text("\n".join(users) + "\n", encoding="ascii")
    return MovieLensFixture(root, ratings, n_users, n_items)


def write_ml_latest(
    root: Path, *, n_users: int = 20, n_items: int = 15, n_ratings: int = 120, seed: int = 2
) -> MovieLensFixture:
    """ml-latest-small style: half-star ratings, quoted titles, tags; ids are sparse."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    dense = _ratings(rng, n_users, n_items, n_ratings)
    movie_ids = np.array(sorted(SPECIAL_LATEST) + list(range(100, 100 + n_items)))[:n_items]
    dense[:, 1] = movie_ids[dense[:, 1] - 1]
    stars = rng.integers(1, 11, size=n_ratings) / 2  # 0.5 ... 5.0
    lines = ["userId,movieId,rating,timestamp"] + [
        f"{u},{m},{s:.1f},{t}" for (u, m, _, t), s in zip(dense.tolist(), stars, strict=True)
    ]
    (root / "ratings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    movies = ["movieId,title,genres"]
    for m in movie_ids.tolist():
        special = SPECIAL_LATEST.get(m)
        movies.append(f"{m},{special[0]}" if special else f"{m},Movie {m} (2010),Drama")
    (root / "movies.csv").write_text("\n".join(movies) + "\n", encoding="utf-8")
    tags = ["userId,movieId,tag,timestamp"] + [f"{u},{m},{t},{ts}" for u, m, t, ts in TAGS_LATEST]
    (root / "tags.csv").write_text("\n".join(tags) + "\n", encoding="utf-8")
    (root / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n", encoding="utf-8")
    ratings = dense.astype(np.float64)
    ratings[:, 2] = stars
    return MovieLensFixture(root, ratings, n_users, n_items, {"movie_ids": movie_ids})


@pytest.fixture
def ml100k(tmp_path: Path) -> MovieLensFixture:
    return write_ml100k(tmp_path / "ml-100k")


@pytest.fixture
def ml1m(tmp_path: Path) -> MovieLensFixture:
    return write_ml1m(tmp_path / "ml-1m")


@pytest.fixture
def ml_latest(tmp_path: Path) -> MovieLensFixture:
    return write_ml_latest(tmp_path / "ml-latest-small")


@pytest.fixture
def ml100k_full(tmp_path: Path) -> MovieLensFixture:
    """Full ML-100K size: 943 users, 1,682 items, 100,000 ratings."""
    return write_ml100k(tmp_path / "ml-100k-full", n_users=943, n_items=1682, n_ratings=100_000)
