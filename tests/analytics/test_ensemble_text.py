"""ensemble_text, NB weighting and cross-fitted calibration: each learns, round-trips and
does what its docstring says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics import encoder as enc
from entertainai.analytics.ensemble_text import EnsembleText
from entertainai.analytics.text_data import LabelledTexts, demo_labelled
from entertainai.analytics.tfidf_linear import (
    TfidfLinear,
    fit_linear,
    nb_ratios,
    tfidf_vectorizer,
)
from entertainai.errors import ArtifactError, InputError
from entertainai.model import load_model


def rare_class_texts(n: int = 600, seed: int = 0) -> LabelledTexts:
    """Three classes, one rare (5%): each marked by its own words among shared filler."""
    rng = np.random.default_rng(seed)
    marks = {"common": ["alpha", "beta"], "other": ["gamma", "delta"], "rare": ["omega"]}
    filler = [f"w{i}" for i in range(40)]
    texts, labels = [], []
    for i in range(n):
        label = "rare" if i % 20 == 0 else ("common" if i % 2 else "other")
        words = list(rng.choice(filler, 5)) + [str(rng.choice(marks[label]))]
        texts.append(" ".join(rng.permutation(words)))
        labels.append((label,))
    return LabelledTexts(texts, labels, False)


def test_folds_are_disjoint_cover_every_row_and_share_a_rare_label():
    data = rare_class_texts()
    folds = data.folds(5, seed=3)
    rows = np.concatenate(folds)
    assert sorted(rows.tolist()) == list(range(len(data)))
    rare = {i for i, row in enumerate(data.labels) if row == ("rare",)}
    assert [len(rare & set(f.tolist())) for f in folds] == [6, 6, 6, 6, 6]
    assert [f.tolist() for f in data.folds(5, seed=3)] == [f.tolist() for f in folds]
    with pytest.raises(InputError, match="folds"):
        data.folds(1, seed=0)


def test_nb_ratios_and_their_fold_into_the_weights():
    from scipy.sparse import csr_matrix

    X = csr_matrix(np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]], np.float32))
    y = np.array([True, True, False, False])
    r = nb_ratios(X, y)
    assert r[0] > 0 > r[1] and r[2] == pytest.approx(0.0)  # feature 2 is in both classes
    Y = np.eye(2, dtype=np.int8)[[1, 1, 0, 0]]
    coef, intercept = fit_linear(X, Y, False, 4.0, "balanced", nb_weighting=True)
    logits = X @ coef.T + intercept
    assert (logits.argmax(axis=1) == np.array([1, 1, 0, 0])).all()


def test_cross_fitted_calibration_uses_every_row():
    data = rare_class_texts()
    data = LabelledTexts([*data.texts, "w1 w2 zeta"], [*data.labels, ("other",)], False)
    crossed = TfidfLinear.from_params(class_thresholds=True, calibration_folds=5).fit(data)
    # The final model saw every row, none held out: its vocabulary is all the texts'.
    everything = tfidf_vectorizer(2).fit(data.texts).vocabulary_
    assert crossed.vectorizer_.vocabulary_ == everything and "zeta" in everything
    assert 0.9 <= crossed.validation_macro_f1_ <= 1.0  # out-of-fold, over all 600 rows
    predictions = crossed.predict(["w1 w2 omega w3", "alpha w4 w5", "delta w6"]).labels()
    assert predictions == [["rare"], ["common"], ["other"]]


def test_ensemble_learns_roundtrips_and_records_its_heads(demo_dir: Path, tmp_path: Path):
    train, test = demo_labelled(demo_dir, "sentiment").split(0.25, seed=0)
    train = train.subset(np.arange(min(400, len(train))))
    model = EnsembleText.from_params(char_ngram_max=4, calibration_folds=3).fit(train)
    expected = ("softmax", "nb") + (("encoder",) if enc.encoder_installed() else ())
    assert model.heads == expected
    truth = [row[0] for row in test.labels[:100]]
    rows = model.predict(test.texts[:100]).rows()
    assert np.mean([r["label"] == t for r, t in zip(rows, truth, strict=True)]) > 0.7
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, EnsembleText) and loaded.heads == expected
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts[:20]), model.predict_proba(test.texts[:20]), atol=1e-5
    )
    sparse_only = EnsembleText.from_params(char_ngram_max=4, encoder_head=False).fit(train)
    assert sparse_only.heads == ("softmax", "nb")
    sparse_only.save(tmp_path / "m2")
    assert not (tmp_path / "m2" / "encoder.json").exists()


@pytest.mark.skipif(not enc.encoder_installed(), reason="the encoder extra is not installed")
def test_ensemble_refuses_to_load_without_its_encoder(demo_dir: Path, tmp_path: Path, monkeypatch):
    train = demo_labelled(demo_dir, "sentiment").subset(np.arange(200))
    EnsembleText.from_params().fit(train).save(tmp_path / "m")
    record = json.loads((tmp_path / "m" / "encoder.json").read_text())
    assert record["sha256"] == enc.KNOWN_SHA256[enc.DEFAULT_ENCODER]
    monkeypatch.setenv(enc.ENV_DIR, str(tmp_path / "nowhere"))
    with pytest.raises(ArtifactError, match="not usable here"):
        load_model(tmp_path / "m")
