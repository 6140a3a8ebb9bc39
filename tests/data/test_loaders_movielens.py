"""MovieLens loading from format-exact fixture directories (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from entertainai.data.dataset import Dataset, Manifest
from entertainai.data.loaders import SOURCE_FORMS, load
from entertainai.data.loaders.files import _assign_lines, _Stream
from entertainai.errors import InputError
from tests.data.conftest import GENRES_100K, TAGS_LATEST, MovieLensFixture


def load_ml(fx: MovieLensFixture, out: Path, **kwargs: object) -> tuple[Manifest, Dataset]:
    manifest = load(f"movielens:{fx.path}", str(out), **kwargs)  # type: ignore[arg-type]
    return manifest, Dataset.open(str(out))


def items_by_id(ds: Dataset) -> dict[str, dict[str, object]]:
    return {row["item_id"]: row for row in ds.items.to_pylist()}


def interactions_sorted(ds: Dataset) -> np.ndarray:
    """(user, item, value, unix seconds) sorted, to compare with what the fixture wrote."""
    t = ds.interactions
    seconds = t.column("timestamp").cast(pa.int64()).to_numpy() // 1000
    rows = np.column_stack(
        [
            t.column("user_id").to_numpy().astype(np.int64),
            t.column("item_id").to_numpy().astype(np.int64),
            t.column("value").to_numpy(),
            seconds,
        ]
    )
    return rows[np.lexsort(rows.T[::-1])]


def expected_sorted(fx: MovieLensFixture) -> np.ndarray:
    rows = fx.ratings.astype(np.float64)
    return rows[np.lexsort(rows.T[::-1])]


def stray_files(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# --------------------------------------------------------------------------- 100K


def test_100k_counts_and_ratings(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    manifest, ds = load_ml(ml100k, tmp_path / "out")
    assert manifest.counts == {"items": 40, "users": 50, "interactions": 300, "texts": 0}
    assert manifest.info["format"] == "movielens-100k"
    assert manifest.skipped_rows == {}
    assert manifest.source == f"movielens:{ml100k.path}"
    np.testing.assert_array_equal(interactions_sorted(ds), expected_sorted(ml100k))
    assert set(ds.interactions.column("event_type").to_pylist()) == {"rating"}
    ds.verify()


def test_100k_items(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    _, ds = load_ml(ml100k, tmp_path / "out")
    items = items_by_id(ds)
    toy = items["1"]
    assert (toy["title"], toy["year"], toy["genres"]) == (
        "Toy Story",
        1995,
        ["Animation", "Children's", "Comedy"],
    )
    assert (toy["kind"], toy["available"]) == ("movie", True)
    assert toy["tags"] is None and toy["description"] is None and toy["maturity_rating"] is None
    assert (items["2"]["title"], items["2"]["year"]) == ("Café", 1994)  # latin-1 decoded
    assert items["3"]["title"] == "Shanghai Triad (Yao a yao yao dao waipo qiao)"
    assert (items["4"]["title"], items["4"]["year"]) == ("unknown", None)
    assert (items["5"]["title"], items["5"]["year"]) == ("Nadja", 1994)  # from the release date
    flags = ml100k.extra["flags"]
    assert isinstance(flags, np.ndarray)
    for i in range(6, 41):  # generated items: genres in u.genre order
        assert items[str(i)]["genres"] == [
            g for g, f in zip(GENRES_100K, flags[i - 1], strict=True) if f
        ]
        assert items[str(i)]["year"] == 1950 + i % 50


def test_100k_users(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    _, ds = load_ml(ml100k, tmp_path / "out")
    users = {row["user_id"]: dict(row["attributes"]) for row in ds.users.to_pylist()}
    lines = (ml100k.path / "u.user").read_text().splitlines()
    for line in lines:
        uid, age, gender, occupation, zip_code = line.split("|")
        assert users[uid] == {
            "age": age,
            "gender": gender,
            "occupation": occupation,
            "zip": zip_code,
        }
    assert len(users) == len(lines)


def test_full_size_100k_counts(ml100k_full: MovieLensFixture, tmp_path: Path) -> None:
    manifest, ds = load_ml(ml100k_full, tmp_path / "out")
    assert manifest.counts["interactions"] == 100_000
    assert manifest.counts["users"] == 943
    assert manifest.counts["items"] == 1682
    assert ds.interactions.num_rows == 100_000


# --------------------------------------------------------------------------- 1M


def test_1m(ml1m: MovieLensFixture, tmp_path: Path) -> None:
    manifest, ds = load_ml(ml1m, tmp_path / "out")
    assert manifest.counts == {"items": 25, "users": 30, "interactions": 200, "texts": 0}
    assert manifest.info["format"] == "movielens-1m"
    np.testing.assert_array_equal(interactions_sorted(ds), expected_sorted(ml1m))
    items = items_by_id(ds)
    assert (items["2"]["title"], items["2"]["year"]) == ("Café", 1994)
    assert items["3"]["title"] == "Star Wars: Episode IV - A New Hope"  # ':' inside '::' fields
    assert items["3"]["genres"] == ["Action", "Adventure", "Fantasy", "Sci-Fi"]
    assert items["4"]["title"] == '"Great Performances" Cats'  # quotes are plain text here
    users = {row["user_id"]: dict(row["attributes"]) for row in ds.users.to_pylist()}
    # 7::F::1::7::48007: occupation code 7 is "executive/managerial" (ML-1M README)
    assert users["7"] == {
        "age": "1",
        "gender": "F",
        "occupation": "executive/managerial",
        "zip": "48007",
    }
    assert users["20"]["occupation"] == "writer"


# --------------------------------------------------------------------------- 20M / 25M / latest


def test_latest(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    manifest, ds = load_ml(ml_latest, tmp_path / "out")
    assert manifest.counts == {"items": 15, "users": 20, "interactions": 120, "texts": 0}
    assert manifest.info["format"] == "movielens-latest"
    np.testing.assert_array_equal(interactions_sorted(ds), expected_sorted(ml_latest))
    assert {v % 0.5 for v in ds.interactions.column("value").to_pylist()} == {0.0}  # half stars
    items = items_by_id(ds)
    assert (items["11"]["title"], items["11"]["year"]) == ("American President, The", 1995)
    assert items["12"]["title"] == '"Great Performances" Cats'
    assert items["13"]["title"] == "Amélie (Fabuleux destin d'Amélie Poulain, Le)"
    assert (items["14"]["title"], items["14"]["year"], items["14"]["genres"]) == (
        "Hyena Road",
        None,
        [],
    )
    assert (items["15"]["title"], items["15"]["year"]) == ("Fawlty Towers", 1975)


def test_latest_tags_are_distinct_lowercase_sorted(
    ml_latest: MovieLensFixture, tmp_path: Path
) -> None:
    _, ds = load_ml(ml_latest, tmp_path / "out")
    items = items_by_id(ds)
    assert items["11"]["tags"] == ["funny, sort of", "politics"]
    assert items["1"]["tags"] == ["pixar"]
    assert items["12"]["tags"] == []  # tags.csv is complete: nobody tagged it
    assert "99999" not in items  # a tag on an unknown movie adds no item
    assert len(TAGS_LATEST) == 6


def test_latest_users_are_the_raters(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    _, ds = load_ml(ml_latest, tmp_path / "out")
    users = ds.users.to_pylist()
    raters = sorted({int(u) for u in ml_latest.ratings[:, 0]})
    assert [int(u["user_id"]) for u in users] == raters
    assert all(u["attributes"] == [] for u in users)


def test_latest_without_tags_file(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    (ml_latest.path / "tags.csv").unlink()
    _, ds = load_ml(ml_latest, tmp_path / "out")
    assert set(ds.items.column("tags").to_pylist()) == {None}


# --------------------------------------------------------------------------- malformed input


def replace_line(path: Path, line: int, text: str, encoding: str = "latin-1") -> None:
    lines = path.read_text(encoding=encoding).splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


def test_wrong_field_count_names_file_and_line(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml100k.path / "u.data", 17, "1\t2\t3")
    with pytest.raises(InputError, match=r"^u\.data:17: expected 4 tab-separated fields, got 3$"):
        load_ml(ml100k, tmp_path / "out")


def test_bad_number_names_field_and_line(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml_latest.path / "ratings.csv", 5, "1,1,abc,964982703", "utf-8")
    with pytest.raises(
        InputError, match=r"^ratings\.csv:5: field 'rating': 'abc' is not a number$"
    ):
        load_ml(ml_latest, tmp_path / "out")


def test_1m_bad_rows(ml1m: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml1m.path / "ratings.dat", 3, "1::2::3")
    with pytest.raises(
        InputError, match=r"^ratings\.dat:3: expected 4 '::'-separated fields, got 3$"
    ):
        load_ml(ml1m, tmp_path / "out")
    replace_line(ml1m.path / "ratings.dat", 3, "1::2::3::yesterday")
    with pytest.raises(
        InputError, match=r"ratings\.dat:3: field 'Timestamp': 'yesterday' is not an integer"
    ):
        load_ml(ml1m, tmp_path / "out")


def test_line_numbers_count_blank_lines(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    path = ml100k.path / "u.data"
    lines = path.read_text().splitlines()
    lines[4:4] = ["", ""]  # blank lines 5 and 6 are ignored, but still lines
    lines[9] = "1\t2\tfive\t881250949"
    path.write_text("\n".join(lines) + "\n\n")
    with pytest.raises(InputError, match=r"^u\.data:10: field 'rating': 'five' is not a number$"):
        load_ml(ml100k, tmp_path / "out")


def test_bad_last_line_and_whitespace_lines(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    path = ml100k.path / "u.data"
    path.write_text(path.read_text() + "   \n1\t2\n")  # a whitespace-only line is blank
    with pytest.raises(InputError, match=r"^u\.data:302: expected 4 tab-separated fields, got 2$"):
        load_ml(ml100k, tmp_path / "out")
    manifest, _ = load_ml(ml100k, tmp_path / "out", skip_bad_rows=True)
    assert manifest.skipped_rows == {"u.data": 1}
    assert manifest.counts["interactions"] == 300


def test_earliest_problem_is_reported(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml100k.path / "u.data", 30, "1\t2")  # field count, found by the parser
    replace_line(ml100k.path / "u.data", 12, "x\t2\t3\t881250949")  # found after parsing
    with pytest.raises(InputError, match=r"^u\.data:12: field 'user id': 'x' is not an integer$"):
        load_ml(ml100k, tmp_path / "out")


def test_bad_genre_flag_in_u_item(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    path = ml100k.path / "u.item"
    line = path.read_text(encoding="latin-1").splitlines()[7]
    replace_line(path, 8, line[:-1] + "2")
    with pytest.raises(InputError, match=r"^u\.item:8: field 'Western': '2' is not 0 or 1$"):
        load_ml(ml100k, tmp_path / "out")


def test_repeated_item_id_is_a_bad_row(ml1m: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml1m.path / "movies.dat", 9, "5::Another Movie (2000)::Drama")
    with pytest.raises(
        InputError, match=r"^movies\.dat:9: field 'MovieID': 5 appears more than once$"
    ):
        load_ml(ml1m, tmp_path / "out")


def test_failure_leaves_no_output(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    # The bad row sits after the first ratings were written: the staged parts must vanish.
    replace_line(ml100k.path / "u.data", 290, "1\t2\t3")
    parent = tmp_path / "datasets"
    parent.mkdir()
    with pytest.raises(InputError):
        load_ml(ml100k, parent / "out")
    assert list(parent.iterdir()) == []


def test_skip_bad_rows_counts_them(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    replace_line(ml100k.path / "u.data", 17, "1\t2\t3")
    replace_line(ml100k.path / "u.data", 18, "1\t2\tbad\t881250949")
    replace_line(ml100k.path / "u.data", 19, "1\t2\t3\t4\t5")
    replace_line(ml100k.path / "u.user", 2, "2|old|M|writer|85702")
    manifest, ds = load_ml(ml100k, tmp_path / "out", skip_bad_rows=True)
    assert manifest.skipped_rows == {"u.data": 3, "u.user": 1}
    assert manifest.counts["interactions"] == 297 == ds.interactions.num_rows
    assert manifest.counts["users"] == 49
    kept = np.delete(ml100k.ratings, [16, 17, 18], axis=0).astype(np.float64)
    np.testing.assert_array_equal(interactions_sorted(ds), kept[np.lexsort(kept.T[::-1])])


def test_ratings_of_unknown_items_are_kept(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    with (ml100k.path / "u.data").open("a") as f:
        f.write("1\t9999\t4\t881250949\n")
    manifest, ds = load_ml(ml100k, tmp_path / "out")
    assert manifest.counts["interactions"] == 301 and manifest.skipped_rows == {}
    assert "9999" in ds.interactions.column("item_id").to_pylist()
    assert manifest.counts["items"] == 40


@pytest.mark.parametrize("missing", ["u.item", "u.user"])
def test_missing_file_names_it_and_the_directory(
    ml100k: MovieLensFixture, tmp_path: Path, missing: str
) -> None:
    (ml100k.path / missing).unlink()
    with pytest.raises(InputError, match=rf"^{ml100k.path}: {missing} is missing") as err:
        load_ml(ml100k, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert err.value.location == str(ml100k.path)


def test_missing_movies_csv(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    (ml_latest.path / "movies.csv").unlink()
    with pytest.raises(InputError, match="movies.csv is missing"):
        load_ml(ml_latest, tmp_path / "out")


def test_not_a_movielens_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(InputError, match="not a MovieLens directory: none of u.data"):
        load(f"movielens:{tmp_path / 'src'}", str(tmp_path / "out"))
    with pytest.raises(InputError, match="not a directory"):
        load(f"movielens:{tmp_path / 'nowhere'}", str(tmp_path / "out"))


def test_missing_csv_column(ml_latest: MovieLensFixture, tmp_path: Path) -> None:
    path = ml_latest.path / "ratings.csv"
    path.write_text(path.read_text().replace("rating,", "stars,", 1))
    with pytest.raises(InputError, match=r"ratings\.csv: no column 'rating'; the file has columns"):
        load_ml(ml_latest, tmp_path / "out")


# --------------------------------------------------------------------------- load() itself


@pytest.mark.parametrize("source", ["movielens", "movielens:", "imdb:/data", "csv", "", "Demo"])
def test_unknown_source_lists_the_valid_forms(source: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load(source, str(tmp_path / "out"))
    for form in SOURCE_FORMS:
        assert form in str(err.value)


def test_demo_delegates_to_the_generator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from entertainai.data import synthetic

    calls: list[tuple[str, int, bool, bool]] = []

    def fake_generate(
        out: str, config: synthetic.DemoConfig, *, overwrite: bool, progress: bool
    ) -> str:
        calls.append((out, config.n_users, overwrite, progress))
        return "manifest"

    monkeypatch.setattr(synthetic, "generate", fake_generate)
    assert load("demo:25", "o1", overwrite=True) == "manifest"
    load("demo", "o2", progress=True)
    assert calls == [("o1", 25, True, False), ("o2", synthetic.DemoConfig().n_users, False, True)]
    with pytest.raises(InputError, match="not a positive number of users"):
        load("demo:many", "o3")


def test_column_map_is_for_logs_only(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="column_map"):
        load(f"movielens:{ml100k.path}", str(tmp_path / "out"), column_map={"user_id": "u"})


def test_overwrite(ml100k: MovieLensFixture, ml1m: MovieLensFixture, tmp_path: Path) -> None:
    load_ml(ml100k, tmp_path / "out")
    with pytest.raises(InputError, match="already exists"):
        load_ml(ml1m, tmp_path / "out")
    manifest, _ = load_ml(ml1m, tmp_path / "out", overwrite=True)
    assert manifest.info["format"] == "movielens-1m"
    assert stray_files(tmp_path) == []


def test_progress_bar_does_not_change_the_result(ml100k: MovieLensFixture, tmp_path: Path) -> None:
    a, _ = load_ml(ml100k, tmp_path / "a")
    b, _ = load_ml(ml100k, tmp_path / "b", progress=True)
    assert a.content_hash == b.content_hash


# --------------------------------------------------------------------------- internals


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_double_colon_rewrite_across_read_boundaries(size: int) -> None:
    text = b"1::Star Wars: A (1977)::Sci-Fi\n2:::x::::y\n3::z:"
    stream = _Stream(pa.BufferReader(text), double_colon=True, bar=None)
    out = b""
    while chunk := stream.read(size):
        out += chunk
    assert out == text.replace(b"::", b"\x1f")


def test_assign_lines_skips_rejected_lines() -> None:
    lines, k = _assign_lines(2, 4, [3, 5, 9])  # 9 belongs to a later batch
    assert lines.tolist() == [2, 4, 6, 7] and k == 2
