"""The Keras LSTM: learning, numpy decoding equal to Keras, seeds, save/load equality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.generate.text_lstm import (
    WEIGHT_NAMES,
    TextLSTM,
    TextLSTMConfig,
    build_keras_model,
)
from entertainai.model import load_model

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


@pytest.fixture(scope="module")
def model() -> TextLSTM:
    config = TextLSTMConfig(embedding_dim=8, units=32, seq_len=24, batch_size=16, steps=80, lr=1e-2)
    return TextLSTM(config).fit(TEXT)


def test_learns_below_uniform(model: TextLSTM) -> None:
    assert model.metrics_["val_nats_per_char"] < 0.8 * np.log(model.tokenizer_.vocab_size)


def test_numpy_step_equals_keras(model: TextLSTM) -> None:
    keras_model = build_keras_model(model.tokenizer_.vocab_size, model.config)
    keras_model.set_weights([model.weights_[k] for k in WEIGHT_NAMES])
    ids = model.tokenizer_.encode("the cat sat on")
    expected = keras_model(ids[None, :]).numpy()[0, -1]
    logits = model.stepper().start(ids, 2)
    np.testing.assert_allclose(logits[1], expected, atol=1e-4)


def test_seeds_save_load(model: TextLSTM, tmp_path: Path) -> None:
    args = dict(max_new_tokens=30, num_samples=2, seed=11, temperature=0.8, stop=["log"])
    out = model("the ", **args)
    assert out == model("the ", **args) and len(out.texts) == 2
    loaded = load_model(model.save_pretrained(tmp_path / "lstm"))
    assert isinstance(loaded, TextLSTM) and loaded("the ", **args) == out
    assert (
        "".join(loaded.stream("the ", max_new_tokens=30, seed=11, temperature=0.8))
        == (loaded("the ", max_new_tokens=30, seed=11, temperature=0.8).texts[0])
    )
