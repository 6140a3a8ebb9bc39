"""The character transformer: learning, seeds, shapes, save/load equality, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entertainai.errors import ArtifactError, InputError, NotFittedError
from entertainai.generate.text_transformer import TextTransformer, TextTransformerConfig
from entertainai.model import load_model

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=16, lr=1e-2)


@pytest.fixture(scope="module")
def model() -> TextTransformer:
    config = TextTransformerConfig(max_steps=80, warmup_steps=5, eval_every=0, **TINY)
    return TextTransformer(config).fit(TEXT)


def test_learns_well_below_uniform(model: TextTransformer) -> None:
    # Uniform over the 15 characters is ln 15 = 2.7 nats; the repeated text is nearly certain.
    assert model.metrics_["val_nats_per_char"] < 1.0 < np.log(model.tokenizer_.vocab_size)


def test_seeds_shapes_and_stop(model: TextTransformer) -> None:
    out = model("the ", max_new_tokens=25, temperature=1.0, num_samples=3, seed=7)
    assert len(out.texts) == 3 and all(len(t) == 25 for t in out.texts)
    assert out == model("the ", max_new_tokens=25, temperature=1.0, num_samples=3, seed=7)
    assert out.texts != model("the ", max_new_tokens=25, num_samples=3, seed=8).texts
    greedy = model("the c", max_new_tokens=30, temperature=0, stop=["o"])
    assert greedy.finish_reasons == ["stop"] and "o" not in greedy.texts[0]
    assert greedy.texts[0].startswith("at")  # "the c" -> "the cat" every time in the corpus
    streamed = "".join(model.stream("the c", max_new_tokens=30, temperature=0, stop=["o"]))
    assert streamed == greedy.texts[0]
    # Longer than block_size: the context window slides.
    assert len(model("", max_new_tokens=80, top_k=3, top_p=0.9, seed=1).texts[0]) == 80


def test_save_load_equality(model: TextTransformer, tmp_path: Path) -> None:
    directory = model.save_pretrained(tmp_path / "tt")
    assert {p.name for p in directory.iterdir()} == {
        "model.json",
        "tokenizer.json",
        "weights.safetensors",
    }
    loaded = load_model(directory)
    assert isinstance(loaded, TextTransformer)
    args = dict(max_new_tokens=40, num_samples=2, seed=3, top_k=5)
    assert loaded("the ", **args) == model("the ", **args)
    assert loaded.validation_nats_per_char(TEXT[-300:]) == pytest.approx(
        model.validation_nats_per_char(TEXT[-300:]), rel=1e-6
    )


def test_errors(model: TextTransformer, tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        TextTransformer()("x")
    with pytest.raises(InputError, match="never saw: 'Z'"):
        model("Zaa")
    with pytest.raises(InputError, match="temperature"):
        model("the", temperature=9)
    with pytest.raises(InputError, match="multiple of n_head"):
        TextTransformerConfig(n_embd=30, n_head=4)
    directory = model.save(tmp_path / "bad")
    header = json.loads((directory / "model.json").read_text())
    header["config"]["n_embd"] = 64
    (directory / "model.json").write_text(json.dumps(header))
    with pytest.raises(ArtifactError, match="weights do not match"):
        load_model(directory)
