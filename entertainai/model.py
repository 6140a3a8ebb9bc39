"""The one model contract every EntertainAI model satisfies, and the explicit table of kinds.

A fitted model saves to a *directory* of safe formats: ``model.json`` (kind + frozen config as
JSON) plus arrays (``.npz`` without pickle, ``.safetensors``, Keras files). That directory is at
once the Ray Train checkpoint, the registry artifact and what a Serve replica loads.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import numpy as np

from entertainai.errors import ArtifactError, NotFittedError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A model's hyperparameters: one frozen dataclass per model family (bound checked by mypy).
ConfigT = TypeVar("ConfigT", bound="DataclassInstance")
C = TypeVar("C", bound="DataclassInstance")

MODEL_FILE = "model.json"

# kind -> "module:Class". Lazy strings, so that loading a recommender never imports TensorFlow.
MODEL_KINDS: dict[str, str] = {
    "popularity": "entertainai.recommend.popularity:Popularity",
    "item_knn": "entertainai.recommend.knn:ItemKNN",
    "user_knn": "entertainai.recommend.knn:UserKNN",
    "ease": "entertainai.recommend.ease:EASE",
    "als": "entertainai.recommend.als:ALS",
    "bpr": "entertainai.recommend.bpr:BPR",
    "two_tower": "entertainai.recommend.two_tower:TwoTower",
    "trending": "entertainai.recommend.trending:Trending",
    "content": "entertainai.recommend.content:Content",
    "hybrid": "entertainai.recommend.hybrid:Hybrid",
    # generation (entertainai/generate/)
    "melody_lstm": "entertainai.generate.melody:MelodyGenerator",
    "wavenet": "entertainai.generate.wavenet:WaveNet",
    "text_transformer": "entertainai.generate.text_transformer:TextTransformer",
    "text_lstm": "entertainai.generate.text_lstm:TextLSTM",
    "dcgan": "entertainai.generate.dcgan:DCGAN",
    "image_features": "entertainai.generate.frechet:ImageFeatures",
    "style_transfer": "entertainai.generate.style_transfer:StyleTransfer",
    # analytics (entertainai/analytics/)
    "topics": "entertainai.analytics.topics:Topics",
    "segments": "entertainai.analytics.segments:Segments",
    "lexicon_sentiment": "entertainai.analytics.lexicon:LexiconSentiment",
    "tfidf_linear": "entertainai.analytics.tfidf_linear:TfidfLinear",
    "neural_text": "entertainai.analytics.neural_text:NeuralText",
    "encoder_text": "entertainai.analytics.encoder_text:EncoderText",
    "ensemble_text": "entertainai.analytics.ensemble_text:EnsembleText",
    "text_similarity": "entertainai.analytics.similarity:TextSimilarity",
    # moderation (entertainai/moderation/)
    "image_classifier": "entertainai.moderation.image:ImageClassifier",
}


class Model(Generic[ConfigT]):
    """Base of every model: a frozen ``Config`` dataclass, ``save(dir)`` and ``load(dir)``.

    Subclasses name their config type and class (``class EASE(Model[EASEConfig])`` with
    ``Config = EASEConfig``), set ``kind`` and implement ``_save_state``/``_load_state``;
    ``__init__`` only stores the config (fitted state ends in ``_``, scikit-learn style).
    ``fit`` takes each family's own data, so it is not part of this signature; the contract
    suite (``tests/test_model_contract.py``) checks every kind fits, saves, loads and refuses.
    """

    kind: ClassVar[str]
    # Set on the subclass as a class attribute (``Config = EASEConfig``); declared without
    # ClassVar because a ClassVar cannot name the type variable.
    Config: type[ConfigT]

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.Config()
        self.fitted_ = False

    @classmethod
    def from_params(cls, **params: object) -> Self:
        """Build from a flat dict (a Tune ``param_space`` sample or CLI ``key=value`` pairs)."""
        return cls(config_from_dict(cls.Config, params))

    def check_fitted(self) -> None:
        if not self.fitted_:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load()")

    def save(self, path: str | os.PathLike[str]) -> Path:
        self.check_fitted()
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_state(directory)
        header = {"kind": self.kind, "config": dataclasses.asdict(self.config)}
        (directory / MODEL_FILE).write_text(json.dumps(header, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        directory = Path(path)
        header = read_header(directory)
        if header["kind"] != cls.kind:
            raise ArtifactError(f"{directory}: holds a {header['kind']!r} model, not {cls.kind!r}")
        model = cls(config_from_dict(cls.Config, header["config"]))
        try:
            model._load_state(directory)
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{directory}: cannot load {cls.kind} state: {exc}") from None
        model.fitted_ = True
        return model

    # Pipeline spelling (diffusers style) of the same directory format.
    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        return self.save(path)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> Self:
        return cls.load(path)

    def _save_state(self, directory: Path) -> None:
        raise NotImplementedError

    def _load_state(self, directory: Path) -> None:
        raise NotImplementedError


def config_from_dict(config_cls: type[C], values: dict[str, Any]) -> C:
    """Build a config dataclass, refusing unknown keys (a typo must not be silently ignored)."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"unknown {config_cls.__name__} parameters {unknown}; known: {sorted(names)}"
        )
    converted = {
        f.name: _tuples(values[f.name]) for f in dataclasses.fields(config_cls) if f.name in values
    }
    return config_cls(**converted)


def _tuples(value: object) -> object:
    """JSON has no tuples: lists back to the tuples a frozen config holds, nested ones too
    (``(("genre", 1.0), ...)`` came back as lists of lists, so a loaded config differed)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def read_header(directory: Path) -> dict[str, Any]:
    marker = directory / MODEL_FILE
    if not marker.is_file():
        raise ArtifactError(f"{directory}: not a model directory (no {MODEL_FILE})")
    try:
        header = json.loads(marker.read_text())
        header["kind"], header["config"]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError):
        raise ArtifactError(f"{marker}: unreadable model header") from None
    return header


def model_class(kind: str) -> type[Model[Any]]:
    if kind not in MODEL_KINDS:
        raise ArtifactError(f"unknown model kind {kind!r}; known: {sorted(MODEL_KINDS)}")
    module, name = MODEL_KINDS[kind].split(":")
    cls: type[Model[Any]] = getattr(importlib.import_module(module), name)
    return cls


def load_model(path: str | os.PathLike[str]) -> Model[Any]:
    """Load any model directory, whatever its kind."""
    header = read_header(Path(path))
    return model_class(header["kind"]).load(path)


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    # allow_pickle=False: an object array fails here, at save, not later at load.
    np.savez(path, allow_pickle=False, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    # allow_pickle=False: an artifact can never execute code when a server loads it.
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
