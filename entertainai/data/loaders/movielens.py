"""MovieLens (https://grouplens.org/datasets/movielens/) in its published file formats.

Three layouts, told apart by the ratings file present:

* 100K: ``u.data`` (tab-separated), ``u.item`` and ``u.user`` (``|``-separated, latin-1);
* 1M: ``ratings.dat``, ``movies.dat`` (latin-1) and ``users.dat``, ``::``-separated;
* 20M, 25M, 32M and latest(-small): ``ratings.csv``, ``movies.csv`` and optionally
  ``tags.csv`` (CSV with a header, UTF-8); no user file, so users are the raters.

Ratings stream in blocks, so 25M ratings never sit in memory at once. Ratings of items or
users missing from the item or user file are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.data import schemas
from entertainai.data.dataset import DatasetWriter
from entertainai.data.loaders.files import CSV, DOUBLE_COLON, TextFormat, read_text
from entertainai.data.loaders.rows import BadRows, Rows, empty_maps, lists
from entertainai.errors import InputError
from entertainai.fs import Location, resolve

logger = logging.getLogger(__name__)

# The 19 genre flags of u.item, in the order of u.genre.
GENRES_100K = tuple(
    "unknown|Action|Adventure|Animation|Children's|Comedy|Crime|Documentary|Drama|Fantasy|"
    "Film-Noir|Horror|Musical|Mystery|Romance|Sci-Fi|Thriller|War|Western".split("|")
)
# users.dat occupation codes 0-20, from the ML-1M README.
OCCUPATIONS_1M = tuple(
    "other|academic/educator|artist|clerical/admin|college/grad student|customer service|"
    "doctor/health care|executive/managerial|farmer|homemaker|K-12 student|lawyer|programmer|"
    "retired|sales/marketing|scientist|self-employed|technician/engineer|tradesman/craftsman|"
    "unemployed|writer".split("|")
)
NO_GENRES = "(no genres listed)"

# "Toy Story (1995)" -> "Toy Story", 1995; series in ml-latest carry ranges: "(1975-1979)".
_TITLE_YEAR = r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:[-–]\d{0,4})?\)\s*$"
_DATE_YEAR = r"(?P<year>\d{4})\s*$"  # u.item release dates: "01-Jan-1995"

_TAB = TextFormat("\t", "tab-separated")
_PIPE = TextFormat("|", "'|'-separated", encoding="latin1")
_COLONS = TextFormat(DOUBLE_COLON, "'::'-separated", double_colon=True)
_COLONS_LATIN1 = TextFormat(DOUBLE_COLON, "'::'-separated", double_colon=True, encoding="latin1")


@dataclass(frozen=True)
class Layout:
    """One MovieLens release family: its files, ratings first (it identifies the layout)."""

    name: str
    ratings: str
    items: str
    users: str | None


LAYOUTS = (
    Layout("100k", "u.data", "u.item", "u.user"),
    Layout("1m", "ratings.dat", "movies.dat", "users.dat"),
    Layout("latest", "ratings.csv", "movies.csv", None),
)


def detect(root: Location) -> Layout:
    """The layout of the MovieLens directory ``root``; raises naming any missing file."""
    if not root.is_dir():
        raise InputError(
            "not a directory (expected an unpacked MovieLens archive)", location=str(root)
        )
    present = set(root.listdir())
    for layout in LAYOUTS:
        if layout.ratings in present:
            for needed in (layout.items, layout.users):
                if needed is not None and needed not in present:
                    raise InputError(
                        f"{needed} is missing (MovieLens {layout.name} has {layout.ratings}, "
                        f"{layout.items}{', ' + layout.users if layout.users else ''})",
                        location=str(root),
                    )
            return layout
    expected = ", ".join(f"{lay.ratings} ({lay.name})" for lay in LAYOUTS)
    raise InputError(f"not a MovieLens directory: none of {expected}", location=str(root))


def load_movielens(
    path: str, writer: DatasetWriter, *, bad: BadRows, progress: bool = False
) -> None:
    """Write the MovieLens directory ``path`` (any supported layout) through ``writer``."""
    root = resolve(path)
    layout = detect(root)
    logger.info("reading MovieLens %s from %s", layout.name, root)
    if layout.name == "100k":
        items = _items_100k(root.join("u.item"), bad)
        users = _users_100k(root.join("u.user"), bad)
        columns = ["user id", "item id", "rating", "timestamp"]
        raters = _ratings(root.join("u.data"), _TAB, columns, writer, bad, progress)
    elif layout.name == "1m":
        items = _items_1m(root.join("movies.dat"), bad)
        users = _users_1m(root.join("users.dat"), bad)
        columns = ["UserID", "MovieID", "Rating", "Timestamp"]
        raters = _ratings(root.join("ratings.dat"), _COLONS, columns, writer, bad, progress)
    else:
        tags = root.join("tags.csv")
        items = _items_latest(root.join("movies.csv"), tags if tags.exists() else None, bad)
        columns = ["userId", "movieId", "rating", "timestamp"]
        raters = _ratings(root.join("ratings.csv"), CSV, columns, writer, bad, progress)
        users = pa.table({"user_id": raters.astype(str), "attributes": empty_maps(len(raters))})
    writer.write("items", items)
    writer.write("users", users)
    writer.info["format"] = f"movielens-{layout.name}"
    logger.info(
        "MovieLens %s: %d items, %d users, %d raters",
        layout.name,
        items.num_rows,
        users.num_rows,
        len(raters),
    )


# --------------------------------------------------------------------------- ratings


def _ratings(
    loc: Location,
    fmt: TextFormat,
    columns: list[str],
    writer: DatasetWriter,
    bad: BadRows,
    progress: bool,
) -> np.ndarray:
    """Stream the ratings file into ``interactions``; returns the sorted distinct user ids."""
    user, item, rating, time = columns
    raters: list[pa.Array] = []
    for rows in read_text(loc, fmt, columns, progress=progress):
        users = rows.integers(user)
        table = pa.table(
            {
                "user_id": users.cast(pa.string()),
                "item_id": rows.integers(item).cast(pa.string()),
                "event_type": pa.repeat(pa.scalar("rating"), len(rows)),
                "value": rows.numbers(rating),
                "timestamp": rows.epochs(time, "s"),
            }
        )
        bad.settle(rows)
        if rows.ok.any():
            writer.write("interactions", rows.filtered(table))
        raters.append(pc.unique(users.filter(pa.array(rows.ok))))
    return np.sort(pc.unique(pa.chunked_array(raters, pa.int64())).to_numpy())


# --------------------------------------------------------------------------- items


def _items_100k(loc: Location, bad: BadRows) -> pa.Table:
    columns = ["movie id", "movie title", "release date", "video release date", "IMDb URL"]
    parts = []
    seen: set[int] = set()
    for rows in read_text(loc, _PIPE, [*columns, *GENRES_100K]):
        ids = _unique_ids(rows, "movie id", seen)
        title, year = split_titles(rows.strings("movie title"))
        released = pc.struct_field(
            pc.extract_regex(rows.column("release date"), _DATE_YEAR), "year"
        )
        year = pc.coalesce(year, released.cast(pa.int32()))  # the title's year, else the release's
        genres = _genre_flags(rows)
        bad.settle(rows)
        parts.append(rows.filtered(_items(ids, title, genres, year)))
    return _concat(parts, "items")


def _genre_flags(rows: Rows) -> pa.ListArray:
    """u.item's 19 0/1 columns as a list of genre names per row."""
    flags = np.zeros((len(rows), len(GENRES_100K)), dtype=bool)
    for j, genre in enumerate(GENRES_100K):
        col = rows.column(genre)
        ones = pc.equal(col, "1").to_numpy(zero_copy_only=False)
        wrong = ~(ones | pc.equal(col, "0").to_numpy(zero_copy_only=False))

        def not_a_flag(i: int, g: str = genre, c: pa.Array = col) -> str:
            return f"field {g!r}: {c[i].as_py()!r} is not 0 or 1"

        rows.reject(wrong, not_a_flag)
        flags[:, j] = ones
    parents, which = np.nonzero(flags)  # row-major: grouped by row, in u.genre order
    return lists(parents, pa.array(np.array(GENRES_100K)[which], pa.string()), len(rows))


def _movies(loc: Location, fmt: TextFormat, columns: list[str], bad: BadRows) -> pa.Table:
    """movies.dat (1M) or movies.csv (latest): id, "Title (year)", "Genre|Genre"."""
    id_column, title_column, genres_column = columns
    parts = []
    seen: set[int] = set()
    for rows in read_text(loc, fmt, columns):
        ids = _unique_ids(rows, id_column, seen)
        title, year = split_titles(rows.strings(title_column))
        genres = split_genres(rows.column(genres_column))
        bad.settle(rows)
        parts.append(rows.filtered(_items(ids, title, genres, year)))
    return _concat(parts, "items")


def _items_1m(loc: Location, bad: BadRows) -> pa.Table:
    return _movies(loc, _COLONS_LATIN1, ["MovieID", "Title", "Genres"], bad)


def _items_latest(loc: Location, tags_loc: Location | None, bad: BadRows) -> pa.Table:
    items = _movies(loc, CSV, ["movieId", "title", "genres"], bad)
    if tags_loc is None:
        return items
    tags = _item_tags(items.column("item_id").combine_chunks(), *_tags(tags_loc, bad))
    return items.set_column(items.schema.get_field_index("tags"), "tags", tags)


def _items(ids: pa.Array, title: pa.Array, genres: pa.Array, year: pa.Array) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "item_id": ids.cast(pa.string()),
            "title": title,
            "genres": genres,
            "tags": pa.nulls(n, pa.list_(pa.string())),  # no source of tags: unknown
            "year": year,
            "kind": pa.repeat(pa.scalar("movie"), n),
            "available": pa.repeat(pa.scalar(True), n),
        }
    )


def split_titles(titles: pa.Array) -> tuple[pa.Array, pa.Array]:
    """MovieLens titles carry the year: "Toy Story (1995)" -> ("Toy Story", 1995)."""
    match = pc.extract_regex(titles, _TITLE_YEAR)  # null where there is no year
    name = pc.struct_field(match, "title")
    has_name = pc.fill_null(pc.not_equal(name, ""), False)
    title = pc.if_else(has_name, name, pc.utf8_trim_whitespace(titles))
    return title, pc.struct_field(match, "year").cast(pa.int32())


def split_genres(genres: pa.Array) -> pa.ListArray:
    """Genre lists: "Animation|Children's" -> ["Animation", "Children's"], NO_GENRES -> []."""
    parts = pc.split_pattern(genres, "|")
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    parents = pc.list_parent_indices(parts)
    keep = pc.and_(pc.not_equal(flat, ""), pc.not_equal(flat, NO_GENRES))
    return lists(parents.filter(keep).to_numpy(), flat.filter(keep), len(genres))


# --------------------------------------------------------------------------- tags


def _tags(loc: Location, bad: BadRows) -> tuple[np.ndarray, pa.ListArray]:
    """tags.csv as (sorted movie ids, the distinct lowercased tags of each, sorted)."""
    columns = ["userId", "movieId", "tag", "timestamp"]
    parts = []
    for rows in read_text(loc, CSV, columns):
        rows.integers("userId")  # checked like any row, though not kept
        rows.epochs("timestamp", "s")
        movie = rows.integers("movieId")
        tag = pc.utf8_lower(pc.utf8_trim_whitespace(rows.column("tag")))
        bad.settle(rows)
        pairs = rows.filtered(pa.table({"movie": movie, "tag": tag}))
        parts.append(pairs.filter(pc.not_equal(pairs.column("tag"), "")))
    pairs = (
        pa.concat_tables(parts)
        if parts
        else pa.table({"movie": pa.array([], pa.int64()), "tag": pa.array([], pa.string())})
    )
    pairs = pairs.group_by(["movie", "tag"]).aggregate([])  # distinct
    pairs = pairs.sort_by([("movie", "ascending"), ("tag", "ascending")])
    movies, first = np.unique(pairs.column("movie").to_numpy(), return_index=True)
    offsets = np.append(first, pairs.num_rows).astype(np.int32)
    return movies, pa.ListArray.from_arrays(pa.array(offsets), pairs.column("tag").combine_chunks())


def _item_tags(item_ids: pa.Array, movies: np.ndarray, tags: pa.ListArray) -> pa.ListArray:
    """Each item's tags; an item nobody tagged gets an empty list (tags.csv is complete)."""
    # One more, empty, list at the end for the items that tags.csv does not mention.
    offsets = np.append(tags.offsets.to_numpy(), tags.offsets[-1].as_py()).astype(np.int32)
    padded = pa.ListArray.from_arrays(pa.array(offsets), tags.values)
    where = pc.index_in(item_ids.cast(pa.int64()), value_set=pa.array(movies, pa.int64()))
    return padded.take(where.fill_null(len(movies)))


# --------------------------------------------------------------------------- users


def _users_100k(loc: Location, bad: BadRows) -> pa.Table:
    parts = []
    seen: set[int] = set()
    for rows in read_text(loc, _PIPE, ["user id", "age", "gender", "occupation", "zip code"]):
        ids = _unique_ids(rows, "user id", seen)
        attributes = {
            "age": rows.integers("age").cast(pa.string()),
            "gender": rows.strings("gender", required=False),
            "occupation": rows.strings("occupation", required=False),
            "zip": rows.strings("zip code", required=False),
        }
        bad.settle(rows)
        parts.append(rows.filtered(_users(ids, attributes)))
    return _concat(parts, "users")


def _users_1m(loc: Location, bad: BadRows) -> pa.Table:
    parts = []
    seen: set[int] = set()
    for rows in read_text(loc, _COLONS, ["UserID", "Gender", "Age", "Occupation", "Zip-code"]):
        ids = _unique_ids(rows, "UserID", seen)
        code = rows.integers("Occupation").to_numpy()
        unknown = (code < 0) | (code >= len(OCCUPATIONS_1M))

        def not_a_code(i: int, c: np.ndarray = code) -> str:
            return f"field 'Occupation': {c[i]} is not a code 0-20"

        rows.reject(unknown, not_a_code)
        attributes = {
            "age": rows.integers("Age").cast(pa.string()),  # the age group's code: 1, 18, 25...
            "gender": rows.strings("Gender", required=False),
            "occupation": pa.array(np.array(OCCUPATIONS_1M)[np.where(unknown, 0, code)]),
            "zip": rows.strings("Zip-code", required=False),
        }
        bad.settle(rows)
        parts.append(rows.filtered(_users(ids, attributes)))
    return _concat(parts, "users")


def _users(ids: pa.Array, attributes: dict[str, pa.Array]) -> pa.Table:
    return pa.table({"user_id": ids.cast(pa.string()), "attributes": attribute_maps(attributes)})


def attribute_maps(columns: dict[str, pa.Array]) -> pa.MapArray:
    """One map per row from equally long string columns: {"age": "24", "gender": "M", ...}."""
    keys = list(columns)
    n, k = len(columns[keys[0]]), len(keys)
    # Values row by row: row i's k values sit at i*k ... i*k + k-1.
    order = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    values = pa.concat_arrays([columns[key].cast(pa.string()) for key in keys]).take(
        pa.array(order)
    )
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, pa.array(np.tile(keys, n), pa.string()), values)


# --------------------------------------------------------------------------- helpers


def _unique_ids(rows: Rows, column: str, seen: set[int]) -> pa.Array:
    """The integer id column of an item or user file, each id once: a repeat is a bad row."""
    ids = rows.integers(column)
    values = ids.to_numpy()
    idx = np.flatnonzero(rows.ok)  # placeholders of bad rows are no ids
    _, first = np.unique(values[idx], return_index=True)
    repeat = np.zeros(len(values), dtype=bool)
    repeat[idx] = True
    repeat[idx[first]] = False
    repeat[idx] |= np.isin(values[idx], np.fromiter(seen, np.int64, len(seen)))
    rows.reject(repeat, lambda i: f"field {column!r}: {values[i]} appears more than once")
    seen.update(values[rows.ok].tolist())
    return ids


def _concat(parts: list[pa.Table], table: str) -> pa.Table:
    """The batches of a (small) item or user file as one table, conformed to ``table``."""
    if not parts:
        return schemas.empty(table)
    return schemas.conform(pa.concat_tables(parts) if len(parts) > 1 else parts[0], table)
