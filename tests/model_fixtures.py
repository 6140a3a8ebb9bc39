"""A tiny fixture for every model kind in ``MODEL_KINDS``, for the one contract suite.

Each kind supplies tiny hyperparameters, a ``fit`` on tiny data and ``outputs``: what the
fitted model computes, in a form two models can be compared on (arrays, floats, texts).
Classes are looked up through ``model_class(kind)``, never imported by module path, so a
model moving between files does not break its fixture. Data is built once per session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.model import Model


@dataclass(frozen=True)
class ModelFixture:
    """How to fit a tiny model of one kind and what to compare between two such models."""

    params: dict[str, Any]
    fit: Callable[[Any, Path], Any]  # (unfitted model, demo dataset dir) -> fitted model
    outputs: Callable[[Any, Path], Any]  # (model, demo dataset dir) -> comparable values
    # What two seeded fits must agree on, and how closely (default: ``outputs``, identical).
    # A weaker check only where the fixture says why.
    fit_outputs: Callable[[Any, Path], Any] | None = None
    fit_rtol: float = 0.0
    # Slow on a 2-core machine (kept out of ``make test-fast``).
    slow: bool = False
    # A reason to skip this kind on this machine (an optional dependency), or None.
    unavailable: Callable[[], str | None] = field(default=lambda: None)


# ---- tiny data, built once -----------------------------------------------------------------


@functools.cache
def interactions() -> Any:
    from entertainai.recommend import InteractionData
    from tests.recommend.conftest import make_tables

    return InteractionData.from_tables(*make_tables())


@functools.cache
def _demo(demo_dir: Path) -> Any:
    from entertainai.data.dataset import Dataset

    return Dataset.open(str(demo_dir))


def demo_descriptions(demo_dir: Path) -> tuple[list[str], list[str]]:
    rows = [r for r in _demo(demo_dir).items.to_pylist() if r["description"]]
    return [r["item_id"] for r in rows], [r["description"] for r in rows]


@functools.cache
def demo_user_features(demo_dir: Path) -> Any:
    from entertainai.analytics.segments import user_features

    ds = _demo(demo_dir)
    return user_features(ds.interactions, ds.items)


@functools.cache
def sentiment_texts(demo_dir: Path) -> Any:
    from entertainai.analytics.text_data import demo_labelled

    # About 80 reviews over the three classes (stratified): enough to fit, cheap to embed.
    _, small = demo_labelled(demo_dir, "sentiment").split(0.1, seed=0)
    return small


SENTENCES = ["what a wonderful film", "a dull, awful mess", "the plot was fine", "loved it"]

MELODY_SCALE = [0, 2, 4, 5, 7, 9, 11, 12]


@functools.cache
def melodies() -> Any:
    from entertainai.generate import music_data as md
    from entertainai.generate.melody import MelodyConfig, MelodyData

    vocab = MelodyConfig().vocab
    rng = np.random.default_rng(0)
    tunes = [
        md.steps_to_tokens(
            [int(t) + MELODY_SCALE[i % 8] for i in range(8) for _ in range(2)], vocab
        )
        for t in rng.integers(55, 68, size=6)
    ]
    return MelodyData(train=tunes[:4], valid=tunes[4:])


@functools.cache
def tones() -> Any:
    from entertainai.generate import audio_io
    from entertainai.generate.wavenet import AudioData

    t = np.arange(800) / 8000
    waves = [(0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (150, 220, 300)]
    encoded = [audio_io.mu_law_encode(w) for w in waves]
    return AudioData(train=encoded[:2], valid=encoded[2:])


TEXT = "the cat sat on the mat. the dog sat on the log. " * 8


@functools.cache
def small_images() -> Any:
    """32 labelled 8x8 grey images: a bright square top-left (class 0) or bottom-right (1)."""
    from entertainai.generate.images import ImageData

    rng = np.random.default_rng(0)
    images = rng.integers(0, 40, (32, 8, 8, 1)).astype(np.uint8)
    labels = np.arange(32) % 2
    images[labels == 0, :4, :4] = 230
    images[labels == 1, 4:, 4:] = 230
    return ImageData(images, labels.astype(np.int64), ("tl", "br"), "squares")


@functools.cache
def rgb_images() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images (24, 16, 16, 3) float32 in [0, 1], labels, classes) for the moderation CNN."""
    data = small_images()
    rgb = data.images[:24].repeat(2, axis=1).repeat(2, axis=2).repeat(3, axis=-1)
    return rgb.astype(np.float32) / 255.0, data.labels[:24], data.class_names


def _recommend(model: Any, _: Path) -> tuple[np.ndarray, np.ndarray]:
    recs = model.recommend(["u0", "u33", "nobody"], k=5)
    return recs.item_ids, recs.scores


def _recommender(**params: Any) -> ModelFixture:
    return ModelFixture(params, lambda m, _: m.fit(interactions()), _recommend)


def _pictures() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:24, 0:24]
    content = np.zeros((24, 24, 3), np.uint8)
    content[6:18, 6:18] = [200, 60, 60]
    style = np.zeros((24, 24, 3), np.uint8)
    style[((xx + yy) // 4) % 2 == 0] = [20, 200, 40]
    return content, style


def _encoder_missing() -> str | None:
    from entertainai.analytics.encoder import encoder_installed

    return None if encoder_installed() else "the optional sentence encoder is not installed"


def _texts(model: Any, demo_dir: Path) -> np.ndarray:
    return np.asarray(model.predict_proba([*SENTENCES, *sentiment_texts(demo_dir).texts[:8]]))


TINY_NEURAL_TEXT = {
    "epochs": 2,
    "embedding_dim": 8,
    "filters": 8,
    "hidden": 8,
    "kernel_sizes": (1, 2),
    "max_tokens": 500,
    "wide_tokens": 500,
    "sequence_length": 16,
}

FIXTURES: dict[str, ModelFixture] = {
    # recommenders (interaction data with two planted taste groups)
    "popularity": _recommender(),
    "item_knn": _recommender(),
    "user_knn": _recommender(),
    "ease": _recommender(),
    "als": _recommender(iterations=3),
    "bpr": _recommender(epochs=3, batch_size=256),
    "two_tower": _recommender(epochs=2),
    "trending": _recommender(),
    "content": _recommender(),
    "hybrid": _recommender(),
    # generation
    "melody_lstm": ModelFixture(
        {"embed_dim": 4, "hidden": 8, "layers": 1, "epochs": 2, "batch_size": 4, "window": 16},
        lambda m, _: m.fit(melodies()),
        lambda m, _: m.nll(melodies().valid),
    ),
    "wavenet": ModelFixture(
        {
            "residual_channels": 4,
            "skip_channels": 4,
            "layers_per_stack": 2,
            "stacks": 1,
            "epochs": 1,
            "steps_per_epoch": 3,
            "batch_size": 2,
            "crop": 64,
        },
        lambda m, _: m.fit(tones()),
        lambda m, _: m.bits_per_sample(tones().valid),
    ),
    "text_transformer": ModelFixture(
        {
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 8,
            "block_size": 16,
            "batch_size": 4,
            "max_steps": 5,
            "warmup_steps": 1,
            "eval_every": 0,
        },
        lambda m, _: m.fit(TEXT),
        lambda m, _: (
            m("the ", max_new_tokens=12, num_samples=2, seed=3).texts,
            m.validation_nats_per_char(TEXT[:64]),
        ),
    ),
    "text_lstm": ModelFixture(
        {"embedding_dim": 4, "units": 8, "seq_len": 12, "batch_size": 4, "steps": 5},
        lambda m, _: m.fit(TEXT),
        lambda m, _: (
            m("the ", max_new_tokens=12, num_samples=2, seed=3).texts,
            m.validation_nats_per_char(TEXT[:64]),
        ),
        # Keras's LSTM training on CPU is not bitwise reproducible between two fits in one
        # process (measured: nats/char 4e-4 apart, same seed), so two fits are compared on the
        # loss within a tolerance, not on sampled texts that such a difference can flip.
        fit_outputs=lambda m, _: m.validation_nats_per_char(TEXT[:64]),
        fit_rtol=1e-2,
    ),
    "dcgan": ModelFixture(
        {"latent_dim": 4, "g_width": 4, "d_width": 4, "batch_size": 16, "epochs": 1},
        lambda m, _: m.fit(small_images()),
        lambda m, _: m.sample(4, seed=3),
    ),
    "image_features": ModelFixture(
        {"width": 4, "feature_dim": 8, "epochs": 1},
        lambda m, _: m.fit(small_images()),
        lambda m, _: m.features(small_images().images[:6]),
    ),
    "style_transfer": ModelFixture(
        {"channels": (4, 8), "content_layer": 1},
        lambda m, _: m.fit(),
        lambda m, _: m.style_distance(*_pictures(), size=24),
    ),
    # analytics (the shared demo dataset's catalogue, users and labelled reviews)
    "topics": ModelFixture(
        {"n_topics": 3, "max_iter": 20},
        lambda m, d: m.fit(demo_descriptions(d)[1]),
        lambda m, d: m.transform(demo_descriptions(d)[1][:10]),
    ),
    "segments": ModelFixture(
        {"k_min": 2, "k_max": 3, "n_bootstrap": 2, "n_references": 2},
        lambda m, d: m.fit(demo_user_features(d)),
        lambda m, d: m.predict(demo_user_features(d)),
    ),
    "lexicon_sentiment": ModelFixture({}, lambda m, d: m.fit(sentiment_texts(d)), _texts),
    "tfidf_linear": ModelFixture({}, lambda m, d: m.fit(sentiment_texts(d)), _texts),
    "neural_text": ModelFixture(TINY_NEURAL_TEXT, lambda m, d: m.fit(sentiment_texts(d)), _texts),
    "encoder_text": ModelFixture(
        {},
        lambda m, d: m.fit(sentiment_texts(d)),
        _texts,
        unavailable=_encoder_missing,
        slow=True,  # loading the pretrained encoder: about 8 s per fit, 30 s in all
    ),
    "ensemble_text": ModelFixture(
        {"char_ngram_max": 4, "calibration_folds": 2, "class_thresholds": True},
        lambda m, d: m.fit(sentiment_texts(d)),
        _texts,
        slow=True,  # four fits, and the encoder head when the extra is installed
    ),
    "text_similarity": ModelFixture(
        {"method": "lsa", "dim": 8},
        lambda m, d: m.fit(demo_descriptions(d)[1], demo_descriptions(d)[0]),
        lambda m, d: m.similar(demo_descriptions(d)[0][:5], k=3),
    ),
    # moderation
    "image_classifier": ModelFixture(
        {"image_size": 16, "filters": (4,), "hidden": 8, "epochs": 2, "batch_size": 8},
        lambda m, _: m.fit(*rgb_images()),
        lambda m, _: m.predict_proba(rgb_images()[0]),
    ),
}


def assert_same(a: Any, b: Any, rtol: float = 0.0, where: str = "outputs") -> None:
    """Equal (within ``rtol`` for floats), through tuples, lists, dicts and dataclasses."""
    if isinstance(a, Model):
        raise TypeError("compare a model's outputs, not the model")
    if hasattr(a, "__dataclass_fields__") and not isinstance(a, type):
        assert type(a) is type(b), where
        for name in a.__dataclass_fields__:
            assert_same(getattr(a, name), getattr(b, name), rtol, f"{where}.{name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], rtol, f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, rtol, f"{where}[{i}]")
    else:
        x, y = np.asarray(a), np.asarray(b)
        assert x.shape == y.shape, f"{where}: shape {x.shape} != {y.shape}"
        if rtol and np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol, err_msg=where)
        else:
            np.testing.assert_array_equal(x, y, err_msg=where)
