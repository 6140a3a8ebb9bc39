"""Labelled text loading: columns, multi-label forms, errors that name file, line and column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from entertainai.analytics.text_data import demo_labelled, load_labelled, load_task_data, load_texts
from entertainai.errors import InputError, NotFoundError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_single_and_multi_label(tmp_path: Path):
    f = write(tmp_path / "r.csv", "body,mood\ngreat film,positive\nawful,negative\n")
    data = load_labelled(f, text_col="body", label_col="mood")
    assert data.texts == ["great film", "awful"] and data.labels == [("positive",), ("negative",)]
    assert data.classes == ("negative", "positive") and not data.multi_label

    f = write(tmp_path / "e.csv", "text,label\nso sad and angry,sadness|anger\nwow,surprise\n")
    multi = load_labelled(f, multi_label=True)
    assert multi.labels == [("anger", "sadness"), ("surprise",)]
    f = write(tmp_path / "e2.csv", "text,label\nx,a;b\ny,b\n")
    assert load_labelled(f, multi_label=True, delimiter=";").labels == [("a", "b"), ("b",)]


def test_numeric_looking_labels_stay_strings(tmp_path: Path):
    f = write(tmp_path / "n.csv", "text,label\ngood,1\nbad,0\n")
    assert load_labelled(f).classes == ("0", "1")


def test_parquet_list_and_bool_labels(tmp_path: Path):
    table = pa.table(
        {
            "text": ["a b", "c d", "e f"],
            "emotions": [["joy"], [], ["anger", "disgust"]],
            "toxic": [False, True, False],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    multi = load_labelled(tmp_path / "t.parquet", label_col="emotions", multi_label=True)
    assert multi.labels == [("joy",), (), ("anger", "disgust")]
    toxic = load_labelled(tmp_path / "t.parquet", label_col="toxic", multi_label=True)
    assert toxic.labels == [(), ("toxic",), ()]


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("text,label\nok,pos\n,neg\n", {}, "r.csv:line 3, column 'text': empty text"),
        ("text,label\nok,pos\nfine,\n", {}, "r.csv:line 3, column 'label': missing label"),
        ("words,label\nok,pos\n", {}, "no column 'text'"),
        ("text,label\nok,pos\nfine,pos\n", {}, "one class"),
    ],
)
def test_bad_files_name_the_place(tmp_path: Path, content: str, kwargs: dict, message: str):
    f = write(tmp_path / "r.csv", content)
    with pytest.raises(InputError, match=message.replace("|", r"\|")):
        load_labelled(f, **kwargs)


def test_missing_and_unknown_files(tmp_path: Path):
    with pytest.raises(NotFoundError):
        load_labelled(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="expected a .csv"):
        load_labelled(write(tmp_path / "x.json", "{}"))
    with pytest.raises(InputError, match="unknown task"):
        load_task_data(tmp_path, "poetry")


def test_load_texts_keeps_order(tmp_path: Path):
    f = write(tmp_path / "in.csv", "id,text\n1,first\n2,second\n3,third\n")
    assert load_texts(f) == ["first", "second", "third"]


def test_demo_tasks(demo_dir: Path):
    sentiment = demo_labelled(demo_dir, "sentiment")
    assert sentiment.classes == ("negative", "neutral", "positive") and len(sentiment) > 300
    emotion = demo_labelled(demo_dir, "emotion")
    assert emotion.multi_label and "neutral" in emotion.classes and "joy" in emotion.classes
    assert all(row for row in emotion.labels)  # every text has an emotion or "neutral"
    moderation = demo_labelled(demo_dir, "moderation")
    assert set(moderation.classes) == {"spam", "toxic"}
    textclass = demo_labelled(demo_dir, "textclass")
    assert len(textclass.classes) > 5 and not textclass.multi_label
    train, test = sentiment.split(0.2, seed=1)
    assert len(train) + len(test) == len(sentiment)
    assert set(test.classes) == set(sentiment.classes)  # stratified: every class is tested
    assert sentiment.split(0.2, seed=1)[1].texts == test.texts
