"""tfidf_linear with character n-grams and per-class thresholds; older artifacts still load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from entertainai.analytics.text_data import demo_labelled
from entertainai.analytics.text_metrics import macro_f1
from entertainai.analytics.text_models import tune_class_thresholds
from entertainai.analytics.tfidf_linear import TfidfLinear
from entertainai.classifier import decide, one_hot
from entertainai.model import load_model


def test_char_ngrams_and_class_thresholds_roundtrip(demo_dir: Path, tmp_path: Path):
    train, test = demo_labelled(demo_dir, "sentiment").split(0.25, seed=0)
    model = TfidfLinear.from_params(char_ngram_max=4, class_thresholds=True).fit(train)
    assert model.char_vectorizer_ is not None and model.thresholds_.shape == (3,)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "chars_vocabulary.json").exists()
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(test.texts), model.predict_proba(test.texts))
    np.testing.assert_array_equal(
        loaded.predict(test.texts).indicators(), model.predict(test.texts).indicators()
    )
    # Misspelt words still carry signal through the character n-grams.
    assert model.predict(["wonderfull lovedd it"]).rows()[0]["label"] == "positive"


def test_artifact_without_new_fields_loads_as_words_only(demo_dir: Path, tmp_path: Path):
    train, _ = demo_labelled(demo_dir, "sentiment").split(0.25, seed=0)
    TfidfLinear().fit(train).save(tmp_path / "old")
    header = json.loads((tmp_path / "old" / "model.json").read_text())
    for key in ("char_ngram_max", "char_ngram_min", "char_min_df", "char_max_features"):
        header["config"].pop(key)
    header["config"].pop("class_thresholds")
    (tmp_path / "old" / "model.json").write_text(json.dumps(header))
    loaded = load_model(tmp_path / "old")
    assert loaded.char_vectorizer_ is None and loaded.predict(["great"]).probabilities.shape[1] == 3


def test_class_thresholds_favour_a_rare_class():
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.1).astype(int)  # class 1 is rare and under-predicted
    p1 = np.where(y == 1, 0.2 + 0.4 * rng.random(3000), 0.45 * rng.random(3000))
    probs, Y = np.stack([1 - p1, p1], axis=1), one_hot(y, 2)
    t = tune_class_thresholds(probs, Y)
    assert t[0] - t[1] > 0.05  # the boundary moved towards the rare class
    tuned, plain = decide(probs, t, False), decide(probs, np.full(2, 0.5), False)
    assert macro_f1(Y, tuned) > macro_f1(Y, plain) + 0.05
    empty = tune_class_thresholds(probs[:0], Y[:0])
    np.testing.assert_array_equal(empty, [0.5, 0.5])
