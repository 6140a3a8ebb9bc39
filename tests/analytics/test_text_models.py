"""Text classifiers: they learn (vs a majority baseline), are deterministic, save/load equal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.text_data import LabelledTexts, demo_labelled
from entertainai.analytics.text_metrics import macro_f1, one_hot
from entertainai.analytics.text_models import (
    LexiconSentiment,
    NeuralText,
    TfidfLinear,
    fit_temperature,
    indicator_matrix,
    softmax,
    tune_thresholds,
)
from entertainai.analytics.text_tasks import TextTrainSpec, fit_and_evaluate, predict_file
from entertainai.errors import InputError, NotFittedError
from entertainai.model import load_model

TINY_NEURAL = {
    "epochs": 4,
    "embedding_dim": 16,
    "filters": 16,
    "hidden": 16,
    "kernel_sizes": (1, 2),
    "max_tokens": 2000,
    "wide_tokens": 3000,
    "sequence_length": 24,
    "lexicon_features": True,
}


@pytest.fixture(scope="module")
def sentiment(demo_dir: Path) -> tuple[LabelledTexts, LabelledTexts]:
    return demo_labelled(demo_dir, "sentiment").split(0.25, seed=0)


def majority_f1(train: LabelledTexts, test: LabelledTexts) -> float:
    classes = train.classes
    top = max(classes, key=lambda c: sum(c in row for row in train.labels))
    Y = indicator_matrix(test.labels, classes)
    return macro_f1(Y, one_hot(np.full(len(test), classes.index(top)), len(classes)))


def f1_of(model, data: LabelledTexts) -> float:
    p = model.predict(data.texts)
    return macro_f1(indicator_matrix(data.labels, p.classes), p.indicators())


def test_tfidf_learns_saves_and_loads(sentiment, tmp_path: Path):
    train, test = sentiment
    model = TfidfLinear().fit(train)
    assert f1_of(model, test) > majority_f1(train, test) + 0.4
    model.save(tmp_path / "m")
    assert not any(p.suffix in (".pkl", ".pickle") for p in (tmp_path / "m").iterdir())
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(test.texts), model.predict_proba(test.texts))
    again = TfidfLinear().fit(train)
    np.testing.assert_array_equal(again.predict_proba(test.texts), model.predict_proba(test.texts))
    rows = model.predict(["wonderful loved it", "terrible awful"]).rows()
    assert rows[0]["compound"] > 0 > rows[1]["compound"]
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-5


def test_neural_learns_deterministic_and_roundtrips(sentiment, tmp_path: Path):
    train, test = sentiment
    train = train.subset(np.arange(min(500, len(train))))  # small: this test fits twice
    model = NeuralText.from_params(**TINY_NEURAL).fit(train)
    assert f1_of(model, test) > majority_f1(train, test) + 0.3
    model.save(tmp_path / "n")
    saved = json.loads((tmp_path / "n" / "model.json").read_text())
    assert saved["kind"] == "neural_text" and (tmp_path / "n" / "weights.npz").exists()
    loaded = load_model(tmp_path / "n")
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts), model.predict_proba(test.texts), atol=1e-5
    )
    again = NeuralText.from_params(**TINY_NEURAL).fit(train)
    np.testing.assert_allclose(
        again.predict_proba(test.texts[:50]), model.predict_proba(test.texts[:50]), atol=1e-5
    )
    words, vectors = model.embeddings()
    assert vectors.shape == (len(words), 16)


def test_multi_label_thresholds_and_batch_file(demo_dir: Path, tmp_path: Path):
    spec = TextTrainSpec("emotion", str(demo_dir), "tfidf", seed=0)
    model, result = fit_and_evaluate(spec)
    assert model.multi_label_ and len(model.thresholds_) == len(model.classes_)
    assert result.metrics["macro_f1"] > 0.5
    texts = ["i", "loved it so happy", "hated it vile", "so-so average", "wow what a twist"]
    src = tmp_path / "in.csv"
    src.write_text("text\n" + "\n".join(texts) + "\n")
    n = predict_file(model, str(src), str(tmp_path / "out.csv"))
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert n == 5 and len(out) == 6 and out[0].startswith('"text","label","p_anger"')
    assert [line.split(",")[0].strip('"') for line in out[1:]] == texts  # input order


def test_lexicon_needs_no_training():
    model = LexiconSentiment.default()
    p = model.predict(["I love this wonderful show!", "This is terrible and boring.", "A film."])
    assert [r["label"] for r in p.rows()] == ["positive", "negative", "neutral"]
    binary = LexiconSentiment().fit(
        LabelledTexts(["a", "b"], [("negative",), ("positive",)], False)
    )
    assert binary.classes_ == ("negative", "positive")
    with pytest.raises(InputError, match="predicts"):
        LexiconSentiment().fit(LabelledTexts(["a", "b"], [("joy",), ("anger",)], False))


def test_bad_input_and_unfitted():
    with pytest.raises(NotFittedError):
        TfidfLinear().predict(["x"])
    model = LexiconSentiment.default()
    with pytest.raises(InputError, match="one string"):
        model.predict("just a string")
    with pytest.raises(InputError, match=r"texts\[1\]"):
        model.predict(["ok", 3])
    with pytest.raises(InputError, match="two labelled"):
        TfidfLinear().fit(LabelledTexts(["a"], [("x",)], False))
    with pytest.raises(ValueError, match="unknown"):
        NeuralText.from_params(epochz=3)


def test_temperature_and_threshold_tuning():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    logits = np.stack([np.zeros(2000), (2 * y - 1) * 1.0 + rng.normal(0, 1, 2000)], axis=1) * 5
    T = fit_temperature(logits, one_hot(y, 2), multi_label=False)
    assert T > 2  # overconfident logits get cooled down
    p = softmax(logits / T)
    assert np.all((p > 0) & (p < 1))
    probs = np.clip(np.stack([y * 0.3 + rng.random(2000) * 0.3], axis=1), 0, 1)
    t = tune_thresholds(probs, y[:, None])
    assert 0.25 <= t[0] <= 0.35  # positives sit in [0.3, 0.6], negatives in [0, 0.3]
